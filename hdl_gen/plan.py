"""The hardware view of an IR: per-layer geometry, packed memory contents, the schedule.

Everything the cores, the top, the cycle model and the manifest need is derived here, once,
from the IR and the :class:`~.config.HwConfig`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from spikewright.golden.ir import Conv2d, Dense, Flatten, Network, Neuron

from .config import TARGETS, HwConfig, MemoryStyle
from .counters import counter_width
from .errors import CapacityError, UnsupportedLayerError
from .packing import pack_words
from .spram import left_out, spram_layouts
from .stream_plan import make_stream_plan

__all__ = ["EncoderPlan", "DenseLayerPlan", "ConvLayerPlan", "ScheduleEntry", "NetworkPlan",
           "make_plan", "FieldFormat", "counter_width", "pack_words"]


@dataclass(frozen=True)
class FieldFormat:
    """A spike event as packed fields ``Cat(x, y, channel)`` (what a conv layer consumes);
    ``None`` in a plan means a flat C, H, W index (what a dense layer consumes)."""
    channels: int
    height: int
    width: int

    @property
    def x_width(self) -> int:
        return counter_width(max(self.width - 1, 1))

    @property
    def y_width(self) -> int:
        return counter_width(max(self.height - 1, 1))

    @property
    def c_width(self) -> int:
        return counter_width(max(self.channels - 1, 1))

    @property
    def total_width(self) -> int:
        return self.x_width + self.y_width + self.c_width

    def pack(self, channel: int, y: int, x: int) -> int:
        return x | y << self.x_width | channel << (self.x_width + self.y_width)


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
    output: "FieldFormat | None" = None  # packed (x, y, channel) events for a conv layer

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
    kind = "dense"

    @property
    def groups(self) -> int:
        return -(-self.out_features // self.lanes)

    @property
    def neurons(self) -> int:
        return self.out_features

    @property
    def output(self):
        return None

    @property
    def input_count(self) -> int:
        return self.in_features

    @property
    def weight_bits(self) -> int:
        return len(self.weight_words) * self.lanes * self.weight_width

    @property
    def address_width(self) -> int:
        return counter_width(max(self.in_features - 1, 1))

    def step_cycles(self, events: int, spikes: int) -> int:
        """Cycles of one layer-step of the core (:class:`~.dense_core.DenseCore`), from its
        start to its done, with ``events`` input events and ``spikes`` output spikes: one
        to start, then per lane group two cycles of bias and threshold and, with events,
        one per event and one to drain the pipeline; one per spike pushed."""
        return 1 + self.groups * (2 + (events + 1 if events else 0)) + spikes


@dataclass(frozen=True)
class ConvLayerPlan:
    """One conv2d layer: output channels in lane groups of ``lanes`` within each conv group.

    ``L = g * lane_groups + lg`` numbers the lane groups of all conv groups. Weight word
    ``L * kernel_volume + c_local * kh * kw + ky * kw + kx`` holds ``W[o, c_local, ky, kx]``
    of the lanes' output channels ``o``; membrane word ``L * OH * OW + oy * OW + ox``.
    ``channel_rom[c] = (weight base, membrane base)`` of input channel ``c``;
    ``row_rom[y]`` lists ``(ky * kw, oy * OW)`` of the output rows an input row reaches,
    ``col_rom[x]`` lists ``(kx, ox)``; ``lane_channel[L]`` is the first output channel of
    lane group ``L``.
    """
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
    lane_groups: int
    weight_width: int
    state_width: int
    timesteps: int
    weight_words: tuple
    bias_words: tuple
    threshold_words: tuple
    input_window: int
    channel_rom: tuple
    row_rom: tuple
    col_rom: tuple
    lane_channel: tuple
    input: FieldFormat
    output: FieldFormat | None
    kind = "conv2d"

    @property
    def groups(self) -> int:
        """Lane groups of the whole layer (``groups_conv * lane_groups``)."""
        return self.groups_conv * self.lane_groups

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
    def weight_bits(self) -> int:
        return len(self.weight_words) * self.lanes * self.weight_width

    @property
    def kernel_volume(self) -> int:
        return (self.in_shape[0] // self.groups_conv) * self.kernel_size[0] * self.kernel_size[1]

    @functools.cached_property
    def updates_per_position(self) -> np.ndarray:
        """``[H, W]``: membrane words one input spike at ``(y, x)`` updates (any channel)."""
        rows = np.array([len(r) for r in self.row_rom], dtype=np.int64)
        cols = np.array([len(c) for c in self.col_rom], dtype=np.int64)
        return self.lane_groups * rows[:, None] * cols[None, :]

    def step_cycles(self, events: int, updates: int, spikes: int) -> int:
        """Cycles of one layer-step of the core (:class:`~.conv_core.ConvCore`), from its
        start to its done, with ``events`` input events that update ``updates`` membrane
        words in all and ``spikes`` output spikes: one to start, two per event and one per
        update (the scatter), two per (lane group, position) (the fire scan), one per
        spike pushed."""
        return 1 + 2 * events + updates + 2 * self.groups * self.positions + spikes


@dataclass(frozen=True)
class ScheduleEntry:
    """One layer-step: ``layer`` runs at global step ``step`` in ``phase`` 0 (integrate the
    input events of local step ``local_step``) or 1 (ASG regeneration); ``first`` marks the
    first step of that phase's window, where the stored state counts as zero; ``last`` the
    window's last step (conv cores clear their state there)."""
    step: int
    layer: int
    phase: int
    first: bool
    local_step: int
    last: bool = False


