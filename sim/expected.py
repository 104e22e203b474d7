"""What the RTL must produce for a set of images, from the golden trace and the stream model,
and the one comparison of a bench's :class:`~.recording.Recording` with it: the first
mismatch is named by image, layer, neuron and step."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spikewright.golden import model
from spikewright.hdl_gen.plan import NetworkPlan
from spikewright.hdl_gen.stream_model import stream_timing

from .recording import Recording

__all__ = ["Expected", "expected_for", "bitmap_spikes", "first_spike_mismatch",
           "decode_payload", "compare"]


@dataclass
class Expected:
    classes: np.ndarray
    logits: np.ndarray
    cycles: np.ndarray  # each result's cycle, counted from the first beat of the first image
    result: object  # GoldenResult with trace
    plan: NetworkPlan

    def __len__(self) -> int:
        return len(self.classes)

    def select(self, start: int, stop: int) -> "Expected":
        """Images ``start`` to ``stop`` (exclusive), as a stream of their own (its cycles
        count from image ``start``)."""
        return expected_for(self.plan, result=self.result.select(start, stop))

    def spikes(self, index: int) -> set:
        """``{(global step, layer index, neuron)}`` of image ``index``'s input (layer -1) and
        hidden spikes."""
        timesteps, trace = self.plan.network.timesteps, self.result.trace
        found = {(int(t), -1, int(a)) for t, a in
                 zip(*np.nonzero(trace["input"][index].reshape(timesteps, -1)))}
        for layer in self.plan.layers[:-1]:
            offset = self.result.windows[layer.name] * timesteps
            found |= {(offset + int(t), layer.index, int(a)) for t, a in
                      zip(*np.nonzero(trace[layer.name][index].reshape(timesteps, -1)))}
        return found


def expected_for(plan: NetworkPlan, pixels: np.ndarray | None = None, *,
                 result=None) -> Expected:
    """What the design of ``plan`` must produce: from a traced golden ``result`` of the
    images, or (where none is given) from a golden run on ``pixels``."""
    if result is None:
        result = model.run(plan.network, pixels, trace=True)
    # a stream's cycles count from its first image: a batch is a stream of its own
    return Expected(result.predictions.copy(), result.logits.copy(),
                    stream_timing(plan, result).results, result, plan)


def bitmap_spikes(plan: NetworkPlan, bitmaps: dict) -> set:
    """``{(global step, layer, neuron)}`` (layer -1: the input) from the bitmaps a design
    handed over for one image (``{"input": bits, layer name: bits}``): each bitmap holds its
    layer's output window (:func:`~spikewright.golden.model.output_windows`)."""
    timesteps = plan.network.timesteps
    windows = model.output_windows(plan.network)

    def ones(bits, stride):
        size = timesteps * stride
        value = int(bits) & ((1 << size) - 1)  # only the image's bits, as before
        flat = np.unpackbits(np.frombuffer(value.to_bytes(-(-size // 8), "little"),
                                           dtype=np.uint8), bitorder="little")[:size]
        steps, addresses = np.nonzero(flat.reshape(timesteps, stride))
        return zip(steps.tolist(), addresses.tolist())

    stride = plan.stream.encoder.out_bits
    found = {(t, -1, a) for t, a in ones(bitmaps.get("input", 0), stride)}
    for stage in plan.stream.stages[:-1]:
        layer = stage.layer
        spikes = ones(bitmaps.get(layer.name, 0), stage.out_bits)
        if layer.kind == "conv2d":
            # word order (position-major, channel-minor) to C, H, W neuron numbers
            channels, positions = stage.word_width, layer.positions
            spikes = [(t, a % channels * positions + a // channels) for t, a in spikes]
        offset = windows[layer.name] * timesteps
        found |= {(offset + t, layer.index, a) for t, a in spikes}
    return found


def first_spike_mismatch(expected: Expected, index: int, got: set):
    """The first differing spike of image ``index`` (by step, then layer, then neuron) between
    golden and ``got`` (:func:`bitmap_spikes`), as a dict naming image, layer, neuron, step,
    expected and actual; ``None`` if all agree."""
    want = expected.spikes(index)
    if want == got:
        return None
    step, layer, address = min(want ^ got)
    spiked = (step, layer, address) in want
    return {"image": index,
            "layer": "input" if layer < 0 else expected.plan.layers[layer].name,
            "neuron": address, "step": step, "expected": "spike" if spiked else "no spike",
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


def encode_payload(cls: int, logits: list, layout: dict) -> int:
    """The result payload of ``(cls, logits)``: the inverse of :func:`decode_payload`."""
    logit = layout["logits"]
    width, mask = logit["width"], (1 << logit["width"]) - 1
    if not 0 <= cls < 1 << layout["cls"]["width"] or not all(
            -(1 << width - 1) <= value < 1 << width - 1 for value in logits):
        raise ValueError(f"class {cls} or logits {logits} do not fit the result payload "
                         f"({layout['cls']['width']}-bit class, {width}-bit signed logits)")
    payload = cls << layout["cls"]["lsb"]
    for c, value in enumerate(logits):
        payload |= (value & mask) << (logit["lsb"] + c * logit["stride"])
    return payload


def compare(expected: Expected, recording: Recording, layout: dict,
            check_cycles: bool, *, check_spikes: bool = True) -> dict:
    """Compare what a bench (or a board, which shows no spikes: ``check_spikes`` False)
    recorded with ``expected``, image by image: class, every logit, every input and hidden
    spike and (``check_cycles``) the cycle of every result. The report counts mismatching
    images and names the first mismatch."""
    if recording.images != len(expected):
        raise ValueError(f"the recording has {recording.images} images, the expectation "
                         f"{len(expected)}")
    mismatches, cycle_mismatches, first, classes = 0, 0, None, []
    for i, payload in enumerate(recording.payloads):
        problem, result = None, None
        if payload is None:
            problem = {"image": i, "what": "no result"}
        else:
            result = decode_payload(payload, layout)
            if result[1] != expected.logits[i].tolist() or result[0] != int(expected.classes[i]):
                diff = [c for c in range(len(result[1])) if result[1][c] != expected.logits[i][c]]
                problem = {"image": i, "layer": expected.plan.layers[-1].name,
                           "what": "class/logits", "expected_class": int(expected.classes[i]),
                           "actual_class": result[0], "first_logit": diff[0] if diff else None,
                           "expected": expected.logits[i].tolist(), "actual": result[1]}
        classes.append(None if result is None else result[0])
        spike = None
        if check_spikes:
            spike = first_spike_mismatch(expected, i,
                                         bitmap_spikes(expected.plan, recording.bitmaps[i]))
        if spike is not None:
            if problem is None:
                problem = {**spike, "what": "spike"}
            elif problem["what"] == "class/logits":
                problem["first_spike"] = spike
        if problem is not None:
            mismatches += 1
            first = first or problem
        if check_cycles and recording.cycles[i] != int(expected.cycles[i]):
            cycle_mismatches += 1
            first = first or {"image": i, "what": "cycles", "expected": int(expected.cycles[i]),
                              "actual": recording.cycles[i]}
    measured = np.array(recording.cycles)
    return {"images": recording.images, "mismatches": mismatches,
            "cycle_mismatches": cycle_mismatches if check_cycles else None,
            "first_mismatch": first,
            "cycles": {"mean": float(measured.mean()), "min": int(measured.min()),
                       "max": int(measured.max())},
            "cycles_per_image": [int(c) for c in recording.cycles],
            "model_cycles": expected.cycles.tolist(),
            "classes": classes,
            "golden_classes": expected.classes.tolist(),
            "simulated_cycles": recording.simulated_cycles,
            **recording.facts}
