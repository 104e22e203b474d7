"""How a dense stage after a conv stage scans the conv's output: the double-buffered word
memory of :class:`.stream_plan.ConvStagePlan` (one word per step and position, one bit per
channel), read a word at a time, in place of a bitmap register of every step's spikes.

The scan walks each word in ``pieces`` chunks of ``width`` bits (the word padded to
``pieces * width`` with bits that never spike), position by position, so that the input
index it sees is ``i = (position * pieces + piece) * width + bit`` for channel ``c = piece *
width + bit``, while the IR numbers that input ``c * H * W + position`` (flatten's C, H, W
order). The layer plan lays its weight words in the scan's order (:meth:`WordScan.order`);
the cycles come from the spikes arranged the same way (:meth:`WordScan.arrange`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spikewright.golden.ir import Conv2d, Dense, Flatten

__all__ = ["WordScan", "MIN_CHUNK_WIDTH", "word_scan_of"]

#: The narrowest chunk a dense stage scans: every residue class of
#: :data:`.stream_plan.EVENT_CHOICES` events per cycle keeps at least one bit.
MIN_CHUNK_WIDTH = 8


@dataclass(frozen=True)
class WordScan:
    """The scan of the words of a conv output of shape ``(C, H, W)`` (see the module)."""
    shape: tuple
    scan_width: int  # :data:`.stream_plan.SCAN_WIDTH`, the widest chunk

    @property
    def channels(self) -> int:
        return self.shape[0]

    @property
    def positions(self) -> int:
        return self.shape[1] * self.shape[2]

    @property
    def width(self) -> int:
        """Bits of a chunk: the word's width rounded up to a power of two, at least
        :data:`MIN_CHUNK_WIDTH` and at most ``scan_width``."""
        return min(self.scan_width, max(MIN_CHUNK_WIDTH, 1 << (self.channels - 1).bit_length()))

    @property
    def pieces(self) -> int:
        """Chunks per word, a power of two (so that a chunk's number splits into its word and
        its piece): a piece wholly past the channels is scanned as an empty chunk."""
        return 1 << (-(-self.channels // self.width) - 1).bit_length()

    @property
    def chunks(self) -> int:
        """Chunks of one step."""
        return self.positions * self.pieces

    @property
    def inputs(self) -> int:
        """Input indices of one step as the scan numbers them, padding included."""
        return self.chunks * self.width

    def order(self) -> np.ndarray:
        """``[inputs]``: the IR input index of each scan index, -1 for padding."""
        index = np.arange(self.inputs)
        channel = (index // self.width) % self.pieces * self.width + index % self.width
        position = index // (self.width * self.pieces)
        return np.where(channel < self.channels, channel * self.positions + position, -1)

    def arrange(self, spikes: np.ndarray) -> np.ndarray:
        """``[..., inputs]`` booleans: spikes ``[..., C * H * W]`` in the scan's order."""
        spikes = np.asarray(spikes, dtype=bool)
        order = self.order()
        arranged = np.zeros(spikes.shape[:-1] + (self.inputs,), dtype=bool)
        arranged[..., order >= 0] = spikes[..., order[order >= 0]]
        return arranged


def word_scan_of(network, position: int, scan_width: int):
    """The :class:`WordScan` of layer ``position`` of ``network`` where it is a dense layer
    fed by a conv layer (through flatten), else None (a dense layer's input is then a bitmap
    register)."""
    if not isinstance(network.layers[position], Dense):
        return None
    before = position - 1
    while before >= 0 and isinstance(network.layers[before], Flatten):
        before -= 1
    if before < 0 or not isinstance(network.layers[before], Conv2d):
        return None
    return WordScan(tuple(network.layer_shapes(before)[1]), scan_width)
