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


#: The ports of the top a run drives (the job's ``interface``): clock, reset (name, active
#: level), and payload, valid, ready of the pixel, result and SPRAM weight streams.
PORTS = {
    "top": {"clk": "clk", "reset": ("rst", 1),
            "pixels": ("pixels__payload", "pixels__valid", "pixels__ready"),
            "result": ("result__payload", "result__valid", "result__ready"),
            "weights": ("weights__payload", "weights__valid", "weights__ready")},
    "axis": {"clk": "aclk", "reset": ("aresetn", 0),
             "pixels": ("s_axis_tdata", "s_axis_tvalid", "s_axis_tready"),
             "result": ("m_axis_tdata", "m_axis_tvalid", "m_axis_tready"),
             "weights": ("s_axis_weights_tdata", "s_axis_weights_tvalid",
                         "s_axis_weights_tready")},
}


class StreamBench:
    """The network top, or the AXI4-Stream top (``spikewright_axis``) around it (the job's
    ``interface`` "axis": ``tlast`` on each image's last beat, which must leave
    ``tlast_error`` low; the spikes read from the trace ports of the design inside,
    instance ``core.network``). Beats of several pixels go in; results are taken as they
    come (``ready`` held high without backpressure), a result's cycle counted from the
    first beat of the first image; each stage's hand-overs are recorded."""

    def __init__(self, dut, job):
        self.dut, self.job = dut, job
        self.axis = job.get("interface") == "axis"
        table = PORTS["axis" if self.axis else "top"]
        reset_name, self.reset_active = table["reset"]
        self.reset_port = getattr(dut, reset_name)
        self.ports = {key: getattr(dut, value) if isinstance(value, str)
                      else [getattr(dut, name) for name in value]
                      for key, value in table.items()
                      if key != "reset" and (key != "weights" or job.get("weights"))}
        self.clk = self.ports["clk"]
        self.scope = dut.core.network if self.axis else dut  # where the trace ports are
        self.pixels = np.load(job["pixels"])
        self.rng = np.random.default_rng(job["seed"])
        self.recording = Recording(len(self.pixels))
        self.taken = 0
        self.accepted_at = None

    async def reset(self):
        """Start the clock, hold the inputs idle and reset the top."""
        cocotb.start_soon(Clock(self.clk, PERIOD_NS, unit="ns").start())
        for port in (self.ports["pixels"][1], self.ports["result"][2],
                     *self.ports.get("weights", [])[1:2]):
            port.value = 0
        if self.axis:
            self.dut.s_axis_tlast.value = 0
        self.reset_port.value = self.reset_active
        await ClockCycles(self.clk, 2)
        self.reset_port.value = 1 - self.reset_active
        await FallingEdge(self.clk)

    async def drive_pixels(self):
        (payload, valid, ready), gaps = self.ports["pixels"], self.job["input_gaps"]
        beat, per_image = self.job["pixels_per_beat"], self.pixels[0].size
        flat = np.ascontiguousarray(self.pixels, dtype=np.uint8).reshape(-1)
        for first in range(0, len(flat), beat):
            while gaps and self.rng.random() < gaps:
                valid.value = 0
                await FallingEdge(self.clk)
            payload.value = int.from_bytes(flat[first:first + beat].tobytes(), "little")
            if self.axis:
                self.dut.s_axis_tlast.value = int((first + beat) % per_image == 0)
            valid.value = 1
            while not int(ready.value):
                await FallingEdge(self.clk)
            if self.accepted_at is None:
                self.accepted_at = get_sim_time("ns")
            await FallingEdge(self.clk)
        valid.value = 0

    async def take_results(self):
        (payload, valid, ready), pressure = self.ports["result"], self.job["backpressure"]
        mask = (1 << self.job["result_width"]) - 1
        count, seen = len(self.pixels), False
        while self.taken < count:
            taking = not (pressure and self.rng.random() < pressure)
            ready.value = int(taking)
            if int(valid.value):
                if not seen:
                    self.recording.cycles[self.taken] = round(
                        (get_sim_time("ns") - self.accepted_at) / PERIOD_NS)
                    seen = True
                if taking:
                    assert not self.axis or int(self.dut.m_axis_tlast.value) == 1
                    self.recording.payloads[self.taken] = int(payload.value) & mask
                    self.taken += 1
                    seen = False
            await FallingEdge(self.clk)
        if self.axis:
            self.recording.facts["tlast_error"] = int(self.dut.tlast_error.value)

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


@cocotb.test()
async def record_network(dut):
    """Stream every image through the design and record its results and spikes."""
    job = json.loads(Path(cocotb.plusargs["spikewright_job"]).read_text())
    start = time.time()
    bench = StreamBench(dut, job)
    await bench.reset()
    if job.get("weights"):
        await write_weights(bench.clk, *bench.ports["weights"], job["weights"])
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
