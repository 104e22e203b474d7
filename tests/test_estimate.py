"""The resource estimate before synthesis: where each memory goes, the flip-flops of a
netlist, the manifest's estimate, and (synthesis marked) the estimate beside Yosys."""

import json
from pathlib import Path

import numpy as np
import pytest
from amaranth import Module, Mux, Signal, unsigned
from amaranth.back import verilog
from amaranth.lib import memory

from spikewright.hdl_gen.estimate import (estimate, kept_netlist, memory_home,
                                          netlist_features, rom_width)
from spikewright.hdl_gen.fold import design_block_rams

DATA = Path(__file__).parent / "data"


def test_memories_go_where_yosys_puts_them():
    """The seed CNN's memories as Yosys 0.70 mapped them on the ECP5: conv1's nine-word
    weights in logic, its 4,608-word conv7 weights in 32 blocks, the 32-word conv6 bitmap
    (written) in LUT RAM, the 128-word conv5 bitmap in block RAM."""
    assert memory_home(256, 9, False, "ecp5-85k") == ("logic", 2304)
    assert memory_home(128, 4608, False, "ecp5-85k") == ("block", 32)
    assert memory_home(64, 32, True, "ecp5-85k") == ("lutram", 32)
    assert memory_home(64, 128, True, "ecp5-85k") == ("block", 2)
    assert memory_home(240, 8, False, "ecp5-85k") == ("logic", 1920)
    # a read without a register cannot be a block RAM's
    assert memory_home(64, 128, True, "ecp5-85k", read_now=True) == ("lutram", 128)
    # no LUT RAM on the iCE40: a small written memory is built from flip-flops
    assert memory_home(8, 4, True, "ice40-up5k") == ("logic", 32)


def test_a_memory_marked_block_goes_to_block_ram():
    """The default MLP's readout weights at 8 events per cycle: 97 words of 40 bits, logic by
    Yosys's costs, two DP16KD with ``ram_style = "block"`` (memory style ``block``); a read
    without a register stays out of block RAM whatever it is marked."""
    assert memory_home(40, 97, False, "ecp5-85k") == ("logic", 3880)
    assert memory_home(40, 97, False, "ecp5-85k", block=True) == ("block", 2)
    assert memory_home(40, 97, True, "ecp5-85k", read_now=True, block=True)[0] == "lutram"


def _small_design(net, style):
    from spikewright.hdl_gen.config import HwConfig
    from spikewright.hdl_gen.emit import generate
    return generate(net, HwConfig(lanes=3, memory_style=style))


def test_memory_style_block_marks_every_weight_memory_and_the_estimate_follows(small_rtl):
    from spikewright.golden import load
    net = load(small_rtl / "ir")
    found = {}
    for style in ("auto", "block"):
        files = _small_design(net, style)
        found[style] = (files["spikewright_top.v"].count('(* ram_style = "block" *)'),
                        json.loads(files["manifest.json"])["estimate"]["total"]["brams"])
    assert found["auto"] == (0, 0)
    marked, blocks = found["block"]
    assert marked == blocks > 0  # one block per weight bank of this small network


def _design():
    m = Module()
    count = Signal(12)
    m.d.sync += count.eq(count + 1)
    m.submodules.table = table = memory.Memory(shape=unsigned(16), depth=4, init=[])
    write, read = table.write_port(), table.read_port(domain="comb")
    out = Signal(16)
    m.d.comb += [write.addr.eq(count[:2]), write.data.eq(count), write.en.eq(1),
                 read.addr.eq(count[2:4])]
    m.d.sync += out.eq(read.data)
    return m, [count, out]


def test_flip_flops_are_the_registers_and_the_written_memories_in_logic():
    m, ports = _design()
    with kept_netlist([]) as netlists:
        verilog.convert(m, ports=ports, name="top", emit_src=False)
    found = estimate(netlists[0], "ice40-up5k")
    assert found["total"]["ffs"] == 12 + 16 + 4 * 16 and found["total"]["brams"] == 0


def test_a_read_only_memory_counts_the_bits_that_differ_between_its_words():
    """Yosys ties a bit that is the same in every word to its constant: a pooling layer's
    weights (one 1 per word, 2-bit weights) keep half their bits."""
    assert rom_width([0b0101, 0b0001, 0b0100], 4) == 2
    assert rom_width([0b1111, 0b1111], 4) == 0
    assert rom_width([0b1001, 0b0110], 4) == 4


def test_a_variable_slice_is_counted_as_the_multiplexer_it_is():
    m = Module()
    bits, index, word_index = Signal(64), Signal(6), Signal(1)
    one, word = Signal(), Signal(32)
    m.d.comb += [one.eq(bits.bit_select(index, 1)), word.eq(bits.word_select(word_index, 32))]
    with kept_netlist([]) as netlists:
        verilog.convert(m, ports=[bits, index, word_index, one, word], name="top",
                        emit_src=False)
    features = netlist_features(netlists[0], "ecp5-85k")["top"]
    assert features["choice_bits"] == 63 + 32  # a 64:1 multiplexer of 1 bit, a 2:1 of 32


