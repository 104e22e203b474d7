"""The part and board facts: one table that synthesis, folding, SPRAM and the boards read."""

import pytest

from spikewright.hdl_gen.parts import BOARDS, ECP5_PLL, TARGETS, block_rams, board


def test_every_part_names_its_cells_and_block_ram_shapes():
    for part in TARGETS.values():
        assert part.cells.lut and part.cells.ff and part.cells.bram
        widths = [w for w, _ in part.block_shapes]
        assert widths == sorted(widths, reverse=True)
        # every shape holds the same data bits (widths of 9, 18, 36, 72 carry a parity bit
        # per byte)
        data_bits = {w * d // 9 * 8 if w % 9 == 0 else w * d for w, d in part.block_shapes}
        assert len(data_bits) == 1
    assert TARGETS["ecp5-85k"].block_bits == 18432
    assert TARGETS["ice40-up5k"].spram_primitive in TARGETS["ice40-up5k"].cells.spram


def test_block_rams_take_the_best_shape_of_the_part():
    assert block_rams(36, 512) == 1 and block_rams(18, 1024) == 1 and block_rams(37, 512) == 2
    assert block_rams(16, 256, "ice40-up5k") == 1 and block_rams(16, 257, "ice40-up5k") == 2


#: DP16KD blocks Yosys 0.70 gave one read-only memory of each shape (``synth_ecp5 -run
#: :map_ffs``, random contents; 2026-12-06), among them every weight and bitmap memory
#: of the seed CNN.
YOSYS_BLOCKS = {(128, 4608): 32, (128, 4096): 29, (128, 4100): 32, (128, 5000): 36,
                (36, 4608): 9, (4, 4608): 1, (8, 4608): 2, (512, 288): 15, (512, 576): 29,
                (512, 1024): 29, (256, 96): 8, (256, 256): 8, (80, 512): 3, (32, 1352): 3,
                (32, 1152): 3, (32, 288): 1, (64, 200): 2, (64, 128): 2}


@pytest.mark.parametrize("shape", sorted(YOSYS_BLOCKS))
def test_block_rams_are_what_yosys_maps(shape):
    """Words side by side in a block word, and slices of several shapes: 128 x 4608 takes
    32 blocks, not the 36 of its best single shape."""
    assert block_rams(*shape) == YOSYS_BLOCKS[shape]


def test_every_board_is_on_a_known_part_and_within_its_pll():
    for spec in BOARDS.values():
        assert spec.target in TARGETS and spec.clock_mhz > 0 and spec.baud > 0
        if spec.clock_mhz != spec.oscillator_mhz:
            assert TARGETS[spec.target].family == "ecp5"
            assert ECP5_PLL.pfd_mhz[0] <= spec.oscillator_mhz <= ECP5_PLL.pfd_mhz[1]
    with pytest.raises(ValueError, match="unknown board 'nope'; the boards are"):
        board("nope")
