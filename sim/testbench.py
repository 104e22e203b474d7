"""The cocotb testbench of the network top (run through :mod:`.cocotb_bench`, not directly).

The job file named by the plusarg ``+spikewright_job=PATH`` gives the pixels, the seed, the
input gap and output backpressure probabilities, and where to write the recording. The
bench only records what the design does (results, cycles, traced spikes: a
:class:`~.recording.Recording`); the parent process compares it with golden
(:func:`.expected.compare`).

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
from cocotb.triggers import ClockCycles, FallingEdge

from .recording import Recording

PERIOD_NS = 10


async def write_weights(clk, payload, valid, ready, path):
    """Every SPRAM write of the design (one payload per line of ``path``), one per cycle
    while ``ready``; before the first image, so no result cycle counts them."""
    for line in Path(path).read_text().split():
        payload.value = int(line, 16)
        valid.value = 1
        while not int(ready.value):
            await FallingEdge(clk)
        await FallingEdge(clk)
    valid.value = 0


def weight_ports(dut, job):
    """The payload, valid and ready of the top's SPRAM write stream."""
    if job.get("interface") == "axis":
        return dut.s_axis_weights_tdata, dut.s_axis_weights_tvalid, dut.s_axis_weights_tready
    return dut.weights__payload, dut.weights__valid, dut.weights__ready


class StreamBench:
    """The network top: beats of several pixels, results taken as they come (``ready``
    held high without backpressure), and each stage's hand-over bitmaps; a result's cycle
    counts from the first beat of the first image."""

    def __init__(self, dut, job):
        self.dut, self.job = dut, job
        self.clk, self.scope = dut.clk, dut  # the clock; where the trace ports are
        self.pixels = np.load(job["pixels"])
        self.rng = np.random.default_rng(job["seed"])
        self.recording = Recording(len(self.pixels))
        self.taken = 0
        self.accepted_at = None

    async def drive_pixels(self):
        dut, gaps, beat = self.dut, self.job["input_gaps"], self.job["pixels_per_beat"]
        flat = np.ascontiguousarray(self.pixels, dtype=np.uint8).reshape(-1)
        for first in range(0, len(flat), beat):
            while gaps and self.rng.random() < gaps:
                dut.pixels__valid.value = 0
                await FallingEdge(dut.clk)
            dut.pixels__payload.value = int.from_bytes(flat[first:first + beat].tobytes(),
                                                       "little")
            dut.pixels__valid.value = 1
            while not int(dut.pixels__ready.value):
                await FallingEdge(dut.clk)
            if self.accepted_at is None:
                self.accepted_at = get_sim_time("ns")
            await FallingEdge(dut.clk)
        dut.pixels__valid.value = 0

    async def take_results(self):
        dut, pressure = self.dut, self.job["backpressure"]
        count, seen = len(self.pixels), False
        while self.taken < count:
            ready = not (pressure and self.rng.random() < pressure)
            dut.result__ready.value = int(ready)
            if int(dut.result__valid.value):
                if not seen:
                    self.recording.cycles[self.taken] = round(
                        (get_sim_time("ns") - self.accepted_at) / PERIOD_NS)
                    seen = True
                if ready:
                    self.recording.payloads[self.taken] = int(dut.result__payload.value)
                    self.taken += 1
                    seen = False
            await FallingEdge(dut.clk)

    async def watch_trace(self, name, valid_port, bits_port):
        valid, bits = getattr(self.scope, valid_port), getattr(self.scope, bits_port)
        while True:
            await FallingEdge(self.clk)
            if int(valid.value):
                self.recording.add_bitmap(name, int(bits.value))

    async def watch_words(self, name, trace):
        valid, index, word = (getattr(self.scope, trace[key])
                              for key in ("valid", "index", "word"))
        while True:
            await FallingEdge(self.clk)
            if int(valid.value):
                self.recording.add_word(name, int(index.value), int(word.value),
                                        trace["word_width"], trace["words"])


