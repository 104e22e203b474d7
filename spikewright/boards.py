"""The boards spikewright builds for, and the one place their facts live: the amaranth-boards
platform (pins and constraints), the part, the oscillator, the core clock a PLL makes from
it, and the UART link's baud rate (the boards' FTDI chips take 3 Mbaud)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Board", "BOARDS", "board"]


@dataclass(frozen=True)
class Board:
    name: str
    platform: str        # "module:class" in amaranth_boards
    target: str          # a part of hdl_gen.config.TARGETS
    oscillator_mhz: float
    clock_mhz: float     # the core's clock (from a PLL where it differs from the oscillator)
    baud: int
    description: str


BOARDS = {
    "ulx3s-85f": Board("ulx3s-85f", "amaranth_boards.ulx3s:ULX3S_85F_Platform", "ecp5-85k",
                       25.0, 75.0, 3_000_000,
                       "Radiona ULX3S with the ECP5 LFE5U-85F, FTDI FT231X UART"),
    "icebreaker": Board("icebreaker", "amaranth_boards.icebreaker:ICEBreakerPlatform",
                        "ice40-up5k", 12.0, 12.0, 3_000_000,
                        "1BitSquared iCEBreaker with the iCE40 UP5K, FTDI FT2232H UART"),
}


def board(name: str) -> Board:
    """The board called ``name``; an error naming the boards there are."""
    if name not in BOARDS:
        raise ValueError(f"unknown board {name!r}; the boards are {', '.join(BOARDS)}")
    return BOARDS[name]
