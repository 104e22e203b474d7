"""Bit helpers shared by the stages: trees of depth log2(width), no carry chains."""

from amaranth import Cat, Const, Mux

__all__ = ["at_most_one", "lowest_set"]


def at_most_one(bits):
    """1 where at most one of ``bits`` is set: a tree of depth log2(width), no carry chain
    (``bits & (bits - 1) == 0`` as an adder and a zero test was the slowest path of a scan)."""
    def none_and_one(part):
        if len(part) == 1:
            return ~part[0], Const(1, 1)
        half = len(part) // 2
        low_none, low_one = none_and_one(part[:half])
        high_none, high_one = none_and_one(part[half:])
        return low_none & high_none, (low_none & high_one) | (high_none & low_one)
    return none_and_one(bits)[1]


def lowest_set(bits):
    """The index of the lowest set bit of ``bits`` (any value where none is set): halves
    chosen by a tree of 2:1 multiplexers, depth log2(width), in place of a priority chain
    as long as ``bits``."""
    width = max(2, 1 << (len(bits) - 1).bit_length())
    padded = Cat(bits, Const(0, width - len(bits)))

    def walk(part):  # (any bit set, index of the lowest within part)
        if len(part) == 2:
            return part[0] | part[1], ~part[0]
        half = len(part) // 2
        low_any, low_index = walk(part[:half])
        high_any, high_index = walk(part[half:])
        return low_any | high_any, Cat(Mux(low_any, low_index, high_index), ~low_any)
    return walk(padded)[1] if len(bits) > 1 else Const(0, 1)
