"""The stages' bit helpers (:mod:`spikewright.hdl_gen.stages.lanes`) against Python's own
counting, on every value of small widths and on edge and random values of wide ones."""

import numpy as np
import pytest
from amaranth import Module, Signal
from amaranth.sim import Simulator

from spikewright.hdl_gen.stages.lanes import at_most_one, lowest_set


def values_of(width):
    if width < 8:
        return range(1 << width)
    rng = np.random.default_rng(width)
    return [0, (1 << width) - 1, *(1 << i for i in range(width)),
            *(3 << i for i in range(width - 1)),
            *(int(v) for v in rng.integers(0, 1 << min(width, 62), 200)),
            *(int(v) << (width - 62) for v in rng.integers(0, 1 << 62, 50) if width > 62)]


def simulate(width, helper, out_width, expect):
    bits, out = Signal(width), Signal(out_width)
    m = Module()
    m.d.comb += out.eq(helper(bits))

    async def bench(ctx):
        for value in values_of(width):
            ctx.set(bits, value)
            wanted = expect(value)
            if wanted is not None:
                assert ctx.get(out) == wanted, (width, value)

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("width", [1, 2, 3, 7, 32])
def test_at_most_one_is_set_exactly_where_at_most_one_bit_is(width):
    simulate(width, at_most_one, 1, lambda value: int(bin(value).count("1") <= 1))


@pytest.mark.parametrize("width", [1, 2, 3, 5, 7, 8, 16, 33, 64, 100])
def test_lowest_set_is_the_index_of_the_lowest_set_bit(width):
    simulate(width, lowest_set, max(1, (width - 1).bit_length()),
             lambda value: (value & -value).bit_length() - 1 if value else None)