class AxisBench(StreamBench):
    """The AXI4-Stream top (``spikewright_axis``) around the design: pixel beats with
    ``tlast`` on each image's last, results taken from ``m_axis``; the spikes are read from
    the trace ports of the design inside (instance ``core.network``). A result's cycle
    counts as for the design itself (from the first beat of the first image);
    ``tlast_error`` must stay low."""

    def __init__(self, dut, job):
        super().__init__(dut, job)
        self.clk, self.scope = dut.aclk, dut.core.network  # module spikewright_axis.core

    async def drive_pixels(self):
        dut, gaps = self.dut, self.job["input_gaps"]
        beat, per_image = self.job["pixels_per_beat"], self.pixels[0].size
        flat = np.ascontiguousarray(self.pixels, dtype=np.uint8).reshape(-1)
        for first in range(0, len(flat), beat):
            while gaps and self.rng.random() < gaps:
                dut.s_axis_tvalid.value = 0
                await FallingEdge(self.clk)
            dut.s_axis_tdata.value = int.from_bytes(flat[first:first + beat].tobytes(),
                                                    "little")
            dut.s_axis_tlast.value = int((first + beat) % per_image == 0)
            dut.s_axis_tvalid.value = 1
            while not int(dut.s_axis_tready.value):
                await FallingEdge(self.clk)
            if self.accepted_at is None:
                self.accepted_at = get_sim_time("ns")
            await FallingEdge(self.clk)
        dut.s_axis_tvalid.value = 0

    async def take_results(self):
        dut, pressure = self.dut, self.job["backpressure"]
        width = self.job["result_width"]
        count, seen = len(self.pixels), False
        while self.taken < count:
            ready = not (pressure and self.rng.random() < pressure)
            dut.m_axis_tready.value = int(ready)
            if int(dut.m_axis_tvalid.value):
                if not seen:
                    self.recording.cycles[self.taken] = round(
                        (get_sim_time("ns") - self.accepted_at) / PERIOD_NS)
                    seen = True
                if ready:
                    assert int(dut.m_axis_tlast.value) == 1
                    self.recording.payloads[self.taken] = \
                        int(dut.m_axis_tdata.value) & ((1 << width) - 1)
                    self.taken += 1
                    seen = False
            await FallingEdge(self.clk)
        self.recording.facts["tlast_error"] = int(dut.tlast_error.value)


async def reset_top(dut, bench, job):
    """Clock, reset and idle inputs of the top the bench drives."""
    if job.get("weights"):
        weight_ports(dut, job)[1].value = 0
    if job.get("interface") == "axis":
        cocotb.start_soon(Clock(dut.aclk, PERIOD_NS, unit="ns").start())
        dut.s_axis_tvalid.value = 0
        dut.s_axis_tlast.value = 0
        dut.m_axis_tready.value = 0
        dut.aresetn.value = 0
        await ClockCycles(dut.aclk, 2)
        dut.aresetn.value = 1
    else:
        cocotb.start_soon(Clock(dut.clk, PERIOD_NS, unit="ns").start())
        dut.pixels__valid.value = 0
        dut.result__ready.value = 0
        dut.rst.value = 1
        await ClockCycles(dut.clk, 2)
        dut.rst.value = 0
    await FallingEdge(bench.clk)


@cocotb.test()
async def record_network(dut):
    """Stream every image through the design and record its results and spikes."""
    job = json.loads(Path(cocotb.plusargs["spikewright_job"]).read_text())
    start = time.time()
    bench = (AxisBench if job.get("interface") == "axis" else StreamBench)(dut, job)
    await reset_top(dut, bench, job)
    if job.get("weights"):
        await write_weights(bench.clk, *weight_ports(dut, job), job["weights"])
    for name, trace in job["traces"].items():
        if "bits" in trace:
            cocotb.start_soon(bench.watch_trace(name, trace["valid"], trace["bits"]))
        else:
            cocotb.start_soon(bench.watch_words(name, trace))
    cocotb.start_soon(bench.drive_pixels())
    await bench.take_results()
    bench.recording.simulated_cycles = int(get_sim_time("ns") / PERIOD_NS)
    bench.recording.facts["wall_s"] = round(time.time() - start, 3)
    Path(job["recording"]).write_text(json.dumps(bench.recording.to_json()) + "\n")
