"""The dataflow plan: every layer a pipeline stage, each working on its own image.

    pixels ──▶ encoder ──▶ [bitmap] ──▶ dense 1 ──▶ [bitmap] ──▶ ... ──▶ readout ──▶ argmax
                stage                    stage                           stage       stage

Between two stages lies one image's spikes (every step, every neuron), double-buffered: a
bitmap register after the encoder and a dense stage, a word memory after a conv stage
(:mod:`.stages.hand_over`). A stage starts an image when its input is there and hands its
result over when the consumer has released the previous one. What each stage does per cycle
is in its plan's docstring (:class:`DenseStagePlan`, :class:`ConvStagePlan`) and its
stage's (:mod:`.stages`); an ASG layer's output holds its next window, so the ASG shift is
the golden trace's window index only.

Each stage plan owns its cycle function (``batch_cycles`` of input spikes,
``cycles_of_samples`` of :func:`layer_scans`); :mod:`.stream_model` chains them into the
cycle at which every result appears.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spikewright.golden.ir import Conv2d, Dense, Neuron

from .errors import UnsupportedLayerError
from .parts import TARGETS, block_rams
from .word_scan import word_scan_of

__all__ = ["SCAN_WIDTH", "BANK_LANES", "DRAIN_CYCLES", "PASS_OVERHEAD", "CONV_DRAIN_CYCLES",
           "PIECE_CHOICE", "WINDOW_LATENCY",
           "PREFETCH_FROM_MHZ", "REGENERATE_DRAIN_CYCLES", "WORD_FETCH_CYCLES", "EVENT_CHOICES",
           "prefetches", "pack_words", "bank_words", "memory_blocks", "weight_blocks",
           "regenerates", "regenerate_cycles", "drain_cycles", "pass_overhead",
           "conv_sum_levels", "conv_drain_cycles",
           "EncoderStagePlan", "DenseStagePlan", "ConvStagePlan", "StreamPlan",
           "make_stream_plan", "scan_cycles", "input_scan_cycles", "group_cycles", "conv_cycles",
           "window_reads", "conv_classes", "window_pops", "layer_scans", "layer_inputs"]

#: Bits of the input bitmap a dense stage examines per cycle when looking for events.
SCAN_WIDTH = 32
#: Lanes per weight bank of a dense or conv stage; each bank has its own address register.
#: 72 lanes of any weight width ``w`` make a word of ``2 * w`` times 36 bits, so a bank fills
#: the 36-bit ports of the ECP5's DP16KD (and Xilinx's block RAMs) with no bit left over:
#: the default MLP's 768 lanes of 4 bits take 86 blocks per memory, not the 96 of 64-lane
#: banks.
BANK_LANES = 72
#: Cycles from a dense stage's last event to its accumulators holding every weight: the
#: event register, the address registers, the block RAM read, the weight register.
DRAIN_CYCLES = 4
#: Cycles of a pass of a dense stage of one event per cycle besides its scan: load the
#: first chunk, drain the pipeline, two fire cycles (sum, then compare and write). With
#: several events per cycle the drain is longer: :func:`drain_cycles`.
PASS_OVERHEAD = 1 + DRAIN_CYCLES + 2
#: The events per cycle whose scan cycles :func:`layer_scans` records for folding; a conv
#: stage takes at most the last of them (its window pops are recorded per residue class of
#: the input channel modulo it).
EVENT_CHOICES = (1, 2, 4, 8)
#: Cycles of a conv stage from its last weight-address cycle to its last output word
#: written: the address registers, the block RAM read, the read word registers, the weight
#: registers, the sum of the kernel lanes, the accumulator, the fire (threshold and output
#: word), and two cycles for the weight memories' pieces (:meth:`ConvStagePlan.weight_pieces`:
#: the piece addressed is chosen in two registered levels, :data:`PIECE_CHOICE` at a time;
#: the address is held two cycles more where a memory is one piece). With more than two
#: weights per lane and cycle the sum is a tree of several levels: :func:`conv_drain_cycles`.
CONV_DRAIN_CYCLES = 9
#: Pieces of a conv stage's weight memory among which the first of the two registered
#: levels of its choice chooses (one LUT4 and a PFUMX per bit on the ECP5); the second
#: chooses among those choices.
PIECE_CHOICE = 4
#: Cycles from a conv stage's window address to the word in its window register: the
#: address (reading the encoder's register) or the word read (from a word memory) held in
#: a register, then the word (:func:`conv_cycles`).
WINDOW_LATENCY = 2
#: Cycles a pass of a dense stage fed by a conv stage spends before its first chunk, reading
#: the word memory: one to present the first word's address, one to take its first chunk
#: while the second chunk's word is read (:class:`.word_scan.WordScan`).
WORD_FETCH_CYCLES = 2
#: Clock targets (MHz) from which dense stages prefetch their scan's next chunk and the
#: argmax shifts its logits (:func:`prefetches`).
PREFETCH_FROM_MHZ = 25.0
#: Cycles of a conv stage's regeneration (ASG) from its last item to its last output word:
#: the state memories' read, the fire and the output word.
REGENERATE_DRAIN_CYCLES = 2


def pack_words(values: np.ndarray, width: int) -> list[int]:
    """Rows of signed integers as the unsigned words of a memory, lane 0 in the low bits."""
    mask, words = (1 << width) - 1, []
    for row in values:
        words.append(sum((int(value) & mask) << (lane * width) for lane, value in enumerate(row)))
    return words


def regenerates(layer) -> bool:
    """Whether ``layer`` (a layer plan) builds the ASG regeneration: ASG neurons over more
    than one step (at ``T = 1`` ASG and IF emit the same spikes)."""
    return layer.neuron is Neuron.ASG and layer.timesteps > 1


def regenerate_cycles(layer, positions: int, lane_groups: int) -> int:
    """Cycles an ASG stage spends regenerating one image's spikes (0 where it does not,
    :func:`regenerates`): one per step, output position and lane group, and for a conv stage
    (``positions`` > 0) :data:`REGENERATE_DRAIN_CYCLES`. The one formula of the ASG cost."""
    if not regenerates(layer):
        return 0
    if positions == 0:
        return layer.timesteps * lane_groups
    return layer.timesteps * positions * lane_groups + REGENERATE_DRAIN_CYCLES


def drain_cycles(events: int) -> int:
    """Cycles from a dense stage's last scan cycle to its accumulators holding every weight:
    :data:`DRAIN_CYCLES`, and one per level of the tree that sums each lane's ``events``
    weights (``log2(events)``)."""
    return DRAIN_CYCLES + (events - 1).bit_length()


def conv_sum_levels(readers: int) -> int:
    """Registered levels of the tree that sums each lane's ``readers`` weights per cycle
    (kernel lanes x events) in a conv stage, two per adder: ``ceil(log2(readers))``, at
    least one."""
    return max(1, (readers - 1).bit_length())


def conv_drain_cycles(readers: int) -> int:
    """Cycles of a conv stage from its last weight-address cycle to its last output word:
    :data:`CONV_DRAIN_CYCLES`, and one per level of its weight sum past the first
    (:func:`conv_sum_levels`)."""
    return CONV_DRAIN_CYCLES + conv_sum_levels(readers) - 1


def pass_overhead(events: int, word_input: bool = False) -> int:
    """Cycles of a pass of a dense stage besides its scan (:data:`PASS_OVERHEAD`, with the
    drain of :func:`drain_cycles`, and :data:`WORD_FETCH_CYCLES` where a conv stage feeds
    it, ``word_input``)."""
    return (PASS_OVERHEAD - DRAIN_CYCLES + drain_cycles(events)
            + (WORD_FETCH_CYCLES if word_input else 0))


def prefetches(clock_mhz: float) -> bool:
    """Whether a design for ``clock_mhz`` builds the prefetching scan and the shifting argmax
    (from :data:`PREFETCH_FROM_MHZ`): registers that take the chunk multiplexer and a carry
    chain off the scan's loop, at a cost in cells that the iCE40 UP5K design cannot pay
    (docs/results.md, "The iCEBreaker: mnist_mlp_up5k"). Both scans take the same cycles."""
    return clock_mhz >= PREFETCH_FROM_MHZ


@dataclass(frozen=True)
class EncoderStagePlan:
    """Pixels in beats of ``pixels_per_beat``; every encoded channel's spike bits shift into
    a register per step, which is handed over as the input bitmap ``[T, channels * H * W]``."""
    encoder: object  # the EncoderPlan (.plan)
    pixels_per_beat: int
    buffers: int = 2  # 1: the working register is the bitmap handed over

    @property
    def out_bits(self) -> int:
        """Bits of one step of the bitmap it hands over."""
        return self.encoder.inputs

    def stage_cycles(self) -> int:
        """Cycles from the first beat of an image to its last, with no gaps: one per beat."""
        shape = self.encoder.pixel_shape
        return shape[0] * shape[1] * shape[2] // self.pixels_per_beat


def bank_words(words, lanes: int, weight_width: int, lanes_per_bank: int = BANK_LANES) -> list:
    """``[(bits, words)]`` of each bank of ``lanes_per_bank`` lanes (lane 0 lowest in bank 0)
    that words of ``lanes`` weights are split into (``words`` a count: the widths alone)."""
    return [(bits := min(lanes_per_bank, lanes - first) * weight_width,
             words if isinstance(words, (int, np.integer)) else
             [word >> first * weight_width & (1 << bits) - 1 for word in words])
            for first in range(0, lanes, lanes_per_bank)]


def memory_blocks(memories, target: str = "ecp5-85k", block: bool = False) -> int:
    """Block RAMs of ``target`` that memories read on a clock edge take where Yosys puts
    them (:func:`.estimate.memory_home`, ``block``: marked ``ram_style = "block"``), as the
    estimate counts them: a written memory ``(width, depth)`` by its width, a read-only one
    ``(width, words)`` by its bits that are not constant (:func:`.estimate.rom_width`)."""
    from .estimate import memory_home, rom_width
    total = 0
    for width, contents in memories:
        written = isinstance(contents, int)
        home, count = memory_home(width if written else rom_width(contents, width),
                                  contents if written else len(contents), written, target,
                                  block=block)
        total += count if home == "block" else 0
    return total


def weight_blocks(lanes: int, weight_width: int, words: int, target: str = "ecp5-85k") -> int:
    """Block RAMs of ``target`` that one weight memory of ``words`` words of ``lanes``
    weights takes, in banks (:func:`bank_words`) each in its best shape
    (:func:`.parts.block_rams`): an upper bound, the folding's measure of a memory's cost
    (a stage plan's ``weight_block_rams`` counts where Yosys puts each bank,
    :func:`memory_blocks`)."""
    return sum(block_rams(bits, words, target)
               for bits, _ in bank_words(words, lanes, weight_width))


@dataclass(frozen=True)
class DenseStagePlan:
    """One dense layer as a stage: the lane layout of ``layer`` (weights, biases, thresholds
    packed by the layer plan) and a scan over ``in_bits`` input bits per step, a bitmap
    register's, or where a conv stage feeds it its word memory's words (``word_scan``).
    Each step's events are walked once per lane group, one weight word (``lanes`` weights)
    added per event (:func:`group_cycles`); the weights lie in banks of :data:`BANK_LANES`
    lanes, each addressed from its own register, and every block RAM read ends in a register."""
    layer: object  # the DenseLayerPlan (.plan)
    in_bits: int
    in_stride: int  # bits per step of the producer's bitmap (in_bits, or more with padding)
    spram: object = None  # the SpramLayout (.spram) where its weights lie in SPRAM
    prefetch: bool = True  # the prefetching scan (:func:`prefetches`)
    events: int = 1  # input events per cycle (HwConfig.events)
    weight_attrs: tuple = ()  # (name, value) of its weight memories: MemoryStyle.weight_attrs

    @property
    def word_scan(self):
        """The :class:`.word_scan.WordScan` of the conv output it reads, or None."""
        return self.layer.word_scan

    @property
    def scan_width(self) -> int:
        """Bits of a chunk of its scan."""
        return SCAN_WIDTH if self.word_scan is None else self.word_scan.width

    @property
    def chunks(self) -> int:
        """Chunks of one step's scan."""
        if self.word_scan is not None:
            return self.word_scan.chunks
        return -(-self.in_bits // SCAN_WIDTH)

    @property
    def class_depth(self) -> int:
        """Words per lane group in each of the ``events`` weight memories: inputs ``e * k +
        j`` (``k`` below it) of residue class ``j`` (the layer's ``scan_inputs`` at one
        event)."""
        return -(-self.layer.scan_inputs // self.events)

    @property
    def first_word(self) -> int:
        """The address of lane group 0's first weight word: 1 where ``events`` > 1, as word 0
        of each of the memories is zero (:meth:`class_words`), 0 at one event."""
        return 0 if self.events == 1 else 1

    def class_words(self, j: int) -> tuple:
        """The words of weight memory ``j`` of ``events``: word 0 is zero, read in cycles
        without an event of class ``j`` and from reset (the weight sums are not gated);
        word ``1 + g * class_depth + k`` holds lane group ``g``'s weights of input
        ``events * k + j`` (zero beyond the inputs)."""
        layer, events, depth = self.layer, self.events, self.class_depth
        words = [0]
        for g in range(layer.groups):
            for k in range(depth):
                i = events * k + j
                words.append(layer.weight_words[g * layer.scan_inputs + i]
                             if i < layer.scan_inputs else 0)
        return tuple(words)

    @property
    def drain_cycles(self) -> int:
        """:func:`drain_cycles` of its events per cycle."""
        return drain_cycles(self.events)

    @property
    def regenerates(self) -> bool:
        """ASG over more than one step (:func:`regenerates`)."""
        return regenerates(self.layer)

    @property
    def weight_bits(self) -> int:
        """Bits of its weight memory (every lane group's word of every input)."""
        return len(self.layer.weight_words) * self.layer.lanes * self.layer.weight_width

    @property
    def out_bits(self) -> int:
        """Bits of one step of the bitmap it hands over (lane groups times lanes)."""
        return self.layer.groups * self.layer.lanes

    def weight_block_rams(self, target: str = "ecp5-85k") -> int:
        """Block RAMs its weights take (none where they lie in SPRAM), each bank where Yosys
        puts it: :func:`memory_blocks` (the shipped MLP's 188, as Yosys maps it)."""
        if self.spram is not None:
            return 0
        memories = ([self.layer.weight_words] if self.events == 1
                    else [self.class_words(j) for j in range(self.events)])
        return memory_blocks([bank for words in memories for bank in bank_words(
            words, self.layer.lanes, self.layer.weight_width)], target, bool(self.weight_attrs))

    def other_block_rams(self, target: str = "ecp5-85k") -> int:
        """Block RAMs of its memories besides the weights (:mod:`.stages.dense`): the bias
        and (hidden layers) threshold words of each lane group, and the state of each lane
        group at T > 1 (:func:`memory_blocks`)."""
        layer = self.layer
        width, hidden = layer.lanes * layer.state_width, layer.neuron is not Neuron.NONE
        return memory_blocks([(width, layer.bias_words)]
                             + [(width, layer.threshold_words)] * hidden
                             + [(width, layer.groups)] * (hidden and layer.timesteps > 1),
                             target)

    def cycles_of_scans(self, scans) -> np.ndarray:
        """Cycles of each image's passes, from the first pass's start to the last pass's end,
        from the scan cycles of its steps ``[images, T]``: :func:`group_cycles`, then (ASG)
        :func:`regenerate_cycles`."""
        return (group_cycles(self.layer.groups, scans, self.events, self.word_scan is not None)
                + regenerate_cycles(self.layer, 0, self.layer.groups))

    def cycles_of_samples(self, rows) -> np.ndarray:
        """:meth:`cycles_of_scans` from what :func:`layer_scans` gives for this layer (its
        scan cycles per step at each of :data:`EVENT_CHOICES`)."""
        return self.cycles_of_scans(np.asarray(rows)[..., EVENT_CHOICES.index(self.events)])

    def batch_cycles(self, spikes: np.ndarray) -> np.ndarray:
        """:meth:`cycles_of_scans` of many images' input spikes ``[images, T, in_bits]``
        (:func:`input_scan_cycles`)."""
        spikes = np.asarray(spikes).reshape(len(spikes), -1, self.in_bits)
        return self.cycles_of_scans(input_scan_cycles(spikes, self.word_scan, self.events))


@dataclass(frozen=True)
class ConvStagePlan:
    """One conv layer (IF or ASG, any groups) as a stage: ``lanes`` output channels per lane
    group (:attr:`lane_groups` of them), ``kernel_lanes`` kernel positions per cycle
    (``kernel_groups`` groups of them) and ``events`` input channels per kernel position
    per cycle, one of each residue class of the channel modulo ``events``. A grouped conv
    (average pooling among them: a depthwise conv with constant weights) is laid out as a
    conv of one group whose weights are zero outside each output channel's group, so every
    geometry is one stage.

    Weight memory ``j * events + e`` (one per kernel lane ``j`` and class ``e``) holds at
    word ``(g * KG + kg) * D + i`` (``D`` = :attr:`class_depth`) the weights
    ``W[g * lanes + p, i * events + e, ky, kx]`` of kernel position ``kg * KP + j =
    ky * KW + kx`` in lane ``p`` (zero beyond the kernel or the channels). Input words: every
    input channel's spike at one position of one step, address ``t * H * W + y * W + x``;
    output words likewise, ``C_out`` bits at ``t * OH * OW + oy * OW + ox``.
    ``input_register``: the input is the encoder's bitmap register (bit ``t * C_in * H * W
    + c * H * W + y * W + x``), read one word per cycle like a memory; the output is always
    a double-buffered word memory (a dense stage reads it through :mod:`.word_scan`).
    ``bias_words`` and ``threshold_words``:
    one word of ``lanes`` values per lane group (ASG thresholds as ``T * theta``; padding
    lanes bias 0, threshold 1).
    """
    layer: object  # the ConvLayerPlan (.plan)
    kernel_lanes: int
    weight_memories: tuple  # [kernel lane * events + class][word]
    input_register: bool
    bias_words: tuple
    threshold_words: tuple
    weight_attrs: tuple = ()  # (name, value) of its weight memories: MemoryStyle.weight_attrs
    events: int = 1
    piece_words: int = 0  # the target's block RAM depth at its widest (0: no pieces)

    @property
    def lanes(self) -> int:
        return self.layer.lanes

    @property
    def lane_groups(self) -> int:
        return self.layer.lane_groups

    def weight_pieces(self, words) -> list:
        """``[[(bits, words)]]``: the banks of weight memory ``words`` (:func:`bank_words`),
        each cut into pieces of :attr:`piece_words` words. The pieces are read side by side
        and their words held in registers before the one addressed is chosen, so that no
        multiplexer lies between a block RAM's output and a register (a memory deeper than
        one block RAM is otherwise built with one)."""
        size = self.piece_words or len(words)
        return [[(bits, init[first:first + size]) for first in range(0, len(init), size)]
                for bits, init in bank_words(words, self.lanes, self.layer.weight_width)]

    @property
    def class_depth(self) -> int:
        """Input channels of one residue class (the last classes padded with zero weights)."""
        return -(-self.layer.in_shape[0] // self.events)

    @property
    def weight_bits(self) -> int:
        """Bits of its weight memories (one per kernel lane and class)."""
        return (sum(len(words) for words in self.weight_memories) * self.lanes
                * self.layer.weight_width)

    @property
    def regenerates(self) -> bool:
        """ASG over more than one step (:func:`regenerates`)."""
        return regenerates(self.layer)

    def weight_block_rams(self, target: str = "ecp5-85k") -> int:
        """Block RAMs its weight memories take (one per kernel lane and class), each piece
        of each bank (:meth:`weight_pieces`) where Yosys puts it: :func:`memory_blocks`."""
        return memory_blocks([piece for words in self.weight_memories
                              for bank in self.weight_pieces(words) for piece in bank],
                             target, bool(self.weight_attrs))

    def other_block_rams(self, target: str = "ecp5-85k") -> int:
        """Block RAMs of its memories besides the weights (:mod:`.stages.conv`): the bias
        and threshold words of each lane group, the state of each (position, lane group) at
        T > 1 and the ASG regeneration's potential, and the double-buffered word memory
        it writes (:func:`memory_blocks`)."""
        width = self.lanes * self.layer.state_width
        items = self.lane_groups * self.layer.positions
        return memory_blocks([(width, self.bias_words), (width, self.threshold_words)]
                             + [(width, items)] * ((self.layer.timesteps > 1) + self.regenerates)
                             + [(self.word_width, 2 * self.out_words)], target)

    @property
    def sum_levels(self) -> int:
        """:func:`conv_sum_levels` of its weight reads per cycle."""
        return conv_sum_levels(self.kernel_lanes * self.events)

    @property
    def drain_cycles(self) -> int:
        """:func:`conv_drain_cycles` of its weight reads per cycle."""
        return conv_drain_cycles(self.kernel_lanes * self.events)

    @property
    def kernel_positions(self) -> int:
        return self.layer.kernel_size[0] * self.layer.kernel_size[1]

    @property
    def kernel_groups(self) -> int:
        return -(-self.kernel_positions // self.kernel_lanes)

    @property
    def in_words(self) -> int:
        """Words of one image's input bitmap (every step)."""
        _, height, width = self.layer.in_shape
        return self.layer.timesteps * height * width

    @property
    def out_words(self) -> int:
        """Words of one image's output bitmap (every step)."""
        return self.layer.timesteps * self.layer.positions

    @property
    def word_width(self) -> int:
        """Bits of an output word: one per output channel."""
        return self.layer.out_shape[0]

    @property
    def out_bits(self) -> int:
        """Bits of one step of the output bitmap (C, H, W order, as flatten numbers them)."""
        return self.layer.neurons

    def cycles_of_samples(self, pops) -> np.ndarray:
        """Cycles of each image, from the stage's start to its last output word, from its
        window pops per class (:func:`window_pops`, as :func:`layer_scans` gives them):
        :func:`conv_cycles`, then :func:`regenerate_cycles`."""
        layer = self.layer
        reads = window_reads(layer.kernel_size, layer.stride, layer.out_shape[2])
        return (conv_cycles(np.asarray(pops), reads, self.kernel_lanes, self.lane_groups,
                            self.events)
                + regenerate_cycles(self.layer, self.layer.positions, self.lane_groups))

    def batch_cycles(self, spikes: np.ndarray) -> np.ndarray:
        """:meth:`cycles_of_samples` of input spikes ``[images, T, C_in * H * W]``."""
        layer = self.layer
        return self.cycles_of_samples(window_pops(spikes, layer.in_shape, layer.out_shape,
                                                  layer.kernel_size, layer.stride,
                                                  layer.padding, self.events))


def conv_classes(channels: int) -> int:
    """Residue classes of a conv layer's input channels that :func:`layer_scans` records its
    window pops in: the most events per cycle its stage can take, the largest power of two
    up to ``channels`` and the last of :data:`EVENT_CHOICES`."""
    return min(EVENT_CHOICES[-1], 1 << (channels.bit_length() - 1))


def window_pops(spikes: np.ndarray, in_shape, out_shape, kernel_size, stride,
                padding, classes: int = 1) -> np.ndarray:
    """``[images, T, OH, OW, KH * KW, classes]``: the input spikes under each kernel
    position of each output position's window (none outside the image), per residue class
    of the input channel modulo ``classes``, of input spikes ``[images, T, C_in * H * W]``
    of a conv layer of that geometry."""
    channels, height, width = in_shape
    (kh, kw), (sh, sw), (ph, pw) = kernel_size, stride, padding
    _, out_h, out_w = out_shape
    spikes = np.asarray(spikes, dtype=bool).reshape(len(spikes), -1, channels, height, width)
    depth = -(-channels // classes)
    by_class = np.zeros(spikes.shape[:2] + (depth * classes, height, width), dtype=np.uint8)
    by_class[:, :, :channels] = spikes
    by_class = by_class.reshape(spikes.shape[:2] + (depth, classes, height, width)).sum(
        axis=2, dtype=np.uint16)
    padded = np.zeros(spikes.shape[:2] + (classes, height + 2 * ph + sh * out_h,
                                          width + 2 * pw + sw * out_w), dtype=np.uint16)
    padded[..., ph:ph + height, pw:pw + width] = by_class
    pops = np.zeros(spikes.shape[:2] + (out_h, out_w, kh * kw, classes), dtype=np.uint16)
    for ky in range(kh):
        for kx in range(kw):
            window = padded[..., ky:ky + sh * out_h:sh, kx:kx + sw * out_w:sw]
            pops[..., ky * kw + kx, :] = np.moveaxis(window, 2, -1)
    return pops


def window_reads(kernel_size, stride, out_width: int) -> np.ndarray:
    """``[OW]``: the window words a conv stage reads at output column ``ox`` of a row: every
    kernel position's at ``ox = 0``, else only the ``KH * SW`` of the columns the window
    moved onto (where ``SW < KW``): the others are the previous position's, shifted over
    (:meth:`.stages.conv.ConvStage._window`)."""
    (kh, kw), (_, sw) = kernel_size, stride
    reads = np.full(out_width, kh * kw, dtype=np.int64)
    if sw < kw:
        reads[1:] = kh * sw
    return reads


def conv_cycles(pops: np.ndarray, reads: np.ndarray, kernel_lanes: int, lane_groups: int,
                events: int = 1) -> np.ndarray:
    """Cycles of a conv stage (:class:`ConvStagePlan`) for each image, from its window pops
    ``[images, T, OH, OW, K, classes]`` (:func:`window_pops`; ``classes`` a multiple of
    ``events``) and the window words read per output column ``reads`` (:func:`window_reads`):
    per step and output position, one cycle per window word read and
    :data:`WINDOW_LATENCY` to take the last, then per lane group and per group of
    ``kernel_lanes`` kernel positions the most spikes of one residue class (modulo
    ``events``) under one of them (at least one cycle); then :func:`conv_drain_cycles`. The
    one formula of a conv stage's cycles."""
    *shape, positions, classes = pops.shape
    if classes % events:
        raise ValueError(f"window pops in {classes} classes cannot be regrouped into "
                         f"{events} events per cycle")
    per_event = np.asarray(pops, dtype=np.int64).reshape(
        *shape, positions, classes // events, events).sum(axis=-2).max(axis=-1)
    groups = -(-positions // kernel_lanes)
    padded = np.zeros(tuple(shape) + (groups * kernel_lanes,), dtype=np.int64)
    padded[..., :positions] = per_event
    items = np.maximum(padded.reshape(tuple(shape) + (groups, kernel_lanes)).max(axis=-1),
                       1).sum(axis=-1)
    per_position = np.asarray(reads) + WINDOW_LATENCY + lane_groups * items
    return (per_position.reshape(len(pops), -1).sum(axis=1)
            + conv_drain_cycles(kernel_lanes * events))


def dense_conv_weight(layer: Conv2d) -> np.ndarray:
    """``[C_out, C_in, KH, KW]``: the weights of ``layer`` as a conv of one group (zero where
    an input channel lies outside the output channel's group)."""
    out_channels, per_group, kh, kw = layer.weight.shape
    groups = layer.groups
    full = np.zeros((out_channels, per_group * groups, kh, kw), dtype=np.int64)
    per_out = out_channels // groups
    for g in range(groups):
        outputs = slice(g * per_out, (g + 1) * per_out)
        full[outputs, g * per_group:(g + 1) * per_group] = layer.weight[outputs]
    return full


def _conv_weight_memories(weight: np.ndarray, weight_width: int, lanes: int,
                          kernel_lanes: int, events: int = 1) -> tuple:
    """The words of each (kernel lane, class) weight memory (:class:`ConvStagePlan`) of the
    one-group weights ``weight`` (:func:`dense_conv_weight`)."""
    out_channels, in_channels, kh, kw = weight.shape
    groups = -(-out_channels // lanes)
    kernel_groups = -(-kh * kw // kernel_lanes)
    depth = -(-in_channels // events)
    padded = np.zeros((groups * lanes, depth * events, kernel_groups * kernel_lanes),
                      dtype=np.int64)
    padded[:out_channels, :in_channels, :kh * kw] = weight.reshape(out_channels, in_channels, -1)
    # [lane group, lane, i, class, kernel group, kernel lane] -> [j, e][g, kg, i] x lanes
    grid = padded.reshape(groups, lanes, depth, events, kernel_groups, kernel_lanes)
    memories = []
    for j in range(kernel_lanes):
        for e in range(events):
            rows = grid[:, :, :, e, :, j].transpose(0, 3, 2, 1).reshape(-1, lanes)
            memories.append(tuple(pack_words(rows, weight_width)))
    return tuple(memories)


def _lane_words(values: np.ndarray, lanes: int, pad: int, width: int) -> tuple:
    """``values`` per output channel as words of ``lanes`` values (``pad`` beyond them)."""
    groups = -(-len(values) // lanes)
    padded = np.full(groups * lanes, pad, dtype=np.int64)
    padded[:len(values)] = values
    return tuple(pack_words(padded.reshape(groups, lanes), width))


def _conv_stage(layer: Conv2d, plan, config, first: bool) -> ConvStagePlan:
    """The stage plan of conv ``layer`` (IR) with layer plan ``plan``."""
    weight = dense_conv_weight(layer)
    kernel_lanes = config.kernel_lanes_for(layer.name, weight.shape[2] * weight.shape[3])
    events = config.events_for(layer.name)
    if events > EVENT_CHOICES[-1]:
        raise ValueError(f"conv layer {layer.name!r} takes at most {EVENT_CHOICES[-1]} events "
                         f"per cycle, not {events}")
    events = min(events, conv_classes(layer.in_channels))
    lanes = plan.lanes
    scale = plan.timesteps if layer.neuron is Neuron.ASG else 1
    width = layer.membrane_width
    return ConvStagePlan(
        plan, kernel_lanes, _conv_weight_memories(weight, layer.weight_width, lanes,
                                                  kernel_lanes, events),
        input_register=first,
        bias_words=_lane_words(layer.bias, lanes, 0, width),
        threshold_words=_lane_words(layer.threshold * scale, lanes, 1, width),
        weight_attrs=config.memory_style.weight_attrs, events=events,
        piece_words=TARGETS[config.target].block_depth)


def group_cycles(groups: int, scans, events: int = 1, word_input: bool = False) -> np.ndarray:
    """Cycles of a dense stage of ``groups`` lane groups and ``events`` events per cycle over
    steps of ``scans`` ``[..., T]`` scan cycles: every step walked once per lane group, each
    pass its scan and :func:`pass_overhead` (``word_input``: a conv stage feeds it). The one
    formula of a dense stage's passes."""
    overhead = pass_overhead(events, word_input)
    return groups * (np.asarray(scans, dtype=np.int64) + overhead).sum(axis=-1)


def scan_cycles(spikes: np.ndarray, in_bits: int, events: int = 1,
                width: int = SCAN_WIDTH) -> np.ndarray:
    """Scan cycles of input bitmaps ``spikes`` ``[..., in_bits]`` at ``events`` events per
    cycle: per bitmap and chunk of ``width`` bits, the most events of one residue class of
    the input index modulo ``events`` (each class takes one event per cycle), at least one
    cycle (whatever the lanes). At one event per cycle: one per event and one per chunk
    without events."""
    chunks = -(-in_bits // width)
    flat = np.asarray(spikes, dtype=bool).reshape(-1, in_bits)
    padded = np.zeros((len(flat), chunks * width), dtype=np.int64)
    padded[:, :in_bits] = flat
    per_class = padded.reshape(len(flat), chunks, width // events, events).sum(axis=2)
    per_chunk = per_class.max(axis=2)
    return np.maximum(per_chunk, 1).sum(axis=1).reshape(np.shape(spikes)[:-1])


def input_scan_cycles(spikes: np.ndarray, word_scan=None, events: int = 1) -> np.ndarray:
    """:func:`scan_cycles` of a dense stage's input bitmaps ``spikes`` ``[..., inputs]``
    (the IR's input order) as its scan walks them: in chunks of :data:`SCAN_WIDTH`, or
    where a conv stage feeds it (``word_scan``) arranged and chunked as
    :class:`.word_scan.WordScan` says."""
    spikes = np.asarray(spikes)
    if word_scan is None:
        return scan_cycles(spikes, spikes.shape[-1], events)
    return scan_cycles(word_scan.arrange(spikes), word_scan.inputs, events, word_scan.width)


@dataclass(frozen=True)
class StreamPlan:
    """The stages of a dataflow design: the encoder, one conv or dense stage per weighted
    layer (the last one the readout), and the argmax."""
    encoder: EncoderStagePlan
    stages: tuple
    prefetch: bool = True  # the shifting argmax (:func:`prefetches`)

    @property
    def classes(self) -> int:
        return self.stages[-1].layer.out_features

    def argmax_cycles(self) -> int:
        """Cycles of the argmax stage: one to take the logits, one per class to compare."""
        return 1 + self.classes


def make_stream_plan(network, layers: tuple, encoder, config, spram=None) -> StreamPlan:
    """The stage plans of ``network`` from its layer plans and the
    :class:`~.config.HwConfig` ``config`` (``spram``: ``{layer name: SpramLayout}`` of the
    layers whose weights lie in SPRAM); refuse a conv layer or a flatten after a dense
    layer (the IR's shapes rule them out, a hand-made plan might not)."""
    seen_dense = False
    for layer in network.layers:
        if isinstance(layer, Dense):
            seen_dense = True
        elif seen_dense:
            raise UnsupportedLayerError(
                f"layer {layer.name!r} is a {layer.kind} after a dense layer; the dataflow "
                f"design takes the convolutions first, then flatten, then dense")
    pixels_per_beat = config.pixels_per_beat
    positions = encoder.positions
    if positions % pixels_per_beat:
        raise ValueError(f"pixels_per_beat must divide the {positions} pixels of an image "
                         f"channel, not {pixels_per_beat}")
    by_name = {layer.name: layer for layer in network.layers}
    stages, in_bits, stride = [], encoder.inputs, encoder.inputs
    for k, layer in enumerate(layers):
        if layer.kind == "conv2d":
            stages.append(_conv_stage(by_name[layer.name], layer, config, k == 0))
            in_bits = stride = layer.neurons
            continue
        events = config.events_for(layer.name)
        in_spram = (spram or {}).get(layer.name)
        if events > 1 and in_spram is not None:
            raise ValueError(f"layer {layer.name!r} has its weights in SPRAM, a single "
                             f"memory read once per cycle; it takes 1 event per cycle, not "
                             f"{events} (give events only for layers in block RAM)")
        stages.append(DenseStagePlan(layer, in_bits, stride, in_spram,
                                     prefetches(config.clock_mhz), events,
                                     config.memory_style.weight_attrs))
        in_bits, stride = layer.out_features, layer.groups * layer.lanes
    return StreamPlan(EncoderStagePlan(encoder, pixels_per_beat, config.input_buffers),
                      tuple(stages), prefetches(config.clock_mhz))


def layer_inputs(network, result) -> dict:
    """``{layer name: [images, T, inputs]}``: the input spikes of every weighted layer, from
    a traced golden ``result``."""
    images, timesteps = len(result.logits), network.timesteps
    inputs = result.trace["input"].reshape(images, timesteps, -1)
    found = {}
    for layer in network.weighted_layers:
        found[layer.name] = inputs
        if layer.neuron is not Neuron.NONE:
            inputs = result.trace[layer.name].reshape(images, timesteps, -1)
    return found


def layer_scans(network, result) -> dict:
    """What each layer stage's cycles depend on besides its lanes, from a traced golden
    ``result``: ``{dense layer: [images, T, len(EVENT_CHOICES)] scan cycles of its input at
    each of :data:`EVENT_CHOICES` events per cycle}`` and ``{conv layer:
    [images, T, OH, OW, K, classes] window pops}`` (:func:`window_pops` in
    :func:`conv_classes` classes)."""
    inputs, scans = layer_inputs(network, result), {}
    for position, layer in enumerate(network.layers):
        if isinstance(layer, Dense):
            word_scan = word_scan_of(network, position, SCAN_WIDTH)
            scans[layer.name] = np.stack([input_scan_cycles(inputs[layer.name], word_scan, events)
                                          for events in EVENT_CHOICES], axis=-1)
        elif isinstance(layer, Conv2d):
            in_shape, out_shape = network.layer_shapes(position)
            scans[layer.name] = window_pops(inputs[layer.name], in_shape, out_shape,
                                            layer.kernel_size, layer.stride, layer.padding,
                                            conv_classes(layer.in_channels))
    return scans
