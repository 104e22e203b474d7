"""Each core on its own in Amaranth simulation: the encoder and the dense core."""

import numpy as np
import pytest
from amaranth import Module
from amaranth.lib import wiring
from amaranth.sim import Simulator

from spikewright.golden.ir import Dense, Flatten, InputChannel, InputSpec, Network
from spikewright.hdl_gen.config import HwConfig
from spikewright.hdl_gen.dense_core import DenseCore
from spikewright.hdl_gen.event_list import EventList
from spikewright.hdl_gen.plan import make_plan


def run(dut, testbench):
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()


class CoreBench(wiring.Component):
    """An event list feeding a dense core, and a list collecting its output."""

    def __init__(self, plan):
        self.inputs = EventList(depth=plan.in_features, address_width=plan.address_width)
        self.core = DenseCore(plan, event_count_width=len(self.inputs.count))
        super().__init__({})

    def elaborate(self, platform):
        m = Module()
        m.submodules.inputs, m.submodules.core = self.inputs, self.core
        m.d.comb += [self.core.event_count.eq(self.inputs.count),
                     self.core.event_address.eq(self.inputs.read_address),
                     self.inputs.read_index.eq(self.core.event_index)]
        return m


def dense_layer_plan(neuron, lanes, timesteps=2):
    rng = np.random.default_rng(17)
    weight = rng.integers(-8, 8, size=(5, 6))
    bias = rng.integers(-3, 4, size=5)
    threshold = rng.integers(3, 12, size=5)
    spec = InputSpec((1, 1, 6), (InputChannel(0, tuple(range(1, timesteps + 1))),))
    hidden = Dense("h", 6, 5, neuron, weight, bias, threshold)
    net = Network(timesteps, spec, (Flatten("f"), hidden,
                                    Dense("o", 5, 1, "none", np.ones((1, 5), np.int64),
                                          np.zeros(1, np.int64))))
    return make_plan(net, HwConfig(lanes=lanes)).layers[0], weight, bias, threshold


def drive_steps(plan, steps):
    """Run the core for each ``(phase, first, events)``; return spikes per step and cycles."""
    bench = CoreBench(plan)
    core, inputs = bench.core, bench.inputs
    record = []

    async def testbench(ctx):
        for phase, first, events in steps:
            ctx.set(inputs.clear, 1)
            await ctx.tick()
            ctx.set(inputs.clear, 0)
            for address in events:
                ctx.set(inputs.push_valid, 1)
                ctx.set(inputs.push_address, address)
                await ctx.tick()
            ctx.set(inputs.push_valid, 0)
            ctx.set(core.start, 1)
            ctx.set(core.phase, phase)
            ctx.set(core.first, first)
            spikes, cycles = set(), 0
            while True:
                valid, address, done = ctx.get(core.out_valid), ctx.get(core.out_address), \
                    ctx.get(core.done)
                if valid:
                    spikes.add(int(address))
                await ctx.tick()
                ctx.set(core.start, 0)
                cycles += 1
                if done:
                    break
            record.append((spikes, cycles))

    run(bench, testbench)
    return record


@pytest.mark.parametrize("lanes", [1, 2, 5])
def test_if_core_charges_fires_and_resets(lanes):
    plan, weight, bias, threshold = dense_layer_plan("if", lanes)
    steps = [(0, True, [0, 2, 5]), (0, False, [1, 2, 3, 4])]
    v = np.zeros(5, dtype=np.int64)
    for (phase, first, events), (spikes, cycles) in zip(steps, drive_steps(plan, steps)):
        v = v + weight[:, events].sum(axis=1) + bias
        fired = v >= threshold
        v = v - threshold * fired
        assert spikes == set(np.flatnonzero(fired).tolist())
        assert cycles == plan.step_cycles(len(events), int(fired.sum()))


def test_asg_core_integrates_then_regenerates():
    plan, weight, bias, threshold = dense_layer_plan("asg", 2)
    steps = [(0, True, [0, 1, 2]), (0, False, [3, 5]), (1, True, []), (1, False, [])]
    a = weight[:, [0, 1, 2]].sum(axis=1) + weight[:, [3, 5]].sum(axis=1) + 2 * bias
    u = np.zeros(5, dtype=np.int64)
    record = drive_steps(plan, steps)
    assert record[0][0] == set() and record[1][0] == set()
    assert [cycles for _, cycles in record[:2]] == [plan.step_cycles(3, 0),
                                                    plan.step_cycles(2, 0)]
    for spikes, cycles in record[2:]:
        u = u + a
        fired = u >= 2 * threshold
        u = u - 2 * threshold * fired
        assert spikes == set(np.flatnonzero(fired).tolist())
        assert cycles == plan.step_cycles(0, int(fired.sum()))
