"""Synthesis parsing, place and route, energy, sweep front and the HTML report."""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from spikeforge.cli import main
from spikeforge.golden import save
from spikeforge.golden.random_network import random_dense_network
from spikeforge.hdl_gen.config import HwConfig
from spikeforge.hdl_gen.emit import generate, write_files
from spikeforge.synth import (FLOWS, distributed_memories_script, memories,
                              parse_nextpnr_report, parse_stat, synthesize)
from spikeforge.synth_cmd import pareto_front

DATA = Path(__file__).parent / "data"


def test_stat_json_is_parsed_per_family():
    ecp5 = parse_stat(json.loads((DATA / "yosys_stat_ecp5.json").read_text()), FLOWS["ecp5-85k"])
    assert ecp5 == {"luts": 707, "ffs": 361, "brams": 0, "dsps": 0, "carry_cells": 143,
                    "lutram_cells": 32, "cells": ecp5["cells"], "multiplier_cells": 0}
    ice40 = parse_stat(json.loads((DATA / "yosys_stat_ice40.json").read_text()),
                       FLOWS["ice40-up5k"])
    assert (ice40["luts"], ice40["ffs"], ice40["brams"], ice40["carry_cells"]) == \
        (1128, 130 + 304 + 229 + 9 + 6, 3, 260)
    xc7 = parse_stat(json.loads((DATA / "yosys_stat_xc7.json").read_text()), FLOWS["xc7a35t"])
    assert xc7["luts"] > 0 and xc7["carry_cells"] > 0 and xc7["dsps"] == 0


def test_nextpnr_report_is_parsed():
    parsed = parse_nextpnr_report(json.loads((DATA / "nextpnr_report_ecp5.json").read_text()))
    (clock, fmax), = parsed["fmax"].items()
    assert fmax == {"achieved_mhz": pytest.approx(86.2217636), "constraint_mhz": 50.0}
    assert parsed["utilization"]["MULT18X18D"]["used"] == 0
    assert parsed["utilization"]["TRELLIS_COMB"]["available"] > 80000


def test_stat_without_a_design_section_is_refused():
    with pytest.raises(ValueError, match=r"^stat -json output has no design\.num_cells_by_type$"):
        parse_stat({"modules": {}}, FLOWS["ecp5-85k"])


def test_pareto_front():
    points = [{"mean_cycles": 100, "luts": 50}, {"mean_cycles": 50, "luts": 80},
              {"mean_cycles": 120, "luts": 90}, {"mean_cycles": 40, "luts": 200}]
    pareto_front(points)
    assert [p["pareto"] for p in points] == [True, True, False, True]


@pytest.fixture(scope="module")
def small_rtl(tmp_path_factory):
    net = random_dense_network(np.random.default_rng(11), max_width=10, depth=2, timesteps=3)
    directory = tmp_path_factory.mktemp("small")
    save(net, directory / "ir")
    write_files(generate(net, HwConfig(lanes=3)), directory / "rtl")
    return directory


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


def test_memories_of_the_generated_verilog_are_found_with_their_sizes(small_rtl):
    verilog = (small_rtl / "rtl" / "spikeforge_top.v").read_text()
    found = {f"{m['module']}/{m['name']}": m for m in memories(verilog)}
    weights = found["spikeforge_top.core_fc1/weights"]
    assert not weights["written"] and weights["bits"] == weights["depth"] * weights["width"]
    assert found["spikeforge_top.core_fc1/state"]["written"]
    _, chosen = distributed_memories_script(verilog, 10**9)
    assert chosen == sorted(name for name, m in found.items() if m["written"])
    smallest = min(m["bits"] for m in found.values() if m["written"])
    assert distributed_memories_script(verilog, smallest - 1) == ("", [])


@pytest.mark.synth
def test_written_memories_can_be_asked_into_lut_ram(small_rtl, tmp_path):
    result = synthesize(small_rtl / "rtl", "ecp5-85k", tmp_path, place=False,
                        lutram_max_bits=10**9)
    assert result["fits"] and result["resources"]["brams"] == 0
    assert "spikeforge_top.core_fc1/state" in result["lutram_memories"]["memories"]


def test_a_design_too_large_for_the_part_says_by_how_much(small_rtl, tmp_path):
    rtl = tmp_path / "rtl"
    shutil.copytree(small_rtl / "rtl", rtl)
    manifest = json.loads((rtl / "manifest.json").read_text())
    manifest["weight_memory_bits"] = 200_000
    (rtl / "manifest.json").write_text(json.dumps(manifest))
    result = synthesize(rtl, "ice40-up5k", tmp_path / "work")
    assert result["fits"] is False
    assert result["reason"] == ("the weights need 200000 bits of memory; ice40-up5k has 122880 "
                                "bits of block RAM (1.6x, 77120 bits short)")


def test_energy_counts_the_snn_below_the_dense_ann(small_rtl):
    from spikeforge.energy import ENERGY_PJ, energy_report
    from spikeforge.golden import load, model
    from spikeforge.golden.random_network import random_pixels
    from spikeforge.hdl_gen.cycle_model import cycles_for_result
    from spikeforge.hdl_gen.plan import make_plan
    net = load(small_rtl / "ir")
    plan = make_plan(net, HwConfig(lanes=3))
    result = model.run(net, random_pixels(np.random.default_rng(0), net, 20), trace=True)
    energy = energy_report(plan, result.synops, cycles_for_result(plan, result))
    macs = sum(l.in_features * l.out_features for l in plan.layers)
    assert energy["ann_int8"]["macs"] == macs
    assert energy["snn"]["synaptic_ops"] == pytest.approx(float(result.synops_total.mean()))
    assert energy["quantized_ann"]["activation_bits"] == 2  # T = 3
    assert energy["source"] == "Horowitz, ISSCC 2014, 45 nm" and ENERGY_PJ["mul8"] == 0.2