@dataclass(frozen=True)
class NetworkPlan:
    network: Network
    config: HwConfig
    encoder: EncoderPlan
    layers: tuple
    schedule: tuple
    stream: object = None  # the StreamPlan of a dataflow design (.stream_plan)

    @property
    def classes(self) -> int:
        return self.layers[-1].out_features

    @property
    def logit_width(self) -> int:
        return self.layers[-1].state_width

    @property
    def class_width(self) -> int:
        return counter_width(max(self.classes - 1, 1))

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
        weight_words=tuple(pack_words(rows, layer.weight_width)),
        bias_words=tuple(pack_words(bias.reshape(groups, lanes), layer.membrane_width)),
        threshold_words=tuple(pack_words(threshold.reshape(groups, lanes), layer.membrane_width)),
        input_window=window)


def _reach(size, kernel, stride, padding, out_size, scale):
    """For each input coordinate, the ``(k * scale, o * out_scale)`` pairs it reaches."""
    table = []
    for i in range(size):
        entries = []
        for k in range(kernel):
            num = i + padding - k
            if num >= 0 and num % stride == 0 and num // stride < out_size:
                entries.append((k, num // stride))
        table.append(tuple(entries))
    return table


def _conv_plan(index, layer: Conv2d, in_shape, out_shape, lanes, timesteps, window,
               output) -> ConvLayerPlan:
    channels, height, width = in_shape
    out_channels, out_h, out_w = out_shape
    kh, kw = layer.kernel_size
    groups = layer.groups
    cin_g, cout_g = channels // groups, out_channels // groups
    lanes = min(lanes, cout_g)
    lane_groups = -(-cout_g // lanes)
    volume = cin_g * kh * kw
    positions = out_h * out_w
    weight_rows, bias_rows, threshold_rows, lane_channel = [], [], [], []
    scale = timesteps if layer.neuron is Neuron.ASG else 1
    for g in range(groups):
        for lg in range(lane_groups):
            outs = [g * cout_g + lg * lanes + p for p in range(lanes)]
            real = [o if lg * lanes + p < cout_g else None for p, o in enumerate(outs)]
            lane_channel.append(outs[0])
            for k in range(volume):
                c_local, rest = divmod(k, kh * kw)
                ky, kx = divmod(rest, kw)
                weight_rows.append([layer.weight[o, c_local, ky, kx] if o is not None else 0
                                    for o in real])
            bias_rows.append([layer.bias[o] if o is not None else 0 for o in real])
            threshold_rows.append([layer.threshold[o] * scale if o is not None else 1
                                   for o in real])
    channel_rom = tuple((c // cin_g * lane_groups * volume + (c % cin_g) * kh * kw,
                         c // cin_g * lane_groups * positions) for c in range(channels))
    rows = _reach(height, kh, layer.stride[0], layer.padding[0], out_h, 1)
    cols = _reach(width, kw, layer.stride[1], layer.padding[1], out_w, 1)
    return ConvLayerPlan(
        index=index, name=layer.name, neuron=layer.neuron, in_shape=tuple(in_shape),
        out_shape=tuple(out_shape), kernel_size=layer.kernel_size, stride=layer.stride,
        padding=layer.padding, groups_conv=groups, lanes=lanes, lane_groups=lane_groups,
        weight_width=layer.weight_width, state_width=layer.membrane_width,
        timesteps=timesteps, weight_words=tuple(pack_words(weight_rows, layer.weight_width)),
        bias_words=tuple(pack_words(bias_rows, layer.membrane_width)),
        threshold_words=tuple(pack_words(threshold_rows, layer.membrane_width)),
        input_window=window, channel_rom=channel_rom,
        row_rom=tuple(tuple((ky * kw, oy * out_w) for ky, oy in r) for r in rows),
        col_rom=tuple(tuple(c) for c in cols), lane_channel=tuple(lane_channel),
        input=FieldFormat(*in_shape), output=output)


def _schedule(layers, timesteps) -> tuple:
    entries = []
    last_window = max(l.input_window + (l.neuron is Neuron.ASG) for l in layers)
    for step in range((last_window + 1) * timesteps):
        window, local = divmod(step, timesteps)
        for layer in layers:
            last = local == timesteps - 1
            if window == layer.input_window:
                entries.append(ScheduleEntry(step, layer.index, 0, local == 0, local, last))
            elif layer.neuron is Neuron.ASG and window == layer.input_window + 1:
                entries.append(ScheduleEntry(step, layer.index, 1, local == 0, local, last))
    return tuple(entries)


def make_plan(network: Network, config: HwConfig | None = None) -> NetworkPlan:
    """Derive the hardware plan; refuse what the generator cannot build."""
    config = config or HwConfig()
    if not isinstance(network, Network):
        raise TypeError(f"network must be a spikewright.golden.Network, not {network!r}")
    if not isinstance(config, HwConfig):
        raise TypeError(f"config must be a HwConfig, not {config!r}")
    weighted = [layer.name for layer in network.weighted_layers]
    unknown = [name for name in config.named_layers if name not in weighted]
    if unknown:
        raise ValueError(f"lanes name layer(s) {', '.join(map(repr, unknown))}, which the "
                         f"network does not have; its weighted layers are "
                         f"{', '.join(weighted)}")
    spec = network.input
    channels_of_source = tuple(
        tuple(e for e, ch in enumerate(spec.channels) if ch.source == c)
        for c in range(spec.shape[0]))
    if isinstance(network.readout, Conv2d):
        raise UnsupportedLayerError(f"the readout {network.readout.name!r} is a conv2d; the "
                                    f"hardware generator needs a dense readout (flatten first)")

    def consumer_format(index):
        """Packed fields if the next layer is a conv (no flatten between), else flat."""
        following = network.layers[index + 1] if index + 1 < len(network.layers) else None
        if isinstance(following, Conv2d):
            return FieldFormat(*network.layer_shapes(index + 1)[0])
        return None

    encoder = EncoderPlan(spec.shape, tuple(ch.thresholds for ch in spec.channels),
                          channels_of_source, network.timesteps, consumer_format(-1))
    layers, windows = [], network.windows()
    for index, (layer, window) in enumerate(zip(network.layers, windows)):
        if isinstance(layer, Flatten):
            continue
        if isinstance(layer, Conv2d):
            in_shape, out_shape = network.layer_shapes(index)
            lanes = config.lanes_for(layer.name, layer.out_channels)
            layers.append(_conv_plan(len(layers), layer, in_shape, out_shape, lanes,
                                     network.timesteps, window, consumer_format(index)))
            continue
        lanes = config.lanes_for(layer.name, layer.out_features)
        layers.append(_layer_plan(len(layers), layer, lanes, network.timesteps, window))
    target = TARGETS[config.target]
    spram = {}
    if config.memory_style is MemoryStyle.SPRAM:
        spram = spram_layouts(layers, target)
    bits = sum(layer.weight_bits for layer in layers if layer.name not in spram)
    if bits > target.block_ram_bits:
        detail = ", ".join(f"{l.name} {l.weight_bits}" for l in layers if l.name not in spram)
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
    stream = None
    if config.architecture == "dataflow":
        stream = make_stream_plan(network, tuple(layers), encoder, config, spram)
    return NetworkPlan(network, config, encoder, tuple(layers),
                       _schedule(layers, network.timesteps), stream)
