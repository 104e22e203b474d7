"""Board builds: the PLL's dividers, and a small design built to an iCEBreaker bitstream with
its UART link, pins and constraints."""

import json

import numpy as np
import pytest

from spikewright.board_build import build_bitstream, ecp5_pll_parameters
from spikewright.boards import BOARDS, board


@pytest.mark.parametrize("wanted", [75.0, 50.0, 100.0, 60.0])
def test_ecp5_pll_makes_the_clock_exactly_within_the_vco_range(wanted):
    p = ecp5_pll_parameters(25.0, wanted)
    assert 25.0 / p["CLKI_DIV"] * p["CLKFB_DIV"] == pytest.approx(wanted)
    assert 400 <= wanted * p["CLKOP_DIV"] <= 800
    assert 3.125 <= 25.0 / p["CLKI_DIV"] <= 400


def test_a_clock_the_pll_cannot_make_is_refused():
    with pytest.raises(ValueError, match="cannot make exactly"):
        ecp5_pll_parameters(25.0, 77.7)


def test_every_board_names_its_platform_part_and_a_baud_its_clock_makes():
    from spikewright.hdl_gen.config import TARGETS
    from spikewright.hdl_gen.uart import divisor_for
    for spec in BOARDS.values():
        assert spec.target in TARGETS
        divisor_for(spec.clock_mhz * 1e6, spec.baud)
    with pytest.raises(ValueError, match="unknown board 'de0'; the boards are ulx3s-85f"):
        board("de0")


@pytest.mark.synth
def test_a_small_design_becomes_an_icebreaker_bitstream(tmp_path):
    from spikewright.golden.random_network import random_dense_network
    from spikewright.hdl_gen.config import HwConfig
    from spikewright.hdl_gen.emit import generate, write_files
    from spikewright.hdl_gen.plan import make_plan
    net = random_dense_network(np.random.default_rng(8), max_width=8, neuron="if")
    plan = make_plan(net, HwConfig(lanes=2, architecture="dataflow", target="ice40-up5k"))
    write_files(generate(net, plan=plan), tmp_path / "rtl")
    result = build_bitstream(board("icebreaker"), plan, tmp_path / "rtl", tmp_path / "out",
                             log=lambda message: None)
    bitstream = tmp_path / "out" / "spikewright_board.bin"
    assert result["bitstream"] == str(bitstream) and bitstream.stat().st_size > 100_000
    assert result["bitstream_bytes"] == bitstream.stat().st_size
    pcf = (tmp_path / "out" / "spikewright_board.pcf").read_text()
    assert "set_io uart_0__rx__io 6" in pcf and "set_io uart_0__tx__io 9" in pcf
    assert "set_frequency clk12_0__io 12.0" in pcf
    assert result["resources"]["dsps"] == 0
    assert result["place_and_route"]["fmax_mhz"] > 0
    assert result["timing_met"] == (result["place_and_route"]["fmax_mhz"] >= 12.0)
    json.dumps(result)
