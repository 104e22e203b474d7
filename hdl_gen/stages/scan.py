"""A dense stage's scan of its input bitmap: the events of each chunk of
:data:`spikewright.hdl_gen.stream_plan.SCAN_WIDTH` bits, one per cycle (:func:`spikewright.hdl_gen.stream_plan.scan_cycles`)."""

from amaranth import Signal

from ..stream_plan import SCAN_WIDTH
from .lanes import at_most_one

__all__ = ["PlainScan", "PrefetchScan"]


class PlainScan:
    """A dense stage's scan for slow clocks (:func:`.stream_plan.prefetches`): ``mask``
    holds the events of chunk ``chunk`` not yet taken; the next chunk comes through a
    multiplexer and ``mask & (mask - 1)`` is tested for zero on the loop back to ``mask``.
    One cycle per event, one per chunk without events: :func:`.stream_plan.scan_cycles`."""

    def __init__(self, chunk, chunks: int):
        self._chunk = chunk
        self.mask = Signal(SCAN_WIDTH, name="mask")

    def connect(self, m, chunk_at) -> None:
        """Build the chunk multiplexers (``chunk_at(index, name)``; index None: chunk 0)."""
        self._remaining = Signal(SCAN_WIDTH, name="remaining")
        m.d.comb += self._remaining.eq(self.mask & (self.mask - 1))
        self._next = chunk_at(self._chunk + 1, "next_chunk")
        self._first = chunk_at(None, "first_chunk")
        self.advance = self._remaining == 0  # this chunk's last event, or none

    def between_passes(self, m) -> None:
        pass

    def load(self) -> list:
        return [self._chunk.eq(0), self.mask.eq(self._first)]

    def on_advance(self) -> list:
        return [self.mask.eq(self._next)]

    def on_stay(self) -> list:
        return [self.mask.eq(self._remaining)]


class PrefetchScan:
    """A dense stage's scan for fast clocks: beside ``mask``, ``rest`` (the same without the
    lowest event) and ``single`` (``rest`` is empty, so that the advance is one flip-flop),
    the chunk after it (``upcoming``) and the index of the one after that (``ahead``): only
    a 2:1 choice between ``rest`` and ``upcoming``, no carry chain and no zero test, lies on
    the loop back to ``mask``. Same cycles as :class:`PlainScan`."""

    def __init__(self, chunk, chunks: int):
        self._chunk = chunk
        self._ahead = Signal(range(chunks + 2), name="ahead")
        self.mask, self._rest, self._upcoming = (
            Signal(SCAN_WIDTH, name=name) for name in ("mask", "rest", "upcoming"))
        self.advance = self._single = Signal(name="single")

    def connect(self, m, chunk_at) -> None:
        """Build the chunk multiplexers (``chunk_at(index, name)``; index None: chunk 0)."""
        self._next = chunk_at(self._ahead, "next_chunk")
        self._first = chunk_at(None, "first_chunk")

    def between_passes(self, m) -> None:
        m.d.sync += self._ahead.eq(1)  # outside a pass: ready for the next pass's LOAD

    def _take(self, bits) -> list:  # make ``bits`` the chunk being walked
        return [self.mask.eq(bits), self._rest.eq(bits & (bits - 1)),
                self._single.eq(at_most_one(bits))]

    def load(self) -> list:
        return [self._chunk.eq(0), self._ahead.eq(2), self._upcoming.eq(self._next),
                *self._take(self._first)]

    def on_advance(self) -> list:
        return [self._ahead.eq(self._ahead + 1), self._upcoming.eq(self._next),
                *self._take(self._upcoming)]

    def on_stay(self) -> list:
        return [self._ahead.eq(self._ahead), *self._take(self._rest)]
