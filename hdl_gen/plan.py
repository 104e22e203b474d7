"""The hardware view of an IR: per-layer geometry and packed memory contents, and the
dataflow design's stage plans (:mod:`.stream_plan`).

Everything the stages, the top, the stream model and the manifest need is derived here, once,
from the IR and the :class:`~.config.HwConfig`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spikewright.golden.ir import Conv2d, Flatten, Network, Neuron

from .config import HwConfig, MemoryStyle
from .parts import TARGETS
from .errors import CapacityError, UnsupportedLayerError
from .spram import left_out, spram_layouts
from .stream_plan import SCAN_WIDTH, make_stream_plan, pack_words
from .word_scan import WordScan, word_scan_of

__all__ = ["EncoderPlan", "DenseLayerPlan", "ConvLayerPlan", "NetworkPlan", "make_plan"]


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


@dataclass(frozen=True)
class DenseLayerPlan:
    """One dense layer as ``groups`` groups of ``lanes`` neurons.

    Weight word ``g * scan_inputs + i`` holds ``W[g*lanes + p, i]`` in lane ``p``, where a
    conv layer feeds it (``word_scan``) ``W[g*lanes + p, order[i]]`` in the order its stage
    scans the conv's words (:meth:`.word_scan.WordScan.order`; 0 for padding); padding lanes
    (beyond ``out_features``) hold weight 0, bias 0 and threshold 1, so they never spike.
    ASG thresholds are stored as ``T * theta`` (the regenerator compares against it).
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
    word_scan: WordScan | None = None
    kind = "dense"

    @property
    def scan_inputs(self) -> int:
        """Input indices of one step as its stage scans them (weight words per group)."""
        return self.in_features if self.word_scan is None else self.word_scan.inputs

    @property
    def groups(self) -> int:
        return -(-self.out_features // self.lanes)

    @property
    def neurons(self) -> int:
        return self.out_features

    @property
    def input_count(self) -> int:
        return self.in_features

    @property
    def weight_bits(self) -> int:
        return len(self.weight_words) * self.lanes * self.weight_width


@dataclass(frozen=True)
class ConvLayerPlan:
    """One conv2d layer: its geometry and ``lanes`` output channels per lane group (the
    stage's weight memories, bias and thresholds: :class:`.stream_plan.ConvStagePlan`)."""
    index: int
    name: str
    neuron: Neuron
    in_shape: tuple
    out_shape: tuple
    kernel_size: tuple
    stride: tuple
    padding: tuple
    groups_conv: int
    lanes: int
    weight_width: int
    state_width: int
    timesteps: int
    kind = "conv2d"

    @property
    def lane_groups(self) -> int:
        return -(-self.out_shape[0] // self.lanes)

    @property
    def groups(self) -> int:
        """Lane groups (as a dense layer's ``groups``)."""
        return self.lane_groups

    @property
    def positions(self) -> int:
        return self.out_shape[1] * self.out_shape[2]

    @property
    def neurons(self) -> int:
        return int(np.prod(self.out_shape))

    @property
    def out_features(self) -> int:
        return self.out_shape[0]

    @property
    def input_count(self) -> int:
        return int(np.prod(self.in_shape))

    @property
    def kernel_volume(self) -> int:
        """Weights per output channel (its group's input channels times the kernel)."""
        return (self.in_shape[0] // self.groups_conv) * self.kernel_size[0] * self.kernel_size[1]


@dataclass(frozen=True)
class NetworkPlan:
    """The plan of a design: the layer plans and the stage plans (``stream``, a
    :class:`.stream_plan.StreamPlan`)."""
    network: Network
    config: HwConfig
    encoder: EncoderPlan
    layers: tuple
    stream: object

    @property
    def classes(self) -> int:
        return self.layers[-1].out_features

    @property
    def logit_width(self) -> int:
        return self.layers[-1].state_width

    @property
    def class_width(self) -> int:
        return max(1, (self.classes - 1).bit_length())

    @property
    def weight_bits(self) -> int:
        """Bits of every stage's weight memories."""
        return sum(stage.weight_bits for stage in self.stream.stages)


def _layer_plan(index, layer, lanes, timesteps, word_scan=None) -> DenseLayerPlan:
    groups = -(-layer.out_features // lanes)
    padded = groups * lanes
    weight = np.zeros((padded, layer.in_features), dtype=np.int64)
    weight[:layer.out_features] = layer.weight
    if word_scan is not None:
        order = word_scan.order()
        weight = np.where(order >= 0, weight[:, np.maximum(order, 0)], 0)
    bias = np.zeros(padded, dtype=np.int64)
    bias[:layer.out_features] = layer.bias
    threshold = np.ones(padded, dtype=np.int64)
    if layer.threshold is not None:
        scale = timesteps if layer.neuron is Neuron.ASG else 1
        threshold[:layer.out_features] = layer.threshold * scale
    # rows of the weight memory: group-major, then input index
    inputs = weight.shape[1]
    rows = weight.reshape(groups, lanes, inputs).transpose(0, 2, 1).reshape(groups * inputs,
                                                                             lanes)
    return DenseLayerPlan(
        index=index, name=layer.name, neuron=layer.neuron, in_features=layer.in_features,
        out_features=layer.out_features, lanes=lanes, weight_width=layer.weight_width,
        state_width=layer.membrane_width, timesteps=timesteps,
        weight_words=tuple(pack_words(rows, layer.weight_width)),
        bias_words=tuple(pack_words(bias.reshape(groups, lanes), layer.membrane_width)),
        threshold_words=tuple(pack_words(threshold.reshape(groups, lanes), layer.membrane_width)),
        word_scan=word_scan)


def _conv_plan(index, layer: Conv2d, in_shape, out_shape, lanes, timesteps) -> ConvLayerPlan:
    return ConvLayerPlan(
        index=index, name=layer.name, neuron=layer.neuron, in_shape=tuple(in_shape),
        out_shape=tuple(out_shape), kernel_size=layer.kernel_size, stride=layer.stride,
        padding=layer.padding, groups_conv=layer.groups, lanes=lanes,
        weight_width=layer.weight_width, state_width=layer.membrane_width,
        timesteps=timesteps)


def make_plan(network: Network, config: HwConfig | None = None) -> NetworkPlan:
    """Derive the hardware plan; refuse what the generator cannot build."""
    config = config or HwConfig()
    if not isinstance(network, Network):
        raise TypeError(f"network must be a spikewright.golden.Network, not {network!r}")
    if not isinstance(config, HwConfig):
        raise TypeError(f"config must be a HwConfig, not {config!r}")
    weighted = [layer.name for layer in network.weighted_layers]
    for option, named in config.named_layers.items():
        unknown = [name for name in named if name not in weighted]
        if unknown:
            raise ValueError(f"{option} name layer(s) {', '.join(map(repr, unknown))}, which "
                             f"the network does not have; its weighted layers are "
                             f"{', '.join(weighted)}")
    convs = [layer.name for layer in network.weighted_layers if isinstance(layer, Conv2d)]
    if isinstance(config.kernel_lanes, int) and config.kernel_lanes > 1 and not convs:
        raise ValueError(f"kernel_lanes {config.kernel_lanes} sets the kernel positions a conv "
                         f"layer adds per cycle, and the network has no conv layer (its "
                         f"weighted layers are {', '.join(weighted)}); leave it at 1")
    spec = network.input
    channels_of_source = tuple(
        tuple(e for e, ch in enumerate(spec.channels) if ch.source == c)
        for c in range(spec.shape[0]))
    if isinstance(network.readout, Conv2d):
        raise UnsupportedLayerError(f"the readout {network.readout.name!r} is a conv2d; the "
                                    f"hardware generator needs a dense readout (flatten first)")

    encoder = EncoderPlan(spec.shape, tuple(ch.thresholds for ch in spec.channels),
                          channels_of_source, network.timesteps)
    layers = []
    for index, layer in enumerate(network.layers):
        if isinstance(layer, Flatten):
            continue
        if isinstance(layer, Conv2d):
            in_shape, out_shape = network.layer_shapes(index)
            lanes = config.lanes_for(layer.name, layer.out_channels)
            layers.append(_conv_plan(len(layers), layer, in_shape, out_shape, lanes,
                                     network.timesteps))
            continue
        lanes = config.lanes_for(layer.name, layer.out_features)
        layers.append(_layer_plan(len(layers), layer, lanes, network.timesteps,
                                  word_scan_of(network, index, SCAN_WIDTH)))
    target = TARGETS[config.target]
    spram = {}
    if config.memory_style is MemoryStyle.SPRAM:
        spram = spram_layouts(layers, target)
    stream = make_stream_plan(network, tuple(layers), encoder, config, spram)
    in_block_ram = [stage for stage in stream.stages if stage.layer.name not in spram]
    bits = sum(stage.weight_bits for stage in in_block_ram)
    if bits > target.block_ram_bits:
        detail = ", ".join(f"{s.layer.name} {s.weight_bits}" for s in in_block_ram)
        where = ""
        if spram:
            where = (f" besides those in SPRAM ({', '.join(spram)}; "
                     + "; ".join(f"{l.name} not: {left_out(l, target)}" for l in layers
                                 if l.kind == "dense" and l.name not in spram) + ")")
        raise CapacityError(
            f"the weights need {bits} bits of memory ({detail}){where}, but {target.name} "
            f"has {target.block_ram_bits} bits of block RAM; convert with fewer weight bits, "
            f"or use a smaller network or a larger target"
            + ("" if spram or not target.spram_banks
               else " (or memory_style 'spram' to put dense layers in its SPRAM)"))
    return NetworkPlan(network, config, encoder, tuple(layers), stream)
