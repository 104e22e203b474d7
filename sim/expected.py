"""What the RTL must produce for a set of images, from the golden model and the cycle model,
and how a mismatch is described."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spikeforge.golden import model
from spikeforge.hdl_gen.cycle_model import cycles_for_result
from spikeforge.hdl_gen.plan import NetworkPlan

__all__ = ["Expected", "expected_for", "first_spike_mismatch"]


@dataclass
class Expected:
    classes: np.ndarray
    logits: np.ndarray
    cycles: np.ndarray
    lower_bound: np.ndarray
    result: object  # GoldenResult with trace
    plan: NetworkPlan

    def input_spikes(self, index: int) -> set:
        """``{(step, address)}`` of image ``index``'s input spikes."""
        trace = self.result.trace["input"][index].reshape(self.plan.network.timesteps, -1)
        return {(int(t), int(a)) for t, a in zip(*np.nonzero(trace))}

    def hidden_spikes(self, index: int) -> set:
        """``{(layer index, global step, neuron)}`` of image ``index``'s hidden spikes."""
        timesteps = self.plan.network.timesteps
        spikes = set()
        for layer in self.plan.layers[:-1]:
            trace = self.result.trace[layer.name][index].reshape(timesteps, -1)
            offset = self.result.windows[layer.name] * timesteps
            spikes |= {(layer.index, offset + int(t), int(a)) for t, a in zip(*np.nonzero(trace))}
        return spikes


def expected_for(plan: NetworkPlan, pixels: np.ndarray) -> Expected:
    result = model.run(plan.network, pixels, trace=True)
    breakdown = cycles_for_result(plan, result)
    return Expected(result.predictions.copy(), result.logits.copy(),
                    np.array([b.total for b in breakdown]),
                    np.array([b.lower_bound for b in breakdown]), result, plan)


def first_spike_mismatch(expected: Expected, index: int, got_input: set, got_hidden: set):
    """The first differing spike of image ``index`` (by step, then layer, then neuron), as a
    dict naming image, layer, neuron, step, expected and actual; ``None`` if all agree."""
    names = [layer.name for layer in expected.plan.layers]
    differences = []
    want = expected.input_spikes(index)
    for step, address in want ^ got_input:
        differences.append((step, -1, address, (step, address) in want))
    want = expected.hidden_spikes(index)
    for layer, step, address in want ^ got_hidden:
        differences.append((step, layer, address, (layer, step, address) in want))
    if not differences:
        return None
    step, layer, address, spiked = min(differences)
    return {"image": index, "layer": "input" if layer < 0 else names[layer], "neuron": address,
            "step": step, "expected": "spike" if spiked else "no spike",
            "actual": "no spike" if spiked else "spike"}
