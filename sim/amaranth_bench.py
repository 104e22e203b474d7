"""The Amaranth bench: :class:`~spikewright.hdl_gen.stream_top.StreamTop` in Amaranth's own
simulator, in process (no HDL simulator needed; slow, so for small networks and tests).

Drives the pixel stream (optionally with random gaps), takes results (optionally with random
backpressure) and records what the design did, as the other benches do.
"""

from __future__ import annotations

import time

import numpy as np
from amaranth.sim import Simulator

from spikewright.hdl_gen.plan import NetworkPlan
from spikewright.hdl_gen.stream_top import StreamTop

from .recording import Recording

__all__ = ["record"]


def record(plan: NetworkPlan, pixels: np.ndarray, *, seed: int = 0, input_gaps: float = 0.0,
           backpressure: float = 0.0, max_cycles: int = 10_000_000) -> Recording:
    """Stream ``pixels`` ``[N, C, H, W]`` (uint8) through the top built from ``plan``, in
    beats of ``pixels_per_beat`` pixels; each result's cycle counted from the cycle the
    first beat is accepted; each stage's hand-overs recorded."""
    dut = StreamTop(plan)
    beat = plan.stream.encoder.pixels_per_beat
    rng = np.random.default_rng(seed)
    recording = Recording(len(pixels))
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    taken = [0]
    traces = [("input", dut.trace_input_valid, dut.trace_input_bits)] + [
        (stage.layer.name, getattr(dut, f"trace_{stage.layer.name}_valid"),
         getattr(dut, f"trace_{stage.layer.name}_bits")) for stage in plan.stream.stages[:-1]
        if hasattr(dut, f"trace_{stage.layer.name}_bits")]
    word_traces = [
        (stage.layer.name, getattr(dut, f"trace_{stage.layer.name}_valid"),
         getattr(dut, f"trace_{stage.layer.name}_index"),
         getattr(dut, f"trace_{stage.layer.name}_word"), stage.word_width, stage.out_words)
        for stage in plan.stream.stages[:-1]
        if hasattr(dut, f"trace_{stage.layer.name}_word")]

    async def drive(ctx):
        flat = np.ascontiguousarray(pixels, dtype=np.uint8).reshape(-1)
        for first in range(0, len(flat), beat):
            word = int.from_bytes(flat[first:first + beat].tobytes(), "little")
            while input_gaps and rng.random() < input_gaps:
                ctx.set(dut.pixels.valid, 0)
                await ctx.tick()
            ctx.set(dut.pixels.payload, word)
            ctx.set(dut.pixels.valid, 1)
            await ctx.tick().until(dut.pixels.ready)
        ctx.set(dut.pixels.valid, 0)

    async def take(ctx):  # offers result.ready until the monitor has counted every result
        while taken[0] < len(pixels):
            ctx.set(dut.result.ready, int(not (backpressure and rng.random() < backpressure)))
            await ctx.tick()

    async def monitor(ctx):
        cycle, started, valid_seen = 0, None, False
        signals = [dut.pixels.valid, dut.pixels.ready, dut.result.valid, dut.result.ready,
                   dut.result.payload.as_value()]
        for _, valid, bits in traces:
            signals += [valid, bits]
        for _, valid, index, word, _, _ in word_traces:
            signals += [valid, index, word]
        async for _, _, pv, pr, rv, rr, payload, *trace_values in ctx.tick().sample(*signals):
            current = taken[0]
            if current >= len(pixels) or cycle > max_cycles:
                break
            if pv and pr and started is None:
                started = cycle
            for k, (name, _, _) in enumerate(traces):
                if trace_values[2 * k]:
                    recording.add_bitmap(name, int(trace_values[2 * k + 1]))
            words = trace_values[2 * len(traces):]
            for k, (name, _, _, _, width, count) in enumerate(word_traces):
                if words[3 * k]:
                    recording.add_word(name, words[3 * k + 1], words[3 * k + 2], width, count)
            if rv and not valid_seen:
                recording.cycles[current] = cycle - started
                valid_seen = True
            if rv and rr:
                recording.payloads[current] = int(payload)
                taken[0], valid_seen = current + 1, False
            cycle += 1
            recording.simulated_cycles = cycle

    start = time.time()
    sim.add_testbench(drive, background=True)
    sim.add_testbench(take)
    sim.add_process(monitor)
    sim.run()
    recording.facts.update(bench="amaranth", simulator="amaranth",
                           wall_s=round(time.time() - start, 3))
    return recording
