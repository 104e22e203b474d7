"""The dataflow plan: every layer a pipeline stage, each working on its own image.

    pixels ──▶ encoder ──▶ [bitmap] ──▶ dense 1 ──▶ [bitmap] ──▶ ... ──▶ readout ──▶ argmax
                stage                    stage                           stage       stage

Between two stages lies one image's spikes as a bitmap (every step, every neuron), held in
the producer's output register until the consumer has read it; the producer meanwhile
builds the next image's bitmap in its working register (double buffering). A stage starts an
image when its input bitmap is there, and hands its result over when the consumer has
released the previous one.

A dense stage walks the input events of each step (a scan over the bitmap, one event or one
empty chunk of :data:`SCAN_WIDTH` bits per cycle) once per lane group, adding one weight
word (``lanes`` weights) per event: accumulator-only, as in the sequential core. Its
weights lie in banks of :data:`BANK_LANES` lanes, each addressed from its own register, and
every path out of a block RAM ends in a register.

Each stage plan owns its cycle function (``stage_cycles``); :mod:`.stream_model` chains them
into the cycle at which every result appears.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spikewright.golden.ir import Conv2d, Flatten, Neuron

from .counters import counter_width
from .errors import UnsupportedLayerError

__all__ = ["SCAN_WIDTH", "BANK_LANES", "DRAIN_CYCLES", "PASS_OVERHEAD", "EncoderStagePlan", "DenseStagePlan",
           "StreamPlan", "make_stream_plan", "scan_cycles", "group_cycles", "layer_scans"]

#: Bits of the input bitmap a dense stage examines per cycle when looking for events.
SCAN_WIDTH = 32
#: Lanes per weight bank of a dense stage; each bank has its own address register.
BANK_LANES = 64
#: Cycles from a dense stage's last event to its accumulators holding every weight: the
#: event register, the address registers, the block RAM read, the weight register.
DRAIN_CYCLES = 4
#: Cycles of a pass of a dense stage besides its scan: load the first chunk, drain the
#: pipeline, two fire cycles (sum, then compare and write).
PASS_OVERHEAD = 1 + DRAIN_CYCLES + 2


@dataclass(frozen=True)
class EncoderStagePlan:
    """Pixels in beats of ``pixels_per_beat``; every encoded channel's spike bits shift into
    a register per step, which is handed over as the input bitmap ``[T, channels * H * W]``."""
    encoder: object  # the EncoderPlan (.plan)
    pixels_per_beat: int

    @property
    def beats(self) -> int:
        """Beats per image."""
        shape = self.encoder.pixel_shape
        return shape[0] * shape[1] * shape[2] // self.pixels_per_beat

    @property
    def out_bits(self) -> int:
        """Bits of one step of the bitmap it hands over."""
        return self.encoder.inputs

    def stage_cycles(self) -> int:
        """Cycles from the first beat of an image to its last, with no gaps: one per beat."""
        return self.beats


@dataclass(frozen=True)
class DenseStagePlan:
    """One dense layer as a stage: the lane layout of ``layer`` (weights, biases, thresholds
    packed as in the sequential core) and a scan over ``in_bits`` input bits per step."""
    layer: object  # the DenseLayerPlan (.plan)
    in_bits: int
    in_stride: int  # bits per step of the producer's bitmap (in_bits, or more with padding)

    @property
    def chunks(self) -> int:
        return -(-self.in_bits // SCAN_WIDTH)

    @property
    def out_bits(self) -> int:
        """Bits of one step of the bitmap it hands over (lane groups times lanes)."""
        return self.layer.groups * self.layer.lanes

    def scan_cycles(self, spikes: np.ndarray) -> int:
        """Cycles to walk the events of one step's input bitmap ``spikes`` (``in_bits``
        booleans): :func:`scan_cycles`."""
        return int(scan_cycles(np.asarray(spikes).reshape(1, -1), self.in_bits)[0])

    def stage_cycles(self, spikes: np.ndarray) -> int:
        """Cycles of one image's passes, from the first pass's start to the last pass's
        end, for its input spikes ``[T, in_bits]``."""
        return self.cycles_of_scans([self.scan_cycles(step) for step in spikes])

    def cycles_of_scans(self, scans) -> int:
        """:meth:`stage_cycles` from the scan cycles of each step: every step is walked once
        per lane group, each pass costing its scan and :data:`PASS_OVERHEAD`."""
        return group_cycles(self.layer.groups, scans)


def group_cycles(groups: int, scans) -> int:
    """Cycles of a dense stage of ``groups`` lane groups over steps of ``scans`` scan
    cycles (the one formula behind :meth:`DenseStagePlan.stage_cycles`)."""
    return int(sum(groups * (int(scan) + PASS_OVERHEAD) for scan in scans))


def scan_cycles(spikes: np.ndarray, in_bits: int) -> np.ndarray:
    """Scan cycles of input bitmaps ``spikes`` ``[..., in_bits]``: per bitmap, one per event
    and one per chunk of :data:`SCAN_WIDTH` bits without events (whatever the lanes)."""
    chunks = -(-in_bits // SCAN_WIDTH)
    flat = np.asarray(spikes, dtype=bool).reshape(-1, in_bits)
    padded = np.zeros((len(flat), chunks * SCAN_WIDTH), dtype=np.int64)
    padded[:, :in_bits] = flat
    per_chunk = padded.reshape(len(flat), chunks, SCAN_WIDTH).sum(axis=2)
    return np.maximum(per_chunk, 1).sum(axis=1).reshape(np.shape(spikes)[:-1])


@dataclass(frozen=True)
class StreamPlan:
    """The stages of a dataflow design: the encoder, one dense stage per weighted layer (the
    last one the readout), and the argmax."""
    encoder: EncoderStagePlan
    stages: tuple

    @property
    def classes(self) -> int:
        return self.stages[-1].layer.out_features

    def argmax_cycles(self) -> int:
        """Cycles of the argmax stage: one to take the logits, one per class to compare."""
        return 1 + self.classes

    @property
    def trace_width(self) -> int:
        return counter_width(max(s.out_bits for s in (self.encoder, *self.stages[:-1])))


def make_stream_plan(network, layers: tuple, encoder, pixels_per_beat: int) -> StreamPlan:
    """The dataflow plan of ``network`` from its (sequential) layer plans; refuse what the
    dataflow architecture does not build yet."""
    for index, layer in enumerate(network.layers):
        if isinstance(layer, Conv2d):
            raise UnsupportedLayerError(
                f"layer {layer.name!r} is a conv2d; the dataflow architecture builds dense "
                f"networks (use the sequential architecture for convolutions)")
        if isinstance(layer, Flatten) and index != 0:
            raise UnsupportedLayerError(f"the dataflow architecture takes a flatten only as "
                                        f"the first layer, not {layer.name!r}")
        if getattr(layer, "neuron", None) is Neuron.ASG:
            raise UnsupportedLayerError(
                f"layer {layer.name!r} has ASG neurons; the dataflow architecture builds IF "
                f"neurons (use the sequential architecture for ASG)")
    positions = encoder.positions
    if positions % pixels_per_beat:
        raise ValueError(f"pixels_per_beat must divide the {positions} pixels of an image "
                         f"channel, not {pixels_per_beat}")
    stages, in_bits, stride = [], encoder.inputs, encoder.inputs
    for layer in layers:
        if layer.kind != "dense":
            raise UnsupportedLayerError(f"layer {layer.name!r} is not dense")
        stages.append(DenseStagePlan(layer, in_bits, stride))
        in_bits, stride = layer.out_features, layer.groups * layer.lanes
    return StreamPlan(EncoderStagePlan(encoder, pixels_per_beat), tuple(stages))


def layer_scans(network, result) -> dict:
    """``{layer name: [images, T] scan cycles}`` of every weighted layer's input, from a
    traced golden ``result``: what a dense stage's cycles depend on besides its lanes."""
    images, timesteps = len(result.logits), network.timesteps
    inputs = result.trace["input"].reshape(images, timesteps, -1)
    scans = {}
    for layer in network.weighted_layers:
        scans[layer.name] = scan_cycles(inputs, inputs.shape[-1])
        if layer.neuron is not Neuron.NONE:
            inputs = result.trace[layer.name].reshape(images, timesteps, -1)
    return scans
