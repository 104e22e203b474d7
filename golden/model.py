"""The golden model: the integer SNN of the IR, bit-exact, batched.

For each image: pixels -> input spike counts -> evenly spaced input spikes over window 0;
each layer turns its input spikes ``s(t)`` of its window into currents ``W s(t) + b`` and
runs its neurons (:mod:`.neurons`); IF layers emit in the same window, ASG layers in the
next; the readout accumulates logits over its window; the class is the argmax, the lowest
index on a tie.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import encoding, neurons, synapses
from .ir import Flatten, Network, Neuron

__all__ = ["GoldenResult", "run", "run_spikes", "output_windows"]


@dataclass
class GoldenResult:
    """What the golden model computed for N images.

    ``trace[name]`` is ``[N, T, *shape]`` (bool): the spikes a layer emits in each step of
    its output window (``"input"`` for the encoder). ``windows[name]`` is that window's
    index: global step = ``windows[name] * T + t``. ``state_range[name]`` is the observed
    ``(min, max)`` of the layer's state registers.
    """
    logits: np.ndarray
    predictions: np.ndarray
    spike_counts: dict[str, np.ndarray]
    synops: dict[str, np.ndarray]
    trace: dict[str, np.ndarray] = field(default_factory=dict)
    windows: dict[str, int] = field(default_factory=dict)
    state_range: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def synops_total(self) -> np.ndarray:
        return sum(self.synops.values())

    def __len__(self) -> int:
        return len(self.logits)

    def select(self, start: int, stop: int) -> "GoldenResult":
        """Images ``start`` to ``stop`` (exclusive) of this result, trace included where kept."""
        if not 0 <= start <= stop <= len(self):
            raise ValueError(f"image range must lie within 0..{len(self)}, not "
                             f"{start}..{stop}")
        if self.trace and stop > len(next(iter(self.trace.values()))):
            raise ValueError(f"the trace was kept for {len(next(iter(self.trace.values())))} "
                             f"images, not {stop}")
        part = slice(start, stop)
        return GoldenResult(self.logits[part], self.predictions[part],
                            {k: v[part] for k, v in self.spike_counts.items()},
                            {k: v[part] for k, v in self.synops.items()},
                            {k: v[part] for k, v in self.trace.items()},
                            dict(self.windows), dict(self.state_range))


def _argmax_lowest(logits: np.ndarray) -> np.ndarray:
    return np.argmax(logits, axis=1)


class _RangeObserver:
    def __init__(self):
        self.lo, self.hi = 0, 0

    def __call__(self, state):
        if state.size:
            self.lo = min(self.lo, int(state.min()))
            self.hi = max(self.hi, int(state.max()))


def run_spikes(network: Network, spikes: np.ndarray, *, trace=False, observe_state=False):
    """Run the layers on input spikes ``[T, N, *encoded_shape]`` (bool).

    Returns ``(logits, spike_counts, synops, trace, state_range)`` for those N images.
    """
    timesteps = network.timesteps
    n = spikes.shape[1]
    counts = {"input": spikes.reshape(timesteps, n, -1).sum(axis=(0, 2))}
    synops, traces, ranges = {}, {}, {}
    if trace:
        traces["input"] = np.moveaxis(spikes, 0, 1).copy()
    for index, layer in enumerate(network.layers):
        in_shape, out_shape = network.layer_shapes(index)
        if isinstance(layer, Flatten):
            spikes = spikes.reshape(timesteps, n, *out_shape)
            continue
        per_step = spikes.reshape(timesteps, n, -1).astype(np.int64)
        synops[layer.name] = (per_step @ synapses.fanout(layer, in_shape).reshape(-1)).sum(0)
        current = synapses.currents(layer, spikes.reshape(timesteps * n, *in_shape))
        current = current.reshape(timesteps, n, *out_shape)
        observer = _RangeObserver() if observe_state else None
        if layer.neuron is Neuron.NONE:
            logits = neurons.readout_window(current, observer)
        else:
            threshold = layer.threshold.reshape(-1, *([1] * (len(out_shape) - 1)))
            window = neurons.if_window if layer.neuron is Neuron.IF else neurons.asg_window
            spikes = window(current, threshold, observer)
            counts[layer.name] = spikes.reshape(timesteps, n, -1).sum(axis=(0, 2))
            if trace:
                traces[layer.name] = np.moveaxis(spikes, 0, 1).copy()
        if observer is not None:
            ranges[layer.name] = (observer.lo, observer.hi)
    return logits, counts, synops, traces, ranges


def output_windows(network: Network) -> dict[str, int]:
    """``{layer name: window}``: the window of each spiking layer's output (``"input"``: 0);
    an ASG layer emits in the window after its input's."""
    windows = {"input": 0}
    for layer, window in zip(network.layers, network.windows()):
        if getattr(layer, "neuron", None) in (Neuron.IF, Neuron.ASG):
            windows[layer.name] = window + (layer.neuron is Neuron.ASG)
    return windows


def _result(network: Network, parts: list) -> GoldenResult:
    logits = np.concatenate([p[0] for p in parts])
    merge = lambda i: {k: np.concatenate([p[i][k] for p in parts]) for k in parts[0][i]}
    ranges = {}
    for name in parts[0][4]:
        ranges[name] = (min(p[4][name][0] for p in parts), max(p[4][name][1] for p in parts))
    return GoldenResult(logits=logits, predictions=_argmax_lowest(logits),
                        spike_counts=merge(1), synops=merge(2), trace=merge(3),
                        windows=output_windows(network), state_range=ranges)


def run(network: Network, pixels: np.ndarray, *, trace: bool = False,
        observe_state: bool = False, batch_size: int = 500, progress=None,
        on_batch=None, keep_trace: int | None = None) -> GoldenResult:
    """Run the golden model on uint8 ``pixels`` ``[N, C, H, W]``.

    ``trace`` keeps every layer's per-step spikes (memory grows with N), of the first
    ``keep_trace`` images only where that is given; ``on_batch(first, batch_result)`` sees
    each batch's result with its full trace (for work that needs the trace of every image
    but not all at once); ``progress`` is called with the number of images done after each
    batch.
    """
    pixels = encoding.check_pixels(pixels, network.input.shape)
    keep = len(pixels) if keep_trace is None else min(keep_trace, len(pixels))
    parts, kept = [], []
    for start in range(0, len(pixels), batch_size):
        counts = encoding.input_counts(network.input, pixels[start:start + batch_size])
        spikes = encoding.input_spike_train(counts, network.timesteps)
        logits, spike_counts, synops, traces, ranges = run_spikes(
            network, spikes, trace=trace or on_batch is not None, observe_state=observe_state)
        if on_batch is not None:
            on_batch(start, _result(network, [(logits, spike_counts, synops, traces, ranges)]))
        if trace and start < keep:
            kept.append({k: v[:keep - start] for k, v in traces.items()})
        parts.append((logits, spike_counts, synops, {}, ranges))
        if progress is not None:
            progress(min(start + batch_size, len(pixels)))
    if not parts:
        parts.append(run_spikes(network, np.zeros((network.timesteps, 0,
                                                   *network.input.encoded_shape), dtype=bool),
                                trace=trace, observe_state=observe_state))
        kept.append(parts[0][3])
    result = _result(network, parts)
    if kept:
        result.trace = {k: np.concatenate([t[k] for t in kept]) for k in kept[0]}
    return result
