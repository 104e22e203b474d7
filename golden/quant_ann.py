"""The integer quantized ANN that an all-ASG integer SNN must equal exactly.

Per hidden layer: ``N_out = clip(floor((W N_in + T b) / theta), 0, T)`` on spike counts;
readout: ``logits = W N_in + T b``. Input counts come from the same pixel thresholds.
"""

from __future__ import annotations

import numpy as np

from . import encoding, synapses
from .ir import Flatten, Network, Neuron

__all__ = ["run_counts"]


def run_counts(network: Network, pixels: np.ndarray) -> tuple[np.ndarray, dict]:
    """Return ``(logits [N, classes], counts {layer: [N, *shape]})`` of the quantized ANN."""
    timesteps = network.timesteps
    counts = encoding.input_counts(network.input, pixels)
    per_layer = {"input": counts}
    for index, layer in enumerate(network.layers):
        _, out_shape = network.layer_shapes(index)
        if isinstance(layer, Flatten):
            counts = counts.reshape(len(counts), *out_shape)
            continue
        weighted = synapses.weighted_sum(layer, counts, input_max=timesteps)
        bias = layer.bias.reshape(-1, *([1] * (len(out_shape) - 1)))
        total = weighted + timesteps * bias
        if layer.neuron is Neuron.NONE:
            return total, per_layer
        threshold = layer.threshold.reshape(-1, *([1] * (len(out_shape) - 1)))
        counts = np.clip(np.floor_divide(total, threshold), 0, timesteps)
        per_layer[layer.name] = counts
    raise AssertionError("a validated network ends with a readout")
