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


def _pooling(rng, name, channels, h, w, neuron, timesteps) -> Conv2d:
    """Average pooling as the converter writes it (:func:`.convert._pool_layer`): a
    depthwise conv of weights 1, stride = kernel, bias 0, threshold a random share of the
    window."""
    kernel = int(rng.integers(2, min(3, h, w) + 1))
    threshold = rng.integers(1, kernel * kernel + 1, size=channels, dtype=np.int64)
    return Conv2d(name=name, in_channels=channels, out_channels=channels, kernel_size=kernel,
                  stride=kernel, padding=0, groups=channels, neuron=_neuron(rng, neuron),
                  weight=np.ones((channels, 1, kernel, kernel), dtype=np.int64),
                  bias=np.zeros(channels, dtype=np.int64), threshold=threshold,
                  weight_width=2)


def random_conv_network(rng: np.random.Generator, *, timesteps: int | None = None,
                        neuron: str = "mixed", weight_width: int | None = None,
                        depthwise: bool = True, depth: int | None = None,
                        grouped: bool = False, pooling: bool = False) -> Network:
    """Conv layers (``depth``, else 1 or 2; kernel 1-5, stride 1-2, padding 0-1, groups 1 or,
    where ``depthwise``, depthwise, or where ``grouped`` any divisor of the input channels),
    flatten, readout, on a small random image; where ``pooling``, each layer may be an
    average pooling instead (:func:`_pooling`)."""
    timesteps = timesteps or int(rng.integers(1, 5))
    weight_width = weight_width or int(rng.integers(2, 9))
    size = int(rng.integers(5, 10))
    spec = random_input_spec(rng, (int(rng.integers(1, 3)), size, size), timesteps,
                             int(rng.integers(1, 4)))
    shape = spec.encoded_shape
    layers = []
    for i in range(depth or int(rng.integers(1, 3))):
        channels, h, w = shape
        if pooling and min(h, w) >= 2 and rng.random() < 0.4:
            layer = _pooling(rng, f"pool{i + 1}", channels, h, w, neuron, timesteps)
            layers.append(layer)
            shape = layer.output_shape(shape)
            continue
        kernel = int(rng.integers(1, min(5, h, w) + 1))
        stride, padding = int(rng.integers(1, 3)), int(rng.integers(0, 2))
        grouped_here = depthwise and bool(rng.integers(0, 2))
        out = channels if grouped_here else int(rng.integers(1, 5))
        groups = channels if grouped_here else 1
        if grouped and not grouped_here:
            groups = int(rng.choice([d for d in range(1, channels + 1) if channels % d == 0]))
            out = groups * int(rng.integers(1, 3))
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
