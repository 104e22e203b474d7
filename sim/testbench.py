"""The cocotb testbench of the network top (run through :mod:`.runner`, not directly).

The job file named by the plusarg ``+spikeforge_job=PATH`` says which IR, which images,
the seed, the input gap and output backpressure probabilities, and where to write the
results. Every image is checked for class, every logit, every input and hidden spike (from
the debug ports) and, with no gaps and no backpressure, the cycle count of the cycle model.

Signals are driven and sampled at falling clock edges, where everything the design drives
from its registers (ready, result and the registered trace ports) is stable.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge

from spikeforge.golden import load
from spikeforge.hdl_gen.config import HwConfig
from spikeforge.hdl_gen.plan import make_plan

from .expected import compare, decode_payload, expected_for

PERIOD_NS = 10


class Bench:
    def __init__(self, dut, job):
        self.dut, self.job = dut, job
        manifest = json.loads((Path(job["rtl"]) / "manifest.json").read_text())
        self.layout = manifest["result_payload"]
        network = load(job["ir"])
        self.plan = make_plan(network, HwConfig.from_json(manifest["hw_config"]))
        self.pixels = np.load(job["pixels"])
        self.expected = expected_for(self.plan, self.pixels)
        self.rng = np.random.default_rng(job["seed"])
        count = len(self.pixels)
        self.results = [None] * count
        self.cycles = [-1] * count
        self.inputs = [set() for _ in range(count)]
        self.hidden = [set() for _ in range(count)]
        self.taken = 0
        self.accepted_at = None

    async def drive_pixels(self):
        dut, gaps = self.dut, self.job["input_gaps"]
        for index, image in enumerate(self.pixels):
            for position, value in enumerate(image.reshape(-1).tolist()):
                while gaps and self.rng.random() < gaps:
                    dut.pixels__valid.value = 0
                    await FallingEdge(dut.clk)
                dut.pixels__payload.value = value
                dut.pixels__valid.value = 1
                while not int(dut.pixels__ready.value):
                    await FallingEdge(dut.clk)
                if position == 0:
                    self.accepted_at = get_sim_time("ns")
                await FallingEdge(dut.clk)
        dut.pixels__valid.value = 0

    async def take_results(self):
        dut, pressure = self.dut, self.job["backpressure"]
        while self.taken < len(self.pixels):
            if not int(dut.result__valid.value):
                await RisingEdge(dut.result__valid)
                await FallingEdge(dut.clk)
            index = self.taken
            self.cycles[index] = round((get_sim_time("ns") - self.accepted_at) / PERIOD_NS)
            while pressure and self.rng.random() < pressure:
                dut.result__ready.value = 0
                await FallingEdge(dut.clk)
            self.results[index] = decode_payload(int(dut.result__payload.value), self.layout)
            dut.result__ready.value = 1
            await FallingEdge(dut.clk)
            dut.result__ready.value = 0
            self.taken += 1

    async def watch_hidden(self):
        dut = self.dut
        while True:
            await RisingEdge(dut.trace_valid)
            await FallingEdge(dut.clk)
            while int(dut.trace_valid.value):
                self.hidden[self.taken].add((int(dut.trace_layer.value), int(dut.trace_step.value),
                                             int(dut.trace_address.value)))
                await FallingEdge(dut.clk)

    async def watch_inputs(self):
        dut, timesteps = self.dut, self.plan.network.timesteps
        while True:
            await RisingEdge(dut.trace_input_valid)
            await FallingEdge(dut.clk)
            while int(dut.trace_input_valid.value):
                steps = int(dut.trace_input_steps.value)
                address = int(dut.trace_input_address.value)
                spikes = self.inputs[self.taken]
                for t in range(timesteps):
                    if steps >> t & 1:
                        spikes.add((t, address))
                await FallingEdge(dut.clk)

    def report(self, wall_s: float) -> dict:
        check_cycles = not self.job["input_gaps"] and not self.job["backpressure"]
        return {**compare(self.expected, self.results, self.cycles, self.inputs, self.hidden,
                          check_cycles),
                "simulated_cycles": int(get_sim_time("ns") / PERIOD_NS),
                "wall_s": round(wall_s, 3)}


@cocotb.test()
async def network_equals_golden(dut):
    """Every image: class, logits, spikes and cycles equal golden and the cycle model."""
    job = json.loads(Path(cocotb.plusargs["spikeforge_job"]).read_text())
    start = time.time()
    bench = Bench(dut, job)
    cocotb.start_soon(Clock(dut.clk, PERIOD_NS, unit="ns").start())
    dut.pixels__valid.value = 0
    dut.result__ready.value = 0
    dut.rst.value = 1
    await ClockCycles(dut.clk, 2)
    dut.rst.value = 0
    await FallingEdge(dut.clk)
    cocotb.start_soon(bench.watch_hidden())
    cocotb.start_soon(bench.watch_inputs())
    cocotb.start_soon(bench.drive_pixels())
    await bench.take_results()
    Path(job["results"]).write_text(json.dumps(bench.report(time.time() - start)) + "\n")
