"""Channel-wise threshold training (CTT) of IF thresholds, forward only.

For each IF layer in order, with its input spikes taken from the network as deployed
(earlier layers already calibrated), the per-channel threshold is moved until the IF spike
count matches the ASG count of the same input (Yan, Zhou & Wong)::

    theta_c <- theta_c - eta * theta0_c * (count_ASG_c - count_IF_c) / (N * H * W * T)

``theta0_c`` is the converted threshold (the ASG reference keeps it); the calibrated value
is rounded to a positive integer. At T = 1, IF and ASG are the same neuron: nothing moves.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from . import encoding, neurons, synapses
from .ir import Flatten, Network, Neuron

__all__ = ["calibrate"]


def _layer_inputs(network: Network, layers, spikes):
    """Propagate spikes ``[T, N, ...]`` through ``layers`` (IF only)."""
    timesteps, n = spikes.shape[:2]
    for layer in layers:
        index = network.layers.index(layer)
        _, out_shape = network.layer_shapes(index)
        if isinstance(layer, Flatten):
            spikes = spikes.reshape(timesteps, n, *out_shape)
            continue
        in_shape = network.layer_shapes(index)[0]
        current = synapses.currents(layer, spikes.reshape(timesteps * n, *in_shape))
        current = current.reshape(timesteps, n, *out_shape)
        threshold = layer.threshold.reshape(-1, *([1] * (len(out_shape) - 1)))
        spikes = neurons.if_window(current, threshold)
    return spikes


def calibrate(network: Network, pixels: np.ndarray, *, epochs: int = 3, batch_size: int = 100,
              eta: float = 1.0, progress=None) -> Network:
    """Return ``network`` with the thresholds of its IF layers calibrated on ``pixels``."""
    timesteps = network.timesteps
    if timesteps == 1:
        return network
    layers = list(network.layers)
    counts = encoding.input_counts(network.input, pixels)
    inputs = encoding.input_spike_train(counts, timesteps)
    for index, layer in enumerate(network.layers):
        if isinstance(layer, Flatten) or layer.neuron is not Neuron.IF:
            continue
        current_net = dataclasses.replace(network, layers=tuple(layers))
        prefix = [current_net.layers[i] for i in range(index)]
        in_shape, out_shape = network.layer_shapes(index)
        theta0 = layer.threshold.astype(np.float64)
        theta = theta0.copy()
        view = (-1,) + (1,) * (len(out_shape) - 1)
        per_channel = int(np.prod(out_shape[1:])) if len(out_shape) > 1 else 1
        for _ in range(epochs):
            for start in range(0, len(pixels), batch_size):
                spikes = _layer_inputs(current_net, prefix, inputs[:, start:start + batch_size])
                n = spikes.shape[1]
                current = synapses.currents(layer, spikes.reshape(timesteps * n, *in_shape))
                current = current.reshape(timesteps, n, *out_shape)
                total = current.sum(axis=0)
                asg = np.clip(np.floor_divide(total, layer.threshold.reshape(view)), 0, timesteps)
                rounded = np.maximum(np.rint(theta), 1).astype(np.int64)
                fired = neurons.if_window(current, rounded.reshape(view))
                axes = tuple(i for i in range(fired.ndim) if i != 2)
                diff = asg.sum(axis=tuple(i for i in range(asg.ndim) if i != 1)) \
                    - fired.sum(axis=axes)
                theta -= eta * theta0 * diff / (n * per_channel * timesteps)
                theta = np.maximum(theta, 1.0)
                if progress is not None:
                    progress(layer.name)
        calibrated = np.maximum(np.rint(theta), 1).astype(np.int64)
        layers[index] = dataclasses.replace(layer, threshold=calibrated, membrane_width=None)
    return dataclasses.replace(network, layers=tuple(layers))
