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

from .expected import expected_for, first_spike_mismatch

PERIOD_NS = 10


def _signed(value: int, width: int) -> int:
    return value - (1 << width) if value >> (width - 1) & 1 else value


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
        cls, logits = self.layout["cls"], self.layout["logits"]
        while self.taken < len(self.pixels):
            if not int(dut.result__valid.value):
                await RisingEdge(dut.result__valid)
                await FallingEdge(dut.clk)
            index = self.taken
            self.cycles[index] = round((get_sim_time("ns") - self.accepted_at) / PERIOD_NS)
            while pressure and self.rng.random() < pressure:
                dut.result__ready.value = 0
                await FallingEdge(dut.clk)
            payload = int(dut.result__payload.value)
            self.results[index] = (
                payload >> cls["lsb"] & (1 << cls["width"]) - 1,
                [_signed(payload >> (logits["lsb"] + c * logits["stride"])
                         & (1 << logits["width"]) - 1, logits["width"])
                 for c in range(logits["count"])])
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
        exp = self.expected
        mismatches, cycle_mismatches, first = 0, 0, None
        check_cycles = not self.job["input_gaps"] and not self.job["backpressure"]
        for i, result in enumerate(self.results):
            problem = None
            if result is None:
                problem = {"image": i, "what": "no result"}
            elif result[1] != exp.logits[i].tolist() or result[0] != int(exp.classes[i]):
                diff = [c for c in range(len(result[1])) if result[1][c] != exp.logits[i][c]]
                problem = {"image": i, "layer": self.plan.layers[-1].name,
                           "what": "class/logits", "expected_class": int(exp.classes[i]),
                           "actual_class": result[0], "first_logit": diff[0] if diff else None,
                           "expected": exp.logits[i].tolist(), "actual": result[1]}
            spike = first_spike_mismatch(exp, i, self.inputs[i], self.hidden[i])
            if spike is not None:
                if problem is None:
                    problem = {**spike, "what": "spike"}
                elif problem["what"] == "class/logits":
                    problem["first_spike"] = spike
            if problem is not None:
                mismatches += 1
                first = first or problem
            if check_cycles and self.cycles[i] != int(exp.cycles[i]):
                cycle_mismatches += 1
                first = first or {"image": i, "what": "cycles", "expected": int(exp.cycles[i]),
                                  "actual": self.cycles[i]}
        cycles = np.array(self.cycles)
        return {"images": len(self.pixels), "mismatches": mismatches,
                "cycle_mismatches": cycle_mismatches if check_cycles else None,
                "first_mismatch": first,
                "cycles": {"mean": float(cycles.mean()), "min": int(cycles.min()),
                           "max": int(cycles.max())},
                "cycles_per_image": cycles.tolist(),
                "model_cycles": exp.cycles.tolist(),
                "lower_bound_mean": float(exp.lower_bound.mean()),
                "simulated_cycles": int(get_sim_time("ns") / PERIOD_NS),
                "classes": [r[0] if r else None for r in self.results],
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
