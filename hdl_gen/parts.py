"""Every FPGA part and board fact spikewright uses, in one place: capacities (the block RAM
that must hold the weights, logic cells), the block RAM's shapes (folding), the single-port
RAM (:mod:`.spram`), the cell names synthesis counts (:mod:`spikewright.synth`), the PLL's
limits, and the boards (their amaranth-boards platform, which holds the pins, the part, the
oscillator, the core clock and the UART link's baud rate; their FTDI chips take 3 Mbaud)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

__all__ = ["Cells", "PllLimits", "Target", "TARGETS", "ECP5_PLL", "block_rams", "Board",
           "BOARDS", "board"]


@dataclass(frozen=True)
class Cells:
    """The cells of a synthesized netlist that count as each resource."""
    lut: tuple
    ff: tuple
    bram: tuple
    dsp: tuple
    carry: tuple
    lutram: tuple = ()
    spram: tuple = ()


@dataclass(frozen=True)
class PllLimits:
    """A PLL primitive's ranges: phase detector and VCO frequencies, dividers."""
    primitive: str
    pfd_mhz: tuple
    vco_mhz: tuple
    max_divider: int
    max_feedback: int
    source: str


@dataclass(frozen=True)
class Target:
    """An FPGA part: name, block RAM bits, logic cells, the block RAM's read width per
    cycle (every block at its widest port), its single-port RAM banks (words of
    ``spram_width`` bits, ``spram_depth`` each; none on most parts), the shapes
    ``(width, depth)`` one block RAM takes, and its cell names. ``block_ram_cost``,
    ``lutram_shape`` and ``lutram_cost`` are the costs of Yosys's memory libraries for the
    part (``share/<family>/brams*.txt``, ``lutrams*.txt``), which decide where a memory goes
    (:func:`.estimate.memory_home`; 0: not modelled)."""
    name: str
    family: str
    block_ram_bits: int
    luts: int
    block_ram_read_bits: int
    cells: Cells
    block_shapes: tuple = ()
    spram_banks: int = 0
    spram_depth: int = 0
    spram_width: int = 0
    spram_primitive: str = ""
    block_ram_cost: int = 0
    lutram_shape: tuple = ()
    lutram_cost: int = 0

    @property
    def block_bits(self) -> int:
        """Bits of one block RAM (its widest shape)."""
        width, depth = self.block_shapes[0]
        return width * depth

    @property
    def block_depth(self) -> int:
        """Words of one block RAM in its widest shape (0: the part has none modelled)."""
        return self.block_shapes[0][1] if self.block_shapes else 0

    @property
    def block_count(self) -> int:
        """Block RAMs the part has."""
        return self.block_ram_bits // self.block_bits


TARGETS = {
    # Lattice iCE40 UP5K: 30 EBR x 4 kbit, 16 bits wide, and 4 SPRAM of 16,384 x 16 bits
    # (SB_SPRAM256KA; used for weights with memory_style "spram").
    "ice40-up5k": Target(
        "ice40-up5k", "ice40", 30 * 4096, 5280, 30 * 16,
        Cells(lut=("SB_LUT4",), ff=("SB_DFF",), bram=("SB_RAM40_4K",), dsp=("SB_MAC16",),
              carry=("SB_CARRY",), spram=("SB_SPRAM256KA",)),
        block_shapes=((16, 256), (8, 512), (4, 1024), (2, 2048)),
        spram_banks=4, spram_depth=16384, spram_width=16, spram_primitive="SB_SPRAM256KA",
        block_ram_cost=64),
    # Lattice ECP5 LFE5U-85F: 208 DP16KD x 18 kbit, 36 bits wide at most.
    "ecp5-85k": Target(
        "ecp5-85k", "ecp5", 208 * 18432, 83640, 208 * 36,
        Cells(lut=("LUT4",), ff=("TRELLIS_FF",), bram=("DP16KD", "PDPW16KD"),
              dsp=("MULT18X18D", "ALU54B"), carry=("CCU2C",), lutram=("TRELLIS_DPR16X4",)),
        block_shapes=((36, 512), (18, 1024), (9, 2048), (4, 4096), (2, 8192), (1, 16384)),
        block_ram_cost=128, lutram_shape=(4, 16), lutram_cost=4),
    # Xilinx Artix-7 XC7A35T: 50 RAMB36 x 36 kbit, 72 bits wide.
    "xc7a35t": Target(
        "xc7a35t", "xilinx", 50 * 36864, 20800, 50 * 72,
        Cells(lut=("LUT1", "LUT2", "LUT3", "LUT4", "LUT5", "LUT6"),
              ff=("FDRE", "FDSE", "FDCE", "FDPE"), bram=("RAMB18E1", "RAMB36E1"),
              dsp=("DSP48E1",), carry=("CARRY4",),
              lutram=("RAM32M", "RAM64M", "RAM32X1D", "RAM64X1D", "RAM128X1D", "RAM256X1S")),
        block_shapes=((72, 512), (36, 1024), (18, 2048), (9, 4096), (4, 8192), (2, 16384),
                      (1, 32768))),
}

#: The ECP5's EHXPLLL (Lattice TN1263).
ECP5_PLL = PllLimits("EHXPLLL", pfd_mhz=(3.125, 400.0), vco_mhz=(400.0, 800.0),
                     max_divider=128, max_feedback=80, source="Lattice TN1263")


@lru_cache(maxsize=4096)
def block_rams(width: int, depth: int, target: str = "ecp5-85k") -> int:
    """Block RAMs of ``target`` that a memory of ``depth`` words of ``width`` bits takes,
    laid out as Yosys's ``memory_libmap`` lays it: the word cut into slices of ``c`` bits,
    each slice in blocks of one shape ``(w, d)`` with ``w // c`` of its words side by side
    in one block word (``ceil(depth / (d * (w // c)))`` blocks), the slices chosen for the
    fewest blocks. Checked against Yosys 0.70 on the ECP5 (``tests/test_parts.py``): a
    128 x 4608 memory takes 32 blocks (4-bit slices, nine words to a 36-bit block word),
    128 x 4096 takes 29 (three 36-bit slices, an 18-bit and a 2-bit one)."""
    shapes = TARGETS[target].block_shapes
    widest = max(w for w, _ in shapes)

    slice_blocks = [0] + [min(-(-depth // (d * (w // c))) for w, d in shapes if w >= c)
                          for c in range(1, widest + 1)]
    fewest = [0] * (width + 1)  # fewest[b]: blocks of the first b bits of the word
    for bits in range(1, width + 1):
        fewest[bits] = min(fewest[bits - c] + slice_blocks[c]
                           for c in range(1, min(widest, bits) + 1))
    return fewest[width]


@dataclass(frozen=True)
class Board:
    name: str
    platform: str        # "module:class" in amaranth_boards
    target: str          # a part of TARGETS
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
