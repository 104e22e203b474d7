"""Each core on its own in Amaranth simulation: the encoder and the dense core."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from spikewright.golden import encoding
from spikewright.golden.ir import Dense, Flatten, Network
from spikewright.hdl_gen.encoder import InputEncoder
from spikewright.hdl_gen.plan import make_plan


def run(dut, testbench):
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()


@pytest.mark.parametrize("ice", [False, True])
def test_encoder_pushes_every_input_spike_of_every_step(ice):
    rng = np.random.default_rng(3)
    spec = encoding.make_input_spec((2, 3, 3), k=3, timesteps=4, ice=ice)
    pixels = rng.integers(0, 256, size=(1, 2, 3, 3), dtype=np.uint8)
    layer = Dense("o", len(spec.channels) * 9, 2, "none", np.ones((2, len(spec.channels) * 9),
                                                                 np.int64), np.zeros(2, np.int64))
    plan = make_plan(Network(4, spec, (Flatten("f"), layer)))
    dut = InputEncoder(plan.encoder)
    expected = encoding.input_spike_train(encoding.input_counts(spec, pixels), 4)[:, 0]
    got = np.zeros_like(expected).reshape(4, -1)
    cycles = []

    async def testbench(ctx):
        ctx.set(dut.enable, 1)
        ctx.set(dut.pixels.valid, 1)
        cycle = 0
        for value in pixels.reshape(-1):
            ctx.set(dut.pixels.payload, int(value))
            while True:
                push, address, ready, done = ctx.get(dut.push_valid), ctx.get(dut.push_address), \
                    ctx.get(dut.pixels.ready), ctx.get(dut.done)
                for t in range(4):
                    if push >> t & 1:
                        got[t, address] = True
                await ctx.tick()
                cycle += 1
                if ready:
                    break
        cycles.append((cycle, done))

    run(dut, testbench)
    assert np.array_equal(got, expected.reshape(4, -1))
    assert cycles[-1] == (plan.encoder.cycles, 1)
