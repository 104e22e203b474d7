"""The exact stream model of a dataflow design (:mod:`.stream_plan`): for images streamed
back to back (a pixel beat offered every cycle, every result taken the cycle it is valid),
the cycle at which each result becomes valid, counted from the cycle the first beat of the
first image is accepted.

Each stage's time for one image comes from its plan's ``batch_cycles`` and the golden
trace; the stages are chained by the handshake of the double-buffered bitmaps between them:

- the encoder takes an image's beats back to back and hands the bitmap over in the cycle
  of its last beat, or, if its output is still held, the cycle after the consumer releases
  it; it takes the next image's first beat the cycle after the hand-over (with one input
  buffer, the cycle after the first layer releases the bitmap);
- a dense stage starts an image the cycle its input is handed over (or the cycle after its
  own previous hand-over), runs its passes, releases its input the next cycle, and hands
  over in that cycle or the cycle after its consumer releases the previous image;
- the argmax stage takes the logits (releasing the readout's output) when its result
  register is empty, compares one class per cycle, and shows the result the cycle after.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .plan import NetworkPlan
from .stream_plan import layer_inputs

__all__ = ["StreamTiming", "stream_timing", "stage_times", "times_of_scans", "chain_stages"]


@dataclass(frozen=True)
class StreamTiming:
    """Result cycles (``results[i]``: image ``i``'s result valid), first-beat cycles
    (``starts[i]``), and each stage's busy cycles per image (``stages[name][i]``)."""
    results: np.ndarray
    starts: np.ndarray
    stages: dict

    @property
    def latencies(self) -> np.ndarray:
        """Cycles from each image's first beat to its result."""
        return self.results - self.starts

    @property
    def interval(self) -> float:
        """Mean cycles between consecutive results (the steady throughput's inverse)."""
        if len(self.results) < 2:
            return float(self.results[0] + 1) if len(self.results) else 0.0
        return float(np.diff(self.results).mean())


def stage_times(plan: NetworkPlan, result) -> dict:
    """``{stage name: [cycles per image]}`` of every layer stage, from a traced golden
    ``result`` (each stage plan's ``batch_cycles`` of its input spikes)."""
    inputs = layer_inputs(plan.network, result)
    return {stage.layer.name: stage.batch_cycles(inputs[stage.layer.name]).tolist()
            for stage in plan.stream.stages}


def times_of_scans(plan: NetworkPlan, scans: dict) -> dict:
    """:func:`stage_times` from each layer's scan cycles per image and step (dense) or
    window pops (conv), as :func:`.stream_plan.layer_scans` gives them."""
    return {stage.layer.name: stage.cycles_of_samples(scans[stage.layer.name]).tolist()
            for stage in plan.stream.stages}


def stream_timing(plan: NetworkPlan, result) -> StreamTiming:
    """The cycle of every result of the traced golden ``result``'s images, streamed back to
    back through the dataflow design of ``plan``."""
    return chain_stages(plan, stage_times(plan, result))


def chain_stages(plan: NetworkPlan, times: dict) -> StreamTiming:
    """:func:`stream_timing` from each layer stage's cycles per image (``stage_times``)."""
    stream = plan.stream
    names = list(times)
    images = len(next(iter(times.values())))
    beats = stream.encoder.stage_cycles()
    never = -(10 ** 18)
    # for the previous image: each stage's hand-over cycle and release (of its input) cycle
    handover = {name: never for name in ["encoder", *names]}
    release = {name: never for name in [*names, "argmax"]}
    result_cycle = never
    first_beat = 0
    results, starts = [], []
    for i in range(images):
        consumers = [*names, "argmax"]
        last_beat = first_beat + beats - 1
        copy = max(last_beat, release[consumers[0]] + 1)
        starts.append(first_beat)
        available = copy + 1  # the consumer sees the bitmap from the cycle after hand-over
        handover["encoder"], first_beat = copy, copy + 1
        for k, name in enumerate(names):
            start = max(available, handover[name] + 1)
            done = start + times[name][i] + 1  # the cycle after the last pass
            release[name] = done
            copy = max(done, release[consumers[k + 1]] + 1)
            handover[name], available = copy, copy + 1
        if stream.encoder.buffers == 1:
            first_beat = max(first_beat, release[names[0]] + 1)
        start = max(available, result_cycle + 1)
        release["argmax"] = start
        result_cycle = start + stream.argmax_cycles()
        results.append(result_cycle)
    stages = {"encoder": [beats] * images, **times, "argmax": [stream.argmax_cycles()] * images}
    return StreamTiming(np.array(results, dtype=np.int64), np.array(starts, dtype=np.int64),
                        stages)
