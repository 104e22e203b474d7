"""Folding a dataflow design: the fewest lanes per layer (and pixels per beat) that keep the
stream's interval within a target, in the spirit of FINN's folding. The stage times come
from each stage plan's cycle function on the samples of :func:`.stream_plan.layer_scans`,
and the interval is checked with the stream model itself; how each layer kind is folded:
:func:`_fold_conv`, :func:`_fold_dense`, :func:`fold`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .config import HwConfig
from .parts import TARGETS, block_rams
from .plan import make_plan
from .stream_model import StreamTiming, chain_stages, times_of_scans
from .stream_plan import (EVENT_CHOICES, SCAN_WIDTH, conv_cycles, group_cycles, pass_overhead,
                          weight_blocks, window_reads)
from .word_scan import word_scan_of

__all__ = ["BLOCK_BITS", "Folding", "fold", "fold_to_fit", "block_rams",
           "dense_weight_blocks", "weight_block_rams", "design_block_rams"]

#: Bits of one ECP5 DP16KD, the block RAM folding counts.
BLOCK_BITS = TARGETS["ecp5-85k"].block_bits
#: Cycles of the hand-overs between stages that the folding leaves as margin.
HANDOVER_MARGIN = 4
#: The ratio between the target intervals :func:`fold_to_fit` tries.
FIT_STEP = 1.02


def weight_block_rams(plan) -> int:
    """Block RAMs the weights of ``plan``'s stages take on its part (each stage plan's
    ``weight_block_rams``)."""
    return sum(stage.weight_block_rams(plan.config.target) for stage in plan.stream.stages)


def design_block_rams(plan) -> int:
    """Block RAMs of ``plan``'s whole design on its part: each stage plan's weights and its
    other memories (``other_block_rams``), as the estimate counts them."""
    target = plan.config.target
    return sum(stage.weight_block_rams(target) + stage.other_block_rams(target)
               for stage in plan.stream.stages)


def dense_weight_blocks(plan) -> int:
    """:func:`weight_block_rams` of a plan of dense stages only."""
    for layer in plan.layers:
        if layer.kind != "dense":
            raise ValueError(f"the block RAM model covers dense layers only, not "
                             f"{layer.kind} layer {layer.name!r}; fold for a number of "
                             f"images per second instead")
    return weight_block_rams(plan)


def _fold_conv(layer, pops: np.ndarray, stage_cycles: float) -> tuple[int, int, int]:
    """``(lanes, kernel lanes, events)`` of a conv layer: of those whose mean stage time over
    the window pops ``pops`` (per class, :func:`.stream_plan.window_pops`) is at most
    ``stage_cycles``, the fewest block RAMs for the weights, then the fewest lanes times
    kernel lanes times events (the weights added per cycle); else the fastest."""
    out_channels, _, kh, kw = layer.weight.shape
    in_channels = layer.in_channels  # a grouped conv's stage holds one-group weights
    positions = kh * kw
    reads = window_reads(layer.kernel_size, layer.stride, pops.shape[3])
    options = []
    for lanes in sorted({max(1, out_channels // 2 ** n) for n in range(8)}):
        groups = -(-out_channels // lanes)
        for kernel_lanes in range(1, positions + 1):
            kernel_groups = -(-positions // kernel_lanes)
            if kernel_lanes > 1 and (kernel_groups - 1) * kernel_lanes >= positions - 1:
                continue  # the same groups as fewer kernel lanes
            for events in (e for e in EVENT_CHOICES if e <= pops.shape[-1]):
                cycles = float(np.mean(conv_cycles(pops, reads, kernel_lanes, groups, events)))
                depth = groups * kernel_groups * -(-in_channels // events)
                memory = kernel_lanes * events * weight_blocks(lanes, layer.weight_width, depth)
                options.append((cycles, memory, lanes * kernel_lanes * events, lanes,
                                kernel_lanes, events))
    meeting = [o for o in options if o[0] <= stage_cycles]
    if meeting:
        best = min(meeting, key=lambda o: (o[1], o[2]))
    else:
        best = min(options)
    return best[3:]


def lane_adder_bits(layer, events: int) -> int:
    """Adder bits of one lane of a dense stage taking ``events`` events per cycle: the
    accumulator, and the ``events - 1`` adders that sum the weights read (the folding's
    measure of a lane's logic)."""
    return layer.membrane_width + (events - 1) * (layer.weight_width + 1)


def _fold_dense(layer, scans: np.ndarray, interval_cycles: float,
                word_input: bool = False) -> tuple[int, int]:
    """``(events per cycle, lane groups)`` of a dense layer: for each of
    :data:`.stream_plan.EVENT_CHOICES`, the most lane groups whose mean stage time over the
    sample scans ``scans`` ``[images, T, choices]`` stays within the interval; of those, the
    fewest adder bits over all lanes (:func:`lane_adder_bits`), then the fewest events.
    Where none meets it at one group: the fastest. ``word_input``: a conv stage feeds it
    (:func:`.stream_plan.pass_overhead`)."""
    meeting, fastest, scans = [], [], np.asarray(scans)
    for column, events in enumerate(EVENT_CHOICES):
        per_group = float(np.mean(group_cycles(1, scans[..., column], events, word_input)))
        groups = max(1, min(layer.out_features, int(interval_cycles // max(
            per_group, pass_overhead(events, word_input)))))
        lanes = -(-layer.out_features // groups)
        cost = lanes * lane_adder_bits(layer, events)
        fastest.append((per_group, cost, events, groups))
        if per_group <= interval_cycles:
            meeting.append((cost, events, groups))
    if meeting:
        return min(meeting)[1:]
    return min(fastest)[2:]


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
                "kernel_lanes": self.config.to_json()["kernel_lanes"],
                "events": self.config.to_json()["events"],
                "pixels_per_beat": self.config.pixels_per_beat,
                "sample_images": int(len(self.timing.results))}


