"""Seeded random integer networks, for property tests and random-network regression."""

from __future__ import annotations

import numpy as np

from .ir import Conv2d, Dense, Flatten, InputChannel, InputSpec, Network

__all__ = ["random_input_spec", "random_dense_network", "random_conv_network", "random_pixels"]


def random_input_spec(rng: np.random.Generator, shape, timesteps: int, channels: int | None = None):
    """Random sorted pixel thresholds (256 = never) for ``channels`` encoded channels."""
    channels = channels or shape[0]
    spec = []
    for c in range(channels):
        thresholds = np.sort(rng.integers(0, 257, size=timesteps))
        spec.append(InputChannel(int(c % shape[0]), tuple(int(v) for v in thresholds)))
    return InputSpec(tuple(shape), tuple(spec))


def _weights(rng, shape, weight_width):
    limit = 1 << (weight_width - 1)
    return rng.integers(-limit, limit, size=shape, dtype=np.int64)


def _hidden(rng, out, fan_in, weight_width, timesteps):
    limit = 1 << (weight_width - 1)
    bias = rng.integers(-limit, limit, size=out, dtype=np.int64)
    typical = max(1, int(np.sqrt(fan_in) * limit / 2))
    threshold = rng.integers(1, typical + 1, size=out, dtype=np.int64)
    return bias, threshold


def _readout(rng, features, classes, weight_width):
    limit = 1 << (weight_width - 1)
    return Dense(name="readout", in_features=features, out_features=classes, neuron="none",
                 weight=_weights(rng, (classes, features), weight_width),
                 bias=rng.integers(-limit, limit, size=classes, dtype=np.int64),
                 weight_width=weight_width)


def _neuron(rng, neuron):
    return str(rng.choice(["if", "asg"])) if neuron == "mixed" else neuron


def random_dense_network(rng: np.random.Generator, *, timesteps: int | None = None,
                         neuron: str = "mixed", depth: int | None = None,
                         max_width: int = 24, weight_width: int | None = None) -> Network:
    """A dense network on a small random image: random widths, weights, thresholds, T."""
    timesteps = timesteps or int(rng.integers(1, 9))
    depth = depth if depth is not None else int(rng.integers(1, 4))
    weight_width = weight_width or int(rng.integers(2, 9))
    shape = (int(rng.integers(1, 3)), int(rng.integers(2, 5)), int(rng.integers(2, 5)))
    spec = random_input_spec(rng, shape, timesteps, int(rng.integers(1, 4)))
    features = int(np.prod(spec.encoded_shape))
    layers = [Flatten("flatten")]
    for i in range(depth):
        out = int(rng.integers(1, max_width + 1))
        bias, threshold = _hidden(rng, out, features, weight_width, timesteps)
        layers.append(Dense(name=f"fc{i + 1}", in_features=features, out_features=out,
                            neuron=_neuron(rng, neuron),
                            weight=_weights(rng, (out, features), weight_width),
                            bias=bias, threshold=threshold, weight_width=weight_width))
        features = out
    classes = int(rng.integers(2, 11))
    layers.append(_readout(rng, features, classes, weight_width))
    return Network(timesteps=timesteps, input=spec, layers=tuple(layers))


def random_conv_network(rng: np.random.Generator, *, timesteps: int | None = None,
                        neuron: str = "mixed", weight_width: int | None = None,
                        depthwise: bool = True, depth: int | None = None) -> Network:
    """Conv layers (``depth``, else 1 or 2; kernel 1-5, stride 1-2, padding 0-1, groups 1 or,
    where ``depthwise``, depthwise), flatten, readout, on a small random image."""
    timesteps = timesteps or int(rng.integers(1, 5))
    weight_width = weight_width or int(rng.integers(2, 9))
    size = int(rng.integers(5, 10))
    spec = random_input_spec(rng, (int(rng.integers(1, 3)), size, size), timesteps,
                             int(rng.integers(1, 4)))
    shape = spec.encoded_shape
    layers = []
    for i in range(depth or int(rng.integers(1, 3))):
        channels, h, w = shape
        kernel = int(rng.integers(1, min(5, h, w) + 1))
        stride, padding = int(rng.integers(1, 3)), int(rng.integers(0, 2))
        grouped = depthwise and bool(rng.integers(0, 2))
        out = channels if grouped else int(rng.integers(1, 5))
        groups = channels if grouped else 1
        fan_in = (channels // groups) * kernel * kernel
        bias, threshold = _hidden(rng, out, fan_in, weight_width, timesteps)
        layer = Conv2d(name=f"conv{i + 1}", in_channels=channels, out_channels=out,
                       kernel_size=kernel, stride=stride, padding=padding, groups=groups,
                       neuron=_neuron(rng, neuron),
                       weight=_weights(rng, (out, channels // groups, kernel, kernel),
                                       weight_width),
                       bias=bias, threshold=threshold, weight_width=weight_width)
        layers.append(layer)
        shape = layer.output_shape(shape)
    layers.append(Flatten("flatten"))
    features = int(np.prod(shape))
    classes = int(rng.integers(2, 6))
    layers.append(_readout(rng, features, classes, weight_width))
    return Network(timesteps=timesteps, input=spec, layers=tuple(layers))


def random_pixels(rng: np.random.Generator, network: Network, count: int) -> np.ndarray:
    """Random uint8 images for ``network`` (a mix of uniform noise and saturated pixels)."""
    shape = (count, *network.input.shape)
    pixels = rng.integers(0, 256, size=shape, dtype=np.uint8)
    saturated = rng.random(shape) < 0.3
    pixels[saturated] = rng.choice(np.array([0, 255], dtype=np.uint8), size=int(saturated.sum()))
    return pixels
