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
        self.masks = [self.mask]

    def connect(self, m, chunk_at) -> None:
        """Build the chunk multiplexers (``chunk_at(index, name)``; index None: chunk 0)."""
        self._remaining = Signal(SCAN_WIDTH, name="remaining")
        m.d.comb += self._remaining.eq(self.mask & (self.mask - 1))
        self._next = chunk_at(self._chunk + 1, "next_chunk")
        self._first = chunk_at(None, "first_chunk")
        self.advance = self._remaining == 0  # this chunk's last event, or none

    def between_passes(self, m) -> None:
        pass

    def load(self, m) -> None:
        m.d.sync += [self._chunk.eq(0), self.mask.eq(self._first)]

    def on_advance(self, m) -> None:
        m.d.sync += self.mask.eq(self._next)

    def on_stay(self, m) -> None:
        m.d.sync += self.mask.eq(self._remaining)


class PrefetchScan:
    """A dense stage's scan for fast clocks: beside ``mask``, ``rest`` (the same without the
    lowest event) and ``single`` (``rest`` is empty, so that the advance is one flip-flop),
    the chunk after it (``upcoming``) and the index of the one after that (``ahead``): only
    a 2:1 choice between ``rest`` and ``upcoming``, no carry chain and no zero test, lies on
    the loop back to ``mask``. Same cycles as :class:`PlainScan`.

    With ``events`` E > 1 the chunk is walked as E residue classes (bits ``j, j + E, ..``),
    each with its own ``mask``, ``rest`` and ``single`` (``masks``): every cycle takes the
    lowest pending event of every class, and the chunk is done when every class is down to
    at most one (:func:`.stream_plan.scan_cycles`).

    ``width``: bits of a chunk. ``fetching``: the chunks come from a word memory read a cycle
    ahead (:mod:`.word_scan`), so ``ahead_next`` gives the value ``ahead`` takes at the next
    edge, the chunk whose word is to be read now."""

    def __init__(self, chunk, chunks: int, events: int = 1, width: int = SCAN_WIDTH,
                 fetching: bool = False):
        self._chunk = chunk
        self._events = events
        self._ahead = Signal(range(chunks + 2), name="ahead")
        self.ahead_next = Signal(range(chunks + 2), name="ahead_next") if fetching else None
        self._width = width
        width //= events
        suffixes = [""] if events == 1 else [f"_{j}" for j in range(events)]
        self.masks = [Signal(width, name=f"mask{x}") for x in suffixes]
        self._rests = [Signal(width, name=f"rest{x}") for x in suffixes]
        self._upcoming = Signal(self._width, name="upcoming")
        self._singles = [Signal(name=f"single{x}") for x in suffixes]
        self.mask = self.masks[0]
        self.advance = self._singles[0]
        for single in self._singles[1:]:
            self.advance = self.advance & single

    def connect(self, m, chunk_at) -> None:
        """Build the chunk multiplexers (``chunk_at(index, name)``; index None: chunk 0)."""
        if self.ahead_next is not None:
            m.d.comb += self.ahead_next.eq(self._ahead)
            m.d.sync += self._ahead.eq(self.ahead_next)
        self._next = chunk_at(self._ahead, "next_chunk")
        self._first = chunk_at(None, "first_chunk")

    def _set_ahead(self, m, value) -> None:
        if self.ahead_next is None:
            m.d.sync += self._ahead.eq(value)
        else:
            m.d.comb += self.ahead_next.eq(value)

    def between_passes(self, m) -> None:
        self._set_ahead(m, 1)  # outside a pass: ready for the next pass's LOAD

    def _take(self, parts) -> list:  # make ``parts`` (one value per class) the chunk walked
        statements = []
        for mask, rest, single, bits in zip(self.masks, self._rests, self._singles, parts):
            statements += [mask.eq(bits), rest.eq(bits & (bits - 1)),
                           single.eq(at_most_one(bits))]
        return statements

    def _classes(self, bits) -> list:
        events = self._events
        return [bits] if events == 1 else [bits[j::events] for j in range(events)]

    def load(self, m) -> None:
        m.d.sync += self._chunk.eq(0)
        self._set_ahead(m, 2)
        m.d.sync += [self._upcoming.eq(self._next), *self._take(self._classes(self._first))]

    def on_advance(self, m) -> None:
        self._set_ahead(m, self._ahead + 1)
        m.d.sync += [self._upcoming.eq(self._next), *self._take(self._classes(self._upcoming))]

    def on_stay(self, m) -> None:
        self._set_ahead(m, self._ahead)
        m.d.sync += self._take(self._rests)
