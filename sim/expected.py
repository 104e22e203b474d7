"""What the RTL must produce for a set of images, from the golden model and the cycle model,
and how a mismatch is described."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spikeforge.golden import model
from spikeforge.hdl_gen.cycle_model import cycles_for_result
from spikeforge.hdl_gen.plan import NetworkPlan

__all__ = ["Expected", "expected_for", "first_spike_mismatch", "decode_payload", "compare"]


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


def decode_payload(payload: int, layout: dict) -> tuple[int, list[int]]:
    """``(class, logits)`` of a result payload, by the manifest's ``result_payload`` layout."""
    cls, logits = layout["cls"], layout["logits"]
    width = logits["width"]

    def signed(value):
        return value - (1 << width) if value >> (width - 1) & 1 else value

    return (payload >> cls["lsb"] & (1 << cls["width"]) - 1,
            [signed(payload >> (logits["lsb"] + c * logits["stride"]) & (1 << width) - 1)
             for c in range(logits["count"])])


def compare(expected: Expected, results: list, cycles: list, inputs: list, hidden: list,
            check_cycles: bool) -> dict:
    """Compare what the RTL produced per image (``results[i] = (class, logits)`` or None,
    ``cycles[i]``, ``inputs[i] = {(step, address)}``, ``hidden[i] = {(layer, step,
    address)}``) with ``expected``; the report counts mismatching images and names the first."""
    mismatches, cycle_mismatches, first = 0, 0, None
    for i, result in enumerate(results):
        problem = None
        if result is None:
            problem = {"image": i, "what": "no result"}
        elif result[1] != expected.logits[i].tolist() or result[0] != int(expected.classes[i]):
            diff = [c for c in range(len(result[1])) if result[1][c] != expected.logits[i][c]]
            problem = {"image": i, "layer": expected.plan.layers[-1].name,
                       "what": "class/logits", "expected_class": int(expected.classes[i]),
                       "actual_class": result[0], "first_logit": diff[0] if diff else None,
                       "expected": expected.logits[i].tolist(), "actual": result[1]}
        spike = first_spike_mismatch(expected, i, inputs[i], hidden[i])
        if spike is not None:
            if problem is None:
                problem = {**spike, "what": "spike"}
            elif problem["what"] == "class/logits":
                problem["first_spike"] = spike
        if problem is not None:
            mismatches += 1
            first = first or problem
        if check_cycles and cycles[i] != int(expected.cycles[i]):
            cycle_mismatches += 1
            first = first or {"image": i, "what": "cycles", "expected": int(expected.cycles[i]),
                              "actual": cycles[i]}
    measured = np.array(cycles)
    return {"images": len(results), "mismatches": mismatches,
            "cycle_mismatches": cycle_mismatches if check_cycles else None,
            "first_mismatch": first,
            "cycles": {"mean": float(measured.mean()), "min": int(measured.min()),
                       "max": int(measured.max())},
            "cycles_per_image": [int(c) for c in cycles],
            "model_cycles": expected.cycles.tolist(),
            "lower_bound_mean": float(expected.lower_bound.mean()),
            "classes": [r[0] if r else None for r in results],
            "golden_classes": expected.classes.tolist()}