def test_a_multiplexer_with_a_constant_arm_is_counted_apart_from_a_choice():
    """``Mux(valid, word, 0)`` is a gate (Yosys often makes it the flip-flop's reset), not
    a choice between two signals: :data:`LUT_MODEL` prices them apart."""
    m = Module()
    valid, word, other, gated, chosen = Signal(), Signal(8), Signal(8), Signal(8), Signal(8)
    m.d.comb += [gated.eq(Mux(valid, word, 0)), chosen.eq(Mux(valid, word, other))]
    with kept_netlist([]) as netlists:
        verilog.convert(m, ports=[valid, word, other, gated, chosen], name="top",
                        emit_src=False)
    features = netlist_features(netlists[0], "ecp5-85k")["top"]
    assert (features["gate_mux_bits"], features["choice_bits"]) == (8, 8)


def test_generate_records_the_estimate_per_stage(small_rtl):
    manifest = json.loads((small_rtl / "rtl" / "manifest.json").read_text())
    found = manifest["estimate"]
    assert found["target"] == manifest["hw_config"]["target"]
    assert {"encoder", "argmax"} <= set(found["stages"])
    assert any(stage.startswith("stage_") for stage in found["stages"])
    for resource, total in found["total"].items():
        assert total == sum(stage[resource] for stage in found["stages"].values())
    assert found["total"]["ffs"] > 100 and found["total"]["luts"] > 0


@pytest.mark.synth
def test_the_block_rams_are_exact_and_the_flip_flops_close_on_the_ecp5(small_rtl, tmp_path):
    from spikewright.flow import synthesize_rtl
    result = synthesize_rtl(small_rtl / "rtl", "ecp5-85k", tmp_path, place=False)
    rows = result["estimate"]
    assert rows["brams"]["estimate"] == rows["brams"]["synthesized"]
    assert abs(rows["ffs"]["error_percent"]) <= 15


@pytest.mark.synth
def test_yosys_puts_the_weights_of_memory_style_block_in_as_many_block_rams(small_rtl,
                                                                           tmp_path):
    from spikewright.golden import load
    from spikewright.hdl_gen.emit import write_files
    from spikewright.flow import synthesize_rtl
    write_files(_small_design(load(small_rtl / "ir"), "block"), tmp_path / "rtl")
    rows = synthesize_rtl(tmp_path / "rtl", "ecp5-85k", tmp_path / "synth",
                          place=False)["estimate"]
    assert rows["brams"]["estimate"] == rows["brams"]["synthesized"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("model", ["mnist_mlp_t1", "mnist_cnn_t1", "fmnist_cnn_t4"])
def test_the_shipped_designs_are_estimated_within_15_percent_of_yosys(model):
    """The estimate ``generate`` records, against Yosys's counts of record
    (tests/data/yosys_luts_shipped.json): LUT4 within 15%, the bound the estimate keeps on
    the designs it was fitted on; block RAMs exact."""
    from spikewright.golden import load
    from spikewright.hdl_gen.config import HwConfig
    from spikewright.hdl_gen.emit import generate
    from spikewright.hdl_gen.plan import make_plan
    from spikewright.shipped import model_dir, shipped_hw_config
    counted = json.loads((DATA / "yosys_luts_shipped.json").read_text())["designs"][model]
    network = load(model_dir(model) / "ir")
    plan = make_plan(network, HwConfig.from_json(shipped_hw_config(model)))
    total = json.loads(generate(network, plan=plan)["manifest.json"])["estimate"]["total"]
    assert total["brams"] == counted["brams"] == design_block_rams(plan)
    assert abs(total["luts"] / counted["luts"] - 1) <= 0.15, (total["luts"], counted["luts"])


@pytest.mark.parametrize("seed", range(4))
def test_the_plans_block_ram_count_is_the_estimates(seed):
    """:func:`~spikewright.hdl_gen.fold.design_block_rams`, which folding's fit check reads
    before any Verilog exists, counts what the estimate counts on the netlist: random conv
    networks (ASG and IF, T up to 4, pooling) at random lanes, kernel lanes and events."""
    from spikewright.golden.random_network import random_conv_network
    from spikewright.hdl_gen.config import HwConfig
    from spikewright.hdl_gen.emit import generate
    from spikewright.hdl_gen.plan import make_plan
    rng = np.random.default_rng(40 + seed)
    network = random_conv_network(rng, timesteps=1 + seed, grouped=True, pooling=True)
    names = [layer.name for layer in network.weighted_layers]
    plan = make_plan(network, HwConfig(lanes={n: int(rng.integers(1, 5)) for n in names},
                                       kernel_lanes={n: int(rng.integers(1, 5)) for n in names},
                                       events={n: int(rng.choice([1, 2, 4])) for n in names},
                                       memory_style=("auto", "block")[seed % 2]))
    total = json.loads(generate(network, plan=plan)["manifest.json"])["estimate"]["total"]
    assert design_block_rams(plan) == total["brams"]
    assert total["brams"] > 0 or seed % 2 == 0  # style block: every weight memory in one
