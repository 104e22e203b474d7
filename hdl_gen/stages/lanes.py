"""Helpers shared by the layer cores."""

from amaranth import Signal

__all__ = ["lowest_pending"]


def lowest_pending(m, pending: Signal, lanes: int):
    """Return ``(lowest, remaining)``: the index of the lowest set bit of ``pending`` (the
    next spike to emit) and ``pending`` with that bit cleared."""
    lowest = Signal(range(max(lanes, 2)))
    for p in reversed(range(lanes)):
        with m.If(pending[p]):
            m.d.comb += lowest.eq(p)
    remaining = Signal(lanes)
    m.d.comb += remaining.eq(pending & (pending - 1))
    return lowest, remaining
