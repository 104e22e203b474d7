"""Board builds: the PLL's dividers, and a small design built to an iCEBreaker bitstream with
its UART link, pins and constraints."""

import json

import numpy as np
import pytest

from spikewright.board.build import build_bitstream
from spikewright.hdl_gen.board.top import ecp5_pll_parameters
from spikewright.hdl_gen.parts import BOARDS, board


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
    from spikewright.hdl_gen.parts import TARGETS
    from spikewright.hdl_gen.board.uart import divisor_for
    for spec in BOARDS.values():
        assert spec.target in TARGETS
        divisor_for(spec.clock_mhz * 1e6, spec.baud)
    with pytest.raises(ValueError, match="unknown board 'de0'; the boards are ulx3s-85f"):
        board("de0")


#: board -> (bitstream file, lines its constraints must hold)
CONSTRAINTS = {
    "icebreaker": ("spikewright_board.bin", "spikewright_board.pcf",
                   ["set_io uart_0__rx__io 6", "set_io uart_0__tx__io 9",
                    "set_frequency clk12_0__io 12.0"]),
    "ulx3s-85f": ("spikewright_board.bit", "spikewright_board.lpf",
                  ['LOCATE COMP "uart_0__rx__io" SITE "M1";',
                   'LOCATE COMP "uart_0__tx__io" SITE "L4";',
                   'LOCATE COMP "clk25_0__io" SITE "G2";']),
}


@pytest.mark.synth
@pytest.mark.parametrize("name", list(CONSTRAINTS))
def test_a_small_design_becomes_a_bitstream(tmp_path, name):
    """The board top (a PLL to 75 MHz on the ULX3S, the oscillator on the iCEBreaker), the
    link and a small design, through Yosys, nextpnr and the packer."""
    from spikewright.golden.random_network import random_dense_network
    from spikewright.hdl_gen.config import HwConfig
    from spikewright.hdl_gen.emit import generate, write_files
    from spikewright.hdl_gen.plan import make_plan
    spec = board(name)
    net = random_dense_network(np.random.default_rng(8), max_width=8, neuron="if")
    plan = make_plan(net, HwConfig(lanes=2, target=spec.target))
    write_files(generate(net, plan=plan), tmp_path / "rtl")
    result = build_bitstream(spec, plan, tmp_path / "rtl", tmp_path / "out",
                             log=lambda message: None)
    file, constraints, lines = CONSTRAINTS[name]
    bitstream = tmp_path / "out" / file
    assert result["bitstream"] == str(bitstream) and bitstream.stat().st_size > 50_000
    assert result["bitstream_bytes"] == bitstream.stat().st_size
    text = (tmp_path / "out" / constraints).read_text()
    for line in lines:
        assert line in text, line
    assert result["resources"]["dsps"] == 0
    clocks = result["place_and_route"]["fmax"]
    assert all(c["constraint_mhz"] == pytest.approx(spec.clock_mhz, rel=1e-3)
               for c in clocks.values()), clocks
    assert result["timing_met"] == (result["place_and_route"]["fmax_mhz"] >= spec.clock_mhz)
    json.dumps(result)
