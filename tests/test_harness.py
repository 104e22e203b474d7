"""Reading the HDL harness's log (pure Python, no simulator)."""

import numpy as np
import pytest

from spikewright.sim.harness import parse_log


TRACES = {"input": {"bits": "trace_input_bits"},
          "conv1": {"index": "i", "word": "w", "word_width": 2, "words": 2}}


def test_bitmaps_and_words_belong_to_the_images_in_order():
    log = ("B 0 5\nW 1 0 3\nW 1 1 1\nB 0 a\nR 120 2a\nW 1 1 2\nW 1 0 0\nR 98 1\nE 260\n")
    recording, problem = parse_log(log, images=2, traces=TRACES)
    assert problem is None and recording.simulated_cycles == 260
    assert recording.payloads == [0x2a, 0x1] and recording.cycles == [120, 98]
    assert recording.bitmaps == [{"input": 0x5, "conv1": 0b0111},
                                 {"input": 0xa, "conv1": 0b1000}]


def test_a_short_or_garbled_log_is_a_problem_not_a_pass():
    assert parse_log("R 1 0\n", images=2, traces={})[1] == "the log ends after 1 of 2 results"
    assert parse_log("R 1 0\n", images=1, traces={})[1] == "the log ends after 1 of 1 results"
    assert parse_log("TIMEOUT 500\n", images=1, traces={})[1] == ("no result for 500 cycles (timeout) "
                                                       "after image 0")
    assert parse_log("X\n", images=1, traces={})[1] == "unexpected harness log line 'X'"


@pytest.mark.parametrize("bench", ["cocotb", "harness", "amaranth"])
def test_every_bench_refuses_a_probability_outside_0_to_1_before_building(tmp_path, bench):
    from spikewright.sim.verify import record
    pixels = np.zeros((1, 1, 8, 8), dtype=np.uint8)
    with pytest.raises(ValueError, match=r"^input_gaps must be a probability in \[0, 1\), "
                                         r"not 1.5$"):
        record(bench, tmp_path, None, pixels, simulator="icarus", input_gaps=1.5)
    with pytest.raises(ValueError, match=r"^backpressure must be a probability in \[0, 1\), "
                                         r"not -0.1$"):
        record(bench, tmp_path, None, pixels, simulator="icarus", backpressure=-0.1)


def test_a_dataflow_log_files_each_stage_bitmap_with_its_image():
    log = "B 0 5\nB 1 3\nB 0 6\nR 40 2a\nB 1 0\nR 52 1\nE 90\n"
    recording, problem = parse_log(log, images=2, traces={"input": {}, "fc1": {}})
    assert problem is None and recording.payloads == [0x2a, 0x1]
    assert recording.cycles == [40, 52]
    assert recording.bitmaps == [{"input": 5, "fc1": 3}, {"input": 6, "fc1": 0}]
    assert parse_log("B 7 1\n", images=1, traces={"input": {}})[1].startswith(
        "bad harness bitmap line")


def test_a_conv_stage_words_are_assembled_into_its_image_bitmap():
    """Words of 3 bits, 2 per image: word ``i`` lands at bits ``3 i`` on."""
    traces = {"input": {}, "conv1": {"word_width": 3, "words": 2}}
    log = "W 1 1 5\nW 1 0 2\nW 1 0 7\nR 9 0\nW 1 1 0\nR 12 1\nE 20\n"
    recording, problem = parse_log(log, images=2, traces=traces)
    assert problem is None
    assert [b["conv1"] for b in recording.bitmaps] == [0b101010, 0b000111]
    assert parse_log("W 1 x 5\n", images=1, traces=traces)[1].startswith(
        "bad harness word line")
