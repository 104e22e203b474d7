"""Copies of a control register, one per few lanes, so that no one net drives every lane.

A decode of a stage's state that enables the registers of hundreds of lanes is one net of
thousands of sinks: placed, it is the slowest path of the design (the MLP's fc1 sum enable
reached 7,694 flip-flops over 15.7 ns of routing). Each copy here drives
:data:`CLEAR_LANES` lanes. Yosys would merge copies that share their input, even with
``keep`` on their wires, so they are also marked ``replica``:
:data:`spikewright.synth.REPLICA_SCRIPT` keeps their flip-flops apart.
"""

from amaranth import Signal

__all__ = ["CLEAR_LANES", "copies", "replicas", "follow_while_not_full"]

#: Lanes served by one copy of a replicated control register.
CLEAR_LANES = 16


def copies(lanes: int, per: int = CLEAR_LANES) -> int:
    """How many copies serve ``lanes`` lanes, ``per`` each."""
    return -(-lanes // per)


def replicas(name: str, lanes: int, per: int = CLEAR_LANES, width: int = 1,
             init: int = 0) -> list:
    """``copies(lanes, per)`` registers ``name_0 ..`` of ``width`` bits (``init`` after
    reset), copy ``b`` for lanes ``b * per ..``; the caller gives every copy the same value.
    A single copy has nothing to be kept apart from and is not marked ``replica``."""
    count = copies(lanes, per)
    attrs = {"keep": 1, "replica": 1} if count > 1 else {"keep": 1}
    return [Signal(width, name=f"{name}_{b}", attrs=attrs, init=init) for b in range(count)]


def follow_while_not_full(m, fulls: list, release, per: int, follow) -> None:
    """An output bitmap under ``fulls``, copies of its ``out_full`` (:func:`replicas`), one
    per ``per`` bits: each copy is cleared as the consumer releases the bitmap
    (``release``; the hand-over sets it), and while it is low its bits follow the bitmap
    being built: ``follow(b, bits)`` adds the statements of copy ``b``'s slice ``bits``.
    The consumer reads the bitmap only while ``out_full``, so it sees the bits as they were
    at the hand-over."""
    for b, full in enumerate(fulls):
        with m.If(release):
            m.d.sync += full.eq(0)
        with m.If(~full):
            follow(b, slice(b * per, (b + 1) * per))
