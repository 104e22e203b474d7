"""The exact cycle model of :class:`~.top.NetworkTop`, from the golden spike trace.

For one image (no gaps on the input, no backpressure on the output), counted from the cycle
its first pixel is accepted to the cycle its result is valid::

    cycles = load + sum over the schedule of step_cycles(entry) + classes
    load   = encoder slots - slots of the first pixel + 1

where each layer plan's ``step_cycles`` (:meth:`.plan.DenseLayerPlan.step_cycles`,
:meth:`.plan.ConvLayerPlan.step_cycles`) counts one layer-step from the input events
(spikes of the layer before it in that step; none in ASG phase 1) and the spikes it emits.
The event lower bound is ``sum_l synops_l / P_l``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spikewright.golden.ir import Neuron

from .plan import NetworkPlan

__all__ = ["CycleBreakdown", "image_cycles", "cycles_for_result"]


@dataclass(frozen=True)
class CycleBreakdown:
    """Cycles of one image: total, the parts, per (layer, step), and the event bound."""
    total: int
    load: int
    argmax: int
    per_entry: tuple  # ((layer name, step, phase, events, spikes, weight words, cycles), ...)
    lower_bound: float

    def per_layer(self) -> dict[str, int]:
        result: dict[str, int] = {}
        for name, _, _, _, _, _, cycles in self.per_entry:
            result[name] = result.get(name, 0) + cycles
        return result


def _spikes_at(trace, windows, name, step, timesteps):
    local = step - windows[name] * timesteps
    if not 0 <= local < timesteps:
        raise ValueError(f"layer {name!r} has no spikes at global step {step}")
    return trace[name][local]


def image_cycles(plan: NetworkPlan, trace: dict, windows: dict, synops: dict) -> CycleBreakdown:
    """Cycles of one image from its golden ``trace`` (``{name: [T, *shape]}``), the trace's
    ``windows`` and the image's ``synops`` per layer."""
    timesteps = plan.network.timesteps
    encoder = plan.encoder
    first_slots = max(1, len(encoder.channels_of_source[0]))
    load = encoder.cycles - first_slots + 1
    entries, total = [], load
    for entry in plan.schedule:
        layer = plan.layers[entry.layer]
        if entry.phase == 1:
            inputs = None
        elif entry.layer == 0:
            inputs = trace["input"][entry.local_step]
        else:
            previous = plan.layers[entry.layer - 1].name
            inputs = _spikes_at(trace, windows, previous, entry.step, timesteps)
        events = 0 if inputs is None else int(inputs.sum())
        emits = layer.neuron is Neuron.IF or (layer.neuron is Neuron.ASG and entry.phase == 1)
        spikes = int(_spikes_at(trace, windows, layer.name, entry.step, timesteps).sum()) \
            if emits else 0
        if layer.kind == "conv2d":
            updates = 0
            if inputs is not None and events:
                _, ys, xs = np.nonzero(inputs.reshape(layer.in_shape))
                updates = int(layer.updates_per_position[ys, xs].sum())
            cycles = layer.step_cycles(events, updates, spikes)
            words = updates
        else:
            cycles = layer.step_cycles(events, spikes)
            words = events * layer.groups
        entries.append((layer.name, entry.step, entry.phase, events, spikes, words, cycles))
        total += cycles
    total += plan.classes
    bound = sum(float(synops[layer.name]) / layer.lanes for layer in plan.layers)
    return CycleBreakdown(total, load, plan.classes, tuple(entries), bound)


def cycles_for_result(plan: NetworkPlan, result) -> list[CycleBreakdown]:
    """The breakdown of every image of a traced :class:`~spikewright.golden.GoldenResult`."""
    if not result.trace:
        raise ValueError("the cycle model needs the golden trace: run golden with trace=True")
    count = len(result.logits)
    out = []
    for i in range(count):
        trace = {name: spikes[i] for name, spikes in result.trace.items()}
        synops = {name: ops[i] for name, ops in result.synops.items()}
        out.append(image_cycles(plan, trace, result.windows, synops))
    return out
