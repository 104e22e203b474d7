"""Packing rows of signed integers into the unsigned words of a memory."""

from __future__ import annotations

__all__ = ["pack_words"]


def pack_words(values: np.ndarray, width: int) -> list[int]:
    """Pack rows of signed integers into unsigned words, lane 0 in the low bits."""
    mask = (1 << width) - 1
    words = []
    for row in values:
        word = 0
        for lane, value in enumerate(row):
            word |= (int(value) & mask) << (lane * width)
        words.append(word)
    return words
