"""The hardware view of an IR: per-layer geometry, packed memory contents, the schedule.

Everything the cores, the top, the cycle model and the manifest need is derived here, once,
from the IR and the :class:`~.config.HwConfig`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spikeforge.golden.ir import Dense, Flatten, Network, Neuron

from .config import TARGETS, HwConfig
from .errors import CapacityError, UnsupportedLayerError

__all__ = ["EncoderPlan", "DenseLayerPlan", "ScheduleEntry", "NetworkPlan", "make_plan"]


def _bits(count: int) -> int:
    """Bits of an unsigned counter that holds ``0 .. count``."""
    return max(1, int(count).bit_length())


def _pack(values: np.ndarray, width: int) -> list[int]:
    """Pack rows of signed integers into unsigned words, lane 0 in the low bits."""
    mask = (1 << width) - 1
    words = []
    for row in values:
        word = 0
        for lane, value in enumerate(row):
            word |= (int(value) & mask) << (lane * width)
        words.append(word)
    return words


@dataclass(frozen=True)
class EncoderPlan:
    """Pixels ``(C, H, W)`` in C, H, W order to input events per step.

    ``channels_of_source[c]`` lists the encoded channels of pixel channel ``c``; the encoded
    neuron ``(e, y, x)`` has address ``e*H*W + y*W + x``.
    """
    pixel_shape: tuple
    thresholds: tuple  # [encoded channel][T]
    channels_of_source: tuple
    timesteps: int

    @property
    def positions(self) -> int:
        return self.pixel_shape[1] * self.pixel_shape[2]

    @property
    def inputs(self) -> int:
        return len(self.thresholds) * self.positions

    @property
    def cycles(self) -> int:
        """Cycles to take in one image with no gaps: one per encoded channel of each pixel
        (at least one per pixel)."""
        return self.positions * sum(max(1, len(chs)) for chs in self.channels_of_source)


@dataclass(frozen=True)
class DenseLayerPlan:
    """One dense layer as ``groups`` groups of ``lanes`` neurons.

    Weight word ``g * in_features + i`` holds ``W[g*lanes + p, i]`` in lane ``p``; padding
    lanes (beyond ``out_features``) hold weight 0, bias 0 and threshold 1, so they never
    spike. ASG thresholds are stored as ``T * theta`` (the regenerator compares against it).
    """
    index: int
    name: str
    neuron: Neuron
    in_features: int
    out_features: int
    lanes: int
    weight_width: int
    state_width: int
    timesteps: int
    weight_words: tuple
    bias_words: tuple
    threshold_words: tuple
    input_window: int

    @property
    def groups(self) -> int:
        return -(-self.out_features // self.lanes)

    @property
    def weight_bits(self) -> int:
        return len(self.weight_words) * self.lanes * self.weight_width

    @property
    def address_width(self) -> int:
        return _bits(max(self.in_features - 1, 1))


@dataclass(frozen=True)
class ScheduleEntry:
    """One layer-step: ``layer`` runs at global step ``step`` in ``phase`` 0 (integrate the
    input events of local step ``local_step``) or 1 (ASG regeneration); ``first`` marks the
    first step of that phase's window, where the stored state counts as zero."""
    step: int
    layer: int
    phase: int
    first: bool
    local_step: int


@dataclass(frozen=True)
class NetworkPlan:
    network: Network
    config: HwConfig
    encoder: EncoderPlan
    layers: tuple
    schedule: tuple

    @property
    def classes(self) -> int:
        return self.layers[-1].out_features

    @property
    def logit_width(self) -> int:
        return self.layers[-1].state_width

    @property
    def class_width(self) -> int:
        return _bits(max(self.classes - 1, 1))

    @property
    def weight_bits(self) -> int:
        return sum(layer.weight_bits for layer in self.layers)


def _layer_plan(index, layer: Dense, lanes, timesteps, window) -> DenseLayerPlan:
    groups = -(-layer.out_features // lanes)
    padded = groups * lanes
    weight = np.zeros((padded, layer.in_features), dtype=np.int64)
    weight[:layer.out_features] = layer.weight
    bias = np.zeros(padded, dtype=np.int64)
    bias[:layer.out_features] = layer.bias
    threshold = np.ones(padded, dtype=np.int64)
    if layer.threshold is not None:
        scale = timesteps if layer.neuron is Neuron.ASG else 1
        threshold[:layer.out_features] = layer.threshold * scale
    # rows of the weight memory: group-major, then input index
    rows = weight.reshape(groups, lanes, layer.in_features).transpose(0, 2, 1)
    rows = rows.reshape(groups * layer.in_features, lanes)
    return DenseLayerPlan(
        index=index, name=layer.name, neuron=layer.neuron, in_features=layer.in_features,
        out_features=layer.out_features, lanes=lanes, weight_width=layer.weight_width,
        state_width=layer.membrane_width, timesteps=timesteps,
        weight_words=tuple(_pack(rows, layer.weight_width)),
        bias_words=tuple(_pack(bias.reshape(groups, lanes), layer.membrane_width)),
        threshold_words=tuple(_pack(threshold.reshape(groups, lanes), layer.membrane_width)),
        input_window=window)


def _schedule(layers, timesteps) -> tuple:
    entries = []
    last_window = max(l.input_window + (l.neuron is Neuron.ASG) for l in layers)
    for step in range((last_window + 1) * timesteps):
        window, local = divmod(step, timesteps)
        for layer in layers:
            if window == layer.input_window:
                entries.append(ScheduleEntry(step, layer.index, 0, local == 0, local))
            elif layer.neuron is Neuron.ASG and window == layer.input_window + 1:
                entries.append(ScheduleEntry(step, layer.index, 1, local == 0, local))
    return tuple(entries)


def make_plan(network: Network, config: HwConfig | None = None) -> NetworkPlan:
    """Derive the hardware plan; refuse what the generator cannot build."""
    config = config or HwConfig()
    if not isinstance(network, Network):
        raise TypeError(f"network must be a spikeforge.golden.Network, not {network!r}")
    if not isinstance(config, HwConfig):
        raise TypeError(f"config must be a HwConfig, not {config!r}")
    spec = network.input
    channels_of_source = tuple(
        tuple(e for e, ch in enumerate(spec.channels) if ch.source == c)
        for c in range(spec.shape[0]))
    encoder = EncoderPlan(spec.shape, tuple(ch.thresholds for ch in spec.channels),
                          channels_of_source, network.timesteps)
    layers, windows = [], network.windows()
    for layer, window in zip(network.layers, windows):
        if isinstance(layer, Flatten):
            continue
        if not isinstance(layer, Dense):
            raise UnsupportedLayerError(
                f"layer {layer.name!r} is a {layer.kind}; the hardware generator supports "
                f"dense layers (and flatten) only, until convolution is supported")
        lanes = config.lanes_for(layer.name, layer.out_features)
        layers.append(_layer_plan(len(layers), layer, lanes, network.timesteps, window))
    target = TARGETS[config.target]
    bits = sum(layer.weight_bits for layer in layers)
    if bits > target.block_ram_bits:
        detail = ", ".join(f"{l.name} {l.weight_bits}" for l in layers)
        raise CapacityError(
            f"the weights need {bits} bits of memory ({detail}), but {target.name} has "
            f"{target.block_ram_bits} bits of block RAM; use fewer weight bits "
            f"(`spikeforge convert --weight-width`), a smaller network or a larger target")
    return NetworkPlan(network, config, encoder, tuple(layers),
                       _schedule(layers, network.timesteps))