def fold(network, scans: dict, *, interval_cycles: float, config: HwConfig) -> Folding:
    """Lanes per weighted layer, kernel lanes and events per cycle of conv layers
    (:func:`_fold_conv`), events per cycle of dense layers (:func:`_fold_dense`) and pixels
    per beat for a dataflow design of ``network`` whose mean interval over the sample
    images (``scans``) is at most ``interval_cycles``; ``config`` gives the other choices.
    Where the chained stages miss the target and a conv stage is the slowest, it is folded
    again to be faster than it is; else the slowest dense stage gets one lane group fewer
    (at one group, the next events per cycle); where the target cannot be met, the
    fastest design is returned (``met`` is False)."""
    if not interval_cycles > 0:
        raise ValueError(f"the target interval must be a positive number of cycles, not "
                         f"{interval_cycles!r}")
    pixels = int(np.prod(network.input.shape))
    positions = network.input.shape[1] * network.input.shape[2]
    beats = [b for b in range(1, 17) if positions % b == 0]
    beat = next((b for b in beats if pixels / b <= interval_cycles), beats[-1])
    groups, fixed, kernel = {}, {}, {}
    dense = [layer for layer in network.weighted_layers if layer.kind == "dense"]
    events = {}
    for layer in network.weighted_layers:
        if layer.kind == "conv2d":
            fixed[layer.name], kernel[layer.name], events[layer.name] = _fold_conv(
                layer, scans[layer.name], interval_cycles - HANDOVER_MARGIN)
    for layer in dense:
        word_input = word_scan_of(network, network.layers.index(layer), SCAN_WIDTH) is not None
        events[layer.name], groups[layer.name] = _fold_dense(layer, scans[layer.name],
                                                             interval_cycles, word_input)
    while True:
        lanes = {**fixed, **{layer.name: -(-layer.out_features // groups[layer.name])
                             for layer in dense}}
        candidate = dataclasses.replace(config, lanes=lanes, pixels_per_beat=beat,
                                        kernel_lanes=kernel or 1, events=events or 1)
        plan = make_plan(network, candidate)
        times = times_of_scans(plan, scans)
        timing = chain_stages(plan, times)
        if timing.interval <= interval_cycles:
            return Folding(candidate, timing, interval_cycles)
        means = {name: float(np.mean(cycles)) for name, cycles in times.items()}
        slowest = max(means, key=means.get)
        if slowest in kernel:
            layer = next(layer for layer in network.weighted_layers if layer.name == slowest)
            faster = _fold_conv(layer, scans[slowest], means[slowest] - 0.5)
            if faster != (fixed[slowest], kernel[slowest], events[slowest]):
                fixed[slowest], kernel[slowest], events[slowest] = faster
                continue
            return Folding(candidate, timing, interval_cycles)
        if not groups:
            return Folding(candidate, timing, interval_cycles)
        most = EVENT_CHOICES[-1]
        slowest = max(groups, key=lambda name: np.mean(times[name])
                      if groups[name] > 1 or events[name] < most else -1)
        if groups[slowest] > 1:
            groups[slowest] -= 1
        elif events[slowest] < most:
            events[slowest] = EVENT_CHOICES[EVENT_CHOICES.index(events[slowest]) + 1]
        else:
            return Folding(candidate, timing, interval_cycles)


def fold_to_fit(network, scans: dict, *, config: HwConfig, blocks: int) -> Folding:
    """The folding of ``network`` (dense layers) with the shortest interval whose weights
    fit ``blocks`` block RAMs (:func:`dense_weight_blocks`). Block RAMs do not fall
    steadily with the lanes (a bank's best shape depends on its depth), so the target
    intervals are tried upwards from the fastest design's in steps of
    :data:`FIT_STEP`; the first design that fits is kept (the fewest lanes and pixels
    per beat for that target interval). Its ``target_interval`` is its own interval
    (``met``)."""
    one_lane = dataclasses.replace(config, lanes={
        layer.name: 1 for layer in network.weighted_layers})
    least = dense_weight_blocks(make_plan(network, one_lane))
    if least > blocks:
        raise ValueError(f"the weights need {least} block RAMs even at one lane per layer; "
                         f"the part has {blocks}")
    target = fold(network, scans, interval_cycles=1.0, config=config).timing.interval
    while True:
        folding = fold(network, scans, interval_cycles=target, config=config)
        if dense_weight_blocks(make_plan(network, folding.config)) <= blocks:
            return Folding(folding.config, folding.timing, folding.timing.interval)
        target = max(target * FIT_STEP, folding.timing.interval + 1)
