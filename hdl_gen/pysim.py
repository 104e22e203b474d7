"""In-process Amaranth simulation of :class:`~.top.NetworkTop` (for tests and quick checks).

Drives the pixel stream (optionally with random gaps), takes results (optionally with random
backpressure) and records, per image: class, logits, the spike trace seen on the debug
ports, and the cycles from the first pixel accepted to the result valid.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from amaranth.sim import Simulator

from .plan import NetworkPlan
from .top import NetworkTop

__all__ = ["SimImage", "simulate"]


@dataclass
class SimImage:
    cls: int = -1
    logits: list = field(default_factory=list)
    cycles: int = -1
    hidden_spikes: list = field(default_factory=list)  # (layer index, global step, address)
    input_spikes: list = field(default_factory=list)   # (step, address)


def simulate(plan: NetworkPlan, pixels: np.ndarray, *, seed: int = 0, input_gaps: float = 0.0,
             backpressure: float = 0.0, max_cycles: int = 10_000_000) -> list[SimImage]:
    """Simulate ``pixels`` ``[N, C, H, W]`` (uint8) through the top built from ``plan``."""
    dut = NetworkTop(plan)
    rng = np.random.default_rng(seed)
    images = [SimImage() for _ in range(len(pixels))]
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    timesteps = plan.encoder.timesteps
    classes = plan.classes

    async def drive(ctx):
        for image in pixels:
            for value in image.reshape(-1):
                while input_gaps and rng.random() < input_gaps:
                    ctx.set(dut.pixels.valid, 0)
                    await ctx.tick()
                ctx.set(dut.pixels.payload, int(value))
                ctx.set(dut.pixels.valid, 1)
                await ctx.tick().until(dut.pixels.ready)
        ctx.set(dut.pixels.valid, 0)

    async def take(ctx):
        done = 0
        while done < len(pixels):
            ready = not (backpressure and rng.random() < backpressure)
            ctx.set(dut.result.ready, int(ready))
            await ctx.tick()
            done = sum(1 for im in images if im.cls >= 0)

    async def monitor(ctx):
        cycle, current, started, valid_seen = 0, 0, None, False
        async for _, _, pv, pr, rv, rr, payload, tv, tl, ts, ta, tiv, tia in ctx.tick().sample(
                dut.pixels.valid, dut.pixels.ready, dut.result.valid, dut.result.ready,
                dut.result.payload, dut.trace_valid, dut.trace_layer, dut.trace_step,
                dut.trace_address, dut.trace_input_steps, dut.trace_input_address):
            if current >= len(images) or cycle > max_cycles:
                break
            image = images[current]
            if pv and pr and started is None:
                started = cycle
            if tiv:
                for t in range(timesteps):
                    if (tiv >> t) & 1:
                        image.input_spikes.append((t, int(tia)))
            if tv:
                image.hidden_spikes.append((int(tl), int(ts), int(ta)))
            if rv and not valid_seen:
                image.cycles = cycle - started
                valid_seen = True
            if rv and rr:
                image.cls = int(payload.cls)
                image.logits = [int(payload.logits[c]) for c in range(classes)]
                current, started, valid_seen = current + 1, None, False
            cycle += 1

    sim.add_testbench(drive, background=True)
    sim.add_testbench(take)
    sim.add_process(monitor)
    sim.run()
    return images
