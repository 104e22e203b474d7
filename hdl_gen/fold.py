"""Folding a dataflow design: the fewest lanes per layer (and pixels per beat) that keep the
stream's interval within a target, in the spirit of FINN's folding. The stage times come
from each stage plan's cycle function on the scan cycles of sample images, and the interval
is checked with the stream model itself."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .config import HwConfig
from .plan import make_plan
from .stream_model import StreamTiming, chain_stages, times_of_scans
from .stream_plan import PASS_OVERHEAD, group_cycles

__all__ = ["Folding", "fold"]


@dataclass(frozen=True)
class Folding:
    """The chosen configuration, the stream model's timing of the sample images with it,
    and whether it meets the target interval."""
    config: HwConfig
    timing: StreamTiming
    target_interval: float

    @property
    def met(self) -> bool:
        return self.timing.interval <= self.target_interval

    def to_json(self) -> dict:
        return {"target_interval_cycles": self.target_interval,
                "predicted_interval_cycles": self.timing.interval,
                "predicted_latency_cycles_mean": float(self.timing.latencies.mean()),
                "met": self.met, "lanes": self.config.to_json()["lanes"],
                "pixels_per_beat": self.config.pixels_per_beat,
                "sample_images": int(len(self.timing.results))}


def fold(network, scans: dict, *, interval_cycles: float, config: HwConfig) -> Folding:
    """Lanes per weighted layer and pixels per beat for a dataflow design of ``network``
    whose mean interval over the sample images (their scan cycles per layer and step,
    ``scans``) is at most ``interval_cycles``; ``config`` gives the other choices. Where the
    target cannot be met, the fastest design is returned (``met`` is False)."""
    convs = [layer.name for layer in network.weighted_layers if layer.name not in scans]
    if convs:
        raise ValueError(f"folding chooses the lanes of dense layers; give the lanes and "
                         f"kernel lanes of the conv layer(s) {', '.join(convs)} explicitly "
                         f"(--lanes, --kernel-lanes)")
    if not interval_cycles > 0:
        raise ValueError(f"the target interval must be a positive number of cycles, not "
                         f"{interval_cycles!r}")
    pixels = int(np.prod(network.input.shape))
    positions = network.input.shape[1] * network.input.shape[2]
    beats = [b for b in range(1, 17) if positions % b == 0]
    beat = next((b for b in beats if pixels / b <= interval_cycles), beats[-1])
    groups = {}
    for layer in network.weighted_layers:
        per_group = float(np.mean([group_cycles(1, row) for row in scans[layer.name]]))
        groups[layer.name] = max(1, min(layer.out_features,
                                        int(interval_cycles // max(per_group, PASS_OVERHEAD))))
    while True:
        lanes = {layer.name: -(-layer.out_features // groups[layer.name])
                 for layer in network.weighted_layers}
        candidate = dataclasses.replace(config, lanes=lanes, architecture="dataflow",
                                        pixels_per_beat=beat)
        plan = make_plan(network, candidate)
        times = times_of_scans(plan, scans)
        timing = chain_stages(plan, times)
        if timing.interval <= interval_cycles:
            return Folding(candidate, timing, interval_cycles)
        slowest = max(times, key=lambda name: np.mean(times[name]) if groups[name] > 1 else -1)
        if groups[slowest] == 1:
            return Folding(candidate, timing, interval_cycles)
        groups[slowest] -= 1