@pytest.mark.slow
def test_run_writes_a_report_that_renders_in_a_headless_browser(tmp_path):
    out = tmp_path / "run"
    assert main(["run", "--limit", "200", "--verify-images", "10", "--targets",
                 "ice40-up5k,xc7a35t", "-q", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["format"] == "spikeforge-report"
    assert report["accuracy"]["snn_golden"]["value"] > 0.95
    assert report["accuracy"]["rtl"]["source"].startswith("verilator")
    assert report["synthesis"]["ice40-up5k"]["fits"] is False
    assert report["verification"]["mismatches"] == 0
    html = (out / "report.html").read_text()
    assert html.count("<svg") >= 2
    chromium = shutil.which("chromium")
    assert chromium, "chromium not found; run ./setup.sh (it installs Debian's chromium)"
    shot = tmp_path / "shot.png"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-component-update",
                    "--no-first-run", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
                    "--window-size=1200,2400", f"--screenshot={shot}",
                    (out / "report.html").as_uri()], check=True, capture_output=True, timeout=120)
    from PIL import Image
    image = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    # the plots are drawn: many pixels in the bars' and histogram's blue (#4a78b5)
    blue = (np.abs(image - np.array([0x4a, 0x78, 0xb5])).sum(axis=2) < 30).sum()
    assert blue > 5000, blue


@pytest.mark.synth
def test_sweep_marks_the_pareto_front_of_luts_against_cycles(small_rtl, tmp_path, capsys):
    # the sweep reads test images of the IR's dataset: give the small network digits' shape
    from spikeforge.golden import Network, load
    from spikeforge.golden.encoding import make_input_spec
    net = random_dense_network(np.random.default_rng(4), max_width=12, depth=1, timesteps=2)
    flat = net.layers[1]
    spec = make_input_spec((1, 8, 8), k=8, timesteps=2)
    from spikeforge.golden.ir import Dense
    first = Dense("fc1", 64, flat.out_features, flat.neuron,
                  np.resize(flat.weight, (flat.out_features, 64)), flat.bias, flat.threshold)
    digits_net = Network(2, spec, (net.layers[0], first, net.layers[2]),
                         metadata={"dataset": "digits"})
    save(digits_net, tmp_path / "ir")
    assert main(["sweep", str(tmp_path / "ir"), "--lanes", "1,4", "--images", "20",
                 "--target", "ecp5-85k", "--out", str(tmp_path / "sweep")]) == 0
    sweep = json.loads((tmp_path / "sweep" / "sweep.json").read_text())
    points = sweep["points"]
    assert [p["lanes"] for p in points] == [1, 4]
    assert points[0]["mean_cycles"] > points[1]["mean_cycles"]
    assert all(p["luts"] > 0 for p in points) and any(p["pareto"] for p in points)


def test_nextpnr_overuse_is_said_with_the_amounts():
    from spikeforge.synth import overuse
    log = ("Info: Device utilisation:\nInfo: \t          TRELLIS_IO:      14/    365     3%\n"
           "Info: \t              DP16KD:     265/    208   127%\n")
    assert overuse(log) == "needs 265 DP16KD, the part has 208 (1.27x, 57 short)"
    assert overuse("Info: \t LUT4: 10/ 20 50%\n") is None


def test_report_plots_a_sweep_and_names_every_source(tmp_path):
    from spikeforge.report import write_report
    evaluation = {"dataset": "mnist", "split": "test", "images": 10, "timesteps": 1,
                  "network_digest": "ab" * 32, "model": "m",
                  "accuracy": {"ann_float": 0.9, "ann_quant": 0.95, "snn_golden": 0.94},
                  "spikes_per_image": {"total": 100.0}, "synops_per_image": {"total": 1000.0}}
    (tmp_path / "eval.json").write_text(json.dumps(evaluation))
    (tmp_path / "cycles.json").write_text(json.dumps({"cycles": [100, 120, 140],
                                                       "lower_bounds": [80, 90, 100]}))
    points = [{"lanes": 1, "mean_cycles": 400.0, "lower_bound": 300.0, "luts": 100},
              {"lanes": 4, "mean_cycles": 150.0, "lower_bound": 90.0, "luts": 300},
              {"lanes": 8, "mean_cycles": 160.0, "lower_bound": 50.0, "luts": 500}]
    pareto_front(points)
    (tmp_path / "sweep.json").write_text(json.dumps({"target": "ecp5-85k", "points": points}))
    json_path, html_path = write_report(tmp_path)
    report = json.loads(json_path.read_text())
    assert report["accuracy"]["snn_golden"] == {"value": 0.94,
                                                "source": "golden model, 10 mnist test images"}
    assert report["latency"]["cycles"]["value"]["mean"] == 120
    html = html_path.read_text()
    for title in ("Accuracy at each level", "Cycles per image", "Latency against lanes",
                  "Resources against lanes", "Pareto front"):
        assert f"<figcaption>{title}</figcaption><svg" in html
    assert [p["pareto"] for p in points] == [True, True, False]
