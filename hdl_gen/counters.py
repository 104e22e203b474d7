"""Register widths of counters and indices."""

__all__ = ["counter_width"]


def counter_width(count: int) -> int:
    """Bits of an unsigned counter that holds ``0 .. count`` (at least 1)."""
    return max(1, int(count).bit_length())
