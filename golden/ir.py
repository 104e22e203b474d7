"""The integer network (IR): the only bridge between golden, hdl_gen and sim.

Everything in it is an integer. A network is a window length ``timesteps`` (T), an input
encoder (pixel thresholds per input channel) and a chain of layers:

- :class:`Dense`  ``[out_features, in_features]`` weights;
- :class:`Conv2d` ``[out_channels, in_channels / groups, kh, kw]`` weights, with stride,
  padding and groups (average pooling is a depthwise conv with constant weights);
- :class:`Flatten` (C, H, W order).

Hidden layers have neuron ``"if"`` or ``"asg"`` and an integer threshold per output
channel; the last layer is the readout (neuron ``"none"``, no threshold). Each weighted
layer records ``weight_width`` (signed bits of every weight) and ``membrane_width`` (signed
bits of every state register, see :mod:`.widths`); validation proves both.

Objects are frozen; their arrays are int64 copies marked read-only. Construction validates
everything and raises :class:`~.errors.IRError`, :class:`~.errors.WidthError`,
``TypeError`` or ``ValueError`` naming what is wrong.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
from dataclasses import dataclass, field
from typing import Union

import numpy as np

from .errors import IRError, WidthError
from .widths import (MAX_STATE_WIDTH, MAX_WEIGHT_WIDTH, fits_signed, signed_width,
                     state_bounds)

__all__ = ["Neuron", "InputChannel", "InputSpec", "Dense", "Conv2d", "Flatten", "Layer",
           "Network", "PIXEL_THRESHOLD_NEVER", "check_layer_name"]

#: A pixel threshold that no uint8 pixel reaches: that spike never fires.
PIXEL_THRESHOLD_NEVER = 256


def check_layer_name(name) -> None:
    """A layer name is an ASCII identifier: it names the layer's arrays in weights.npz and
    its signals in the Verilog."""
    if not isinstance(name, str) or not (name.isascii() and name.isidentifier()):
        raise ValueError(f"layer name {name!r} is not an identifier of ASCII letters, digits "
                         f"and underscores (not starting with a digit), as the arrays in "
                         f"weights.npz and the Verilog names need")


class Neuron(enum.Enum):
    """The neuron model of a layer."""
    IF = "if"
    ASG = "asg"
    NONE = "none"


def _int_array(value, what: str, shape: tuple) -> np.ndarray:
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{what} must be a numpy integer array, not {type(value).__name__}")
    if not np.issubdtype(value.dtype, np.integer) or value.dtype == np.bool_:
        raise TypeError(f"{what} must be an integer array, not dtype {value.dtype}")
    if value.shape != tuple(shape):
        raise ValueError(f"{what} must have shape {tuple(shape)}, not {value.shape}")
    if value.dtype == np.uint64 and value.size and int(value.max()) > np.iinfo(np.int64).max:
        raise WidthError(f"{what} holds {int(value.max())}, beyond the 64-bit signed integers "
                         f"the IR holds")
    array = value.astype(np.int64, copy=True)
    array.setflags(write=False)
    return array


def _positive_int(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{what} must be an integer, not {value!r}")
    if value < 1:
        raise ValueError(f"{what} must be a positive integer, not {value!r}")
    return int(value)


def _pair(value, what: str, minimum: int) -> tuple[int, int]:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (value, value)
    if (not isinstance(value, (tuple, list)) or len(value) != 2
            or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                       for v in value)):
        raise TypeError(f"{what} must be an integer or a pair of integers, not {value!r}")
    if min(value) < minimum:
        raise ValueError(f"{what} must be at least {minimum}, not {tuple(value)!r}")
    return (int(value[0]), int(value[1]))


@dataclass(frozen=True, eq=False)
class InputChannel:
    """One encoded input channel: a source pixel channel and T pixel thresholds.

    Its spike count for a pixel ``p`` is ``n = #{j : p >= thresholds[j]}``; a threshold of
    256 is never reached.
    """
    source: int
    thresholds: tuple[int, ...]

    def __post_init__(self):
        if isinstance(self.source, bool) or not isinstance(self.source, (int, np.integer)):
            raise TypeError(f"input channel source must be an integer, not {self.source!r}")
        thresholds = tuple(self.thresholds)
        for value in thresholds:
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise TypeError(f"pixel thresholds must be integers, not {value!r}")
            if not 0 <= value <= PIXEL_THRESHOLD_NEVER:
                raise ValueError(f"pixel thresholds must be in [0, 256], not {value!r}")
        if any(a > b for a, b in zip(thresholds, thresholds[1:])):
            raise ValueError(f"pixel thresholds must be non-decreasing, not {list(thresholds)!r}")
        object.__setattr__(self, "source", int(self.source))
        object.__setattr__(self, "thresholds", tuple(int(v) for v in thresholds))


@dataclass(frozen=True, eq=False)
class InputSpec:
    """The input encoder: pixel image shape ``(C, H, W)`` and the encoded channels."""
    shape: tuple[int, int, int]
    channels: tuple[InputChannel, ...]

    def __post_init__(self):
        shape = tuple(self.shape)
        if len(shape) != 3:
            raise ValueError(f"input shape must be [C, H, W], not {list(shape)!r}")
        for i, v in enumerate(shape):
            _positive_int(v, f"input shape[{i}]")
        channels = tuple(self.channels)
        if not channels:
            raise ValueError("input must have at least one encoded channel")
        for i, ch in enumerate(channels):
            if not isinstance(ch, InputChannel):
                raise TypeError(f"input channel {i} must be an InputChannel, not {ch!r}")
            if not 0 <= ch.source < shape[0]:
                raise ValueError(f"input channel {i} has source {ch.source}; it must be in "
                                 f"[0, {shape[0] - 1}] for an image of {shape[0]} channels")
        object.__setattr__(self, "shape", tuple(int(v) for v in shape))
        object.__setattr__(self, "channels", channels)

    @property
    def encoded_shape(self) -> tuple[int, int, int]:
        """The shape ``(channels, H, W)`` of the input spikes."""
        return (len(self.channels), self.shape[1], self.shape[2])

    def threshold_array(self) -> np.ndarray:
        """Return the thresholds as an int64 array ``[channels, T]``."""
        return np.array([ch.thresholds for ch in self.channels], dtype=np.int64)

    def source_array(self) -> np.ndarray:
        return np.array([ch.source for ch in self.channels], dtype=np.int64)


@dataclass(frozen=True, eq=False)
class _Weighted:
    """Fields shared by dense and conv layers (see the subclasses)."""

    def _check_common(self, weight_shape):
        check_layer_name(self.name)
        try:
            neuron = Neuron(self.neuron.value if isinstance(self.neuron, Neuron)
                            else self.neuron)
        except ValueError:
            raise ValueError(f"neuron of layer {self.name!r} must be one of 'if', 'asg', "
                             f"'none', not {self.neuron!r}") from None
        object.__setattr__(self, "neuron", neuron)
        out = weight_shape[0]
        object.__setattr__(self, "weight",
                           _int_array(self.weight, f"weight of layer {self.name!r}", weight_shape))
        object.__setattr__(self, "bias",
                           _int_array(self.bias, f"bias of layer {self.name!r}", (out,)))
        if neuron is Neuron.NONE:
            if self.threshold is not None:
                raise ValueError(f"readout layer {self.name!r} must have no threshold")
        else:
            if self.threshold is None:
                raise ValueError(f"layer {self.name!r} with neuron {neuron.value!r} needs "
                                 f"a threshold per output channel")
            threshold = _int_array(self.threshold, f"threshold of layer {self.name!r}", (out,))
            if threshold.min() < 1:
                raise ValueError(f"thresholds of layer {self.name!r} must be positive, "
                                 f"not {int(threshold.min())}")
            object.__setattr__(self, "threshold", threshold)
        needed = signed_width(int(self.weight.min(initial=0)), int(self.weight.max(initial=0)))
        if needed > MAX_WEIGHT_WIDTH:
            raise WidthError(f"weights of layer {self.name!r} span [{int(self.weight.min())}, "
                             f"{int(self.weight.max())}], which needs {needed} bits; at most "
                             f"{MAX_WEIGHT_WIDTH} bits are supported")
        if self.weight_width is None:
            object.__setattr__(self, "weight_width", needed)
        else:
            _positive_int(self.weight_width, f"weight_width of layer {self.name!r}")
            if self.weight_width > MAX_WEIGHT_WIDTH:
                raise WidthError(f"weight_width of layer {self.name!r} is {self.weight_width}; "
                                 f"at most {MAX_WEIGHT_WIDTH} bits are supported (its weights "
                                 f"need {needed})")
            if not fits_signed(self.weight, self.weight_width):
                raise WidthError(
                    f"weights of layer {self.name!r} span [{int(self.weight.min())}, "
                    f"{int(self.weight.max())}], which does not fit weight_width "
                    f"{self.weight_width} (signed); it needs {needed} bits")
        if self.membrane_width is not None:
            _positive_int(self.membrane_width, f"membrane_width of layer {self.name!r}")
            if self.membrane_width > MAX_STATE_WIDTH:
                raise WidthError(f"membrane_width of layer {self.name!r} is "
                                 f"{self.membrane_width}; at most {MAX_STATE_WIDTH} bits are "
                                 f"supported")

    @property
    def weight_rows(self) -> np.ndarray:
        """The weights as ``[out, fan_in]``."""
        return self.weight.reshape(self.weight.shape[0], -1)

    def state_range(self, timesteps: int) -> tuple[int, int]:
        """The static ``(lo, hi)`` range of every state register of this layer."""
        return state_bounds(self.weight_rows, self.bias, self.threshold, self.neuron.value,
                            timesteps)


@dataclass(frozen=True, eq=False)
class Dense(_Weighted):
    """A fully connected layer: ``I_j(t) = sum_i W[j, i] s_i(t) + b_j``."""
    name: str
    in_features: int
    out_features: int
    neuron: Neuron
    weight: np.ndarray
    bias: np.ndarray
    threshold: np.ndarray | None = None
    weight_width: int | None = None
    membrane_width: int | None = None
    kind = "dense"

    def __post_init__(self):
        _positive_int(self.in_features, f"in_features of layer {self.name!r}")
        _positive_int(self.out_features, f"out_features of layer {self.name!r}")
        self._check_common((self.out_features, self.in_features))

    def output_shape(self, input_shape: tuple) -> tuple:
        if tuple(input_shape) != (self.in_features,):
            raise IRError(f"layer {self.name!r} expects input shape ({self.in_features},), "
                          f"not {tuple(input_shape)}")
        return (self.out_features,)


@dataclass(frozen=True, eq=False)
class Conv2d(_Weighted):
    """A 2-D convolution: ``I_o(y, x, t) = sum W[o, c, i, j] s_{g(o)c}(sy*y+i-py, sx*x+j-px, t)
    + b_o`` over the input channels of the group of ``o``."""
    name: str
    in_channels: int
    out_channels: int
    kernel_size: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    groups: int
    neuron: Neuron
    weight: np.ndarray
    bias: np.ndarray
    threshold: np.ndarray | None = None
    weight_width: int | None = None
    membrane_width: int | None = None
    kind = "conv2d"

    def __post_init__(self):
        _positive_int(self.in_channels, f"in_channels of layer {self.name!r}")
        _positive_int(self.out_channels, f"out_channels of layer {self.name!r}")
        _positive_int(self.groups, f"groups of layer {self.name!r}")
        object.__setattr__(self, "kernel_size",
                           _pair(self.kernel_size, f"kernel_size of layer {self.name!r}", 1))
        object.__setattr__(self, "stride", _pair(self.stride, f"stride of layer {self.name!r}", 1))
        object.__setattr__(self, "padding",
                           _pair(self.padding, f"padding of layer {self.name!r}", 0))
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise ValueError(f"groups of layer {self.name!r} must divide in_channels "
                             f"({self.in_channels}) and out_channels ({self.out_channels}), "
                             f"not {self.groups}")
        self._check_common((self.out_channels, self.in_channels // self.groups,
                            *self.kernel_size))

    def output_shape(self, input_shape: tuple) -> tuple:
        if len(input_shape) != 3 or input_shape[0] != self.in_channels:
            raise IRError(f"layer {self.name!r} expects input shape ({self.in_channels}, H, W), "
                          f"not {tuple(input_shape)}")
        _, h, w = input_shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
        if oh < 1 or ow < 1:
            raise IRError(f"layer {self.name!r}: kernel {self.kernel_size} with padding "
                          f"{self.padding} does not fit input {tuple(input_shape)}")
        return (self.out_channels, oh, ow)


@dataclass(frozen=True, eq=False)
class Flatten:
    """Flatten ``(C, H, W)`` spikes to ``C*H*W`` features in C, H, W order."""
    name: str
    kind = "flatten"

    def __post_init__(self):
        check_layer_name(self.name)

    def output_shape(self, input_shape: tuple) -> tuple:
        return (int(np.prod(input_shape)),)


Layer = Union[Dense, Conv2d, Flatten]


@dataclass(frozen=True, eq=False)
class Network:
    """A whole integer network: window length, input encoder and layers.

    A weighted layer whose ``membrane_width`` is ``None`` gets the smallest width that the
    static bound allows; a given width must be at least that.
    """
    timesteps: int
    input: InputSpec
    layers: tuple[Layer, ...]
    metadata: dict = field(default_factory=dict)

    def __post_init__(self):
        _positive_int(self.timesteps, "timesteps")
        object.__setattr__(self, "timesteps", int(self.timesteps))
        if not isinstance(self.input, InputSpec):
            raise TypeError(f"input must be an InputSpec, not {self.input!r}")
        for i, ch in enumerate(self.input.channels):
            if len(ch.thresholds) != self.timesteps:
                raise IRError(f"input channel {i} has {len(ch.thresholds)} pixel thresholds; "
                              f"it must have timesteps = {self.timesteps}")
        layers = tuple(self.layers)
        if not layers:
            raise IRError("a network needs at least one layer (the readout)")
        names = [getattr(layer, "name", None) for layer in layers]
        for i, layer in enumerate(layers):
            if not isinstance(layer, (Dense, Conv2d, Flatten)):
                raise TypeError(f"layer {i} must be a Dense, Conv2d or Flatten, "
                                f"not {type(layer).__name__}")
            if names.count(layer.name) > 1 or layer.name == "input":
                raise IRError(f"layer name {layer.name!r} is used twice or reserved")
        for i, layer in enumerate(layers):
            last = i == len(layers) - 1
            if isinstance(layer, Flatten):
                if last:
                    raise IRError("the last layer must be the readout, not a flatten")
                continue
            if last and layer.neuron is not Neuron.NONE:
                raise IRError(f"the last layer {layer.name!r} must be the readout (neuron "
                              f"'none'), not {layer.neuron.value!r}")
            if not last and layer.neuron is Neuron.NONE:
                raise IRError(f"only the last layer may be a readout; layer {layer.name!r} "
                              f"has neuron 'none'")
        shape = self.input.encoded_shape
        shapes = []
        for layer in layers:
            out = layer.output_shape(shape)
            shapes.append((tuple(shape), tuple(out)))
            shape = out
        object.__setattr__(self, "_shapes", tuple(shapes))
        layers = tuple(self._checked_width(layer) for layer in layers)
        object.__setattr__(self, "layers", layers)
        object.__setattr__(self, "metadata", json.loads(json.dumps(dict(self.metadata))))

    def _checked_width(self, layer):
        if isinstance(layer, Flatten):
            return layer
        lo, hi = layer.state_range(self.timesteps)
        needed = signed_width(lo, hi)
        if needed > MAX_STATE_WIDTH:
            raise WidthError(f"the state of layer {layer.name!r} can reach [{lo}, {hi}], which "
                             f"needs {needed} bits; at most {MAX_STATE_WIDTH} bits are "
                             f"supported (it needs smaller weights, biases or thresholds)")
        if layer.membrane_width is None:
            return dataclasses.replace(layer, membrane_width=needed)
        if layer.membrane_width < needed:
            raise WidthError(f"membrane_width of layer {layer.name!r} is {layer.membrane_width}, "
                             f"but its state can reach [{lo}, {hi}], which needs {needed} bits")
        return layer

    # Derived facts -------------------------------------------------------------------

    def layer_shapes(self, index: int) -> tuple[tuple, tuple]:
        """The ``(input shape, output shape)`` of layer ``index``."""
        return self._shapes[index]

    @property
    def weighted_layers(self) -> list:
        return [layer for layer in self.layers if not isinstance(layer, Flatten)]

    @property
    def readout(self):
        return self.layers[-1]

    @property
    def num_classes(self) -> int:
        return self._shapes[-1][1][0]

    def windows(self) -> list[int]:
        """The window index in which each layer receives its input spikes.

        Input spikes occupy window 0 (steps ``0 .. T-1``); an ASG layer emits its spikes
        one window after it receives its inputs; IF and flatten emit in the same window.
        """
        result, window = [], 0
        for layer in self.layers:
            result.append(window)
            if getattr(layer, "neuron", None) is Neuron.ASG:
                window += 1
        return result

    @property
    def total_timesteps(self) -> int:
        """Time steps from the first input spike to the last readout step."""
        return (self.windows()[-1] + 1) * self.timesteps

    def to_json(self) -> dict:
        """The ``network.json`` document (arrays go to ``weights.npz``)."""
        layers = []
        for layer in self.layers:
            entry = {"name": layer.name, "kind": layer.kind}
            if isinstance(layer, Dense):
                entry.update(in_features=layer.in_features, out_features=layer.out_features)
            elif isinstance(layer, Conv2d):
                entry.update(in_channels=layer.in_channels, out_channels=layer.out_channels,
                             kernel_size=list(layer.kernel_size), stride=list(layer.stride),
                             padding=list(layer.padding), groups=layer.groups)
            if not isinstance(layer, Flatten):
                entry.update(neuron=layer.neuron.value, weight_width=layer.weight_width,
                             membrane_width=layer.membrane_width)
            layers.append(entry)
        return {
            "format": "spikewright-ir",
            "format_version": 1,
            "timesteps": self.timesteps,
            "input": {"shape": list(self.input.shape),
                      "channels": [{"source": ch.source, "thresholds": list(ch.thresholds)}
                                   for ch in self.input.channels]},
            "layers": layers,
            "metadata": self.metadata,
        }

    def arrays(self) -> dict[str, np.ndarray]:
        """The ``weights.npz`` arrays, by name."""
        result = {}
        for layer in self.weighted_layers:
            result[f"{layer.name}.weight"] = layer.weight
            result[f"{layer.name}.bias"] = layer.bias
            if layer.threshold is not None:
                result[f"{layer.name}.threshold"] = layer.threshold
        return result

    def digest(self) -> str:
        """A SHA-256 over the structure and every array (metadata excluded)."""
        doc = self.to_json()
        doc.pop("metadata")
        h = hashlib.sha256(json.dumps(doc, sort_keys=True).encode())
        for name, array in sorted(self.arrays().items()):
            h.update(name.encode())
            h.update(np.ascontiguousarray(array, dtype="<i8").tobytes())
        return h.hexdigest()
