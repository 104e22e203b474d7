"""Reading the HDL harness's log (pure Python, no simulator)."""

from spikeforge.sim.harness import parse_log


def test_spikes_belong_to_the_image_of_the_next_result():
    log = "I 3 5\nH 1 0 7\nR 120 2a\nH 1 1 4\nR 98 1\nE 260\n"
    payloads, cycles, inputs, hidden, end, problem = parse_log(log, images=2, timesteps=2)
    assert problem is None and end == 260
    assert payloads == [0x2a, 0x1] and cycles == [120, 98]
    assert inputs == [{(0, 5), (1, 5)}, set()]
    assert hidden == [{(1, 0, 7)}, {(1, 1, 4)}]


def test_a_short_or_garbled_log_is_a_problem_not_a_pass():
    assert parse_log("R 1 0\n", images=2, timesteps=1)[-1] == "the log ends after 1 of 2 results"
    assert "timeout" in parse_log("TIMEOUT 500\n", images=1, timesteps=1)[-1]
    assert "unexpected" in parse_log("X\n", images=1, timesteps=1)[-1]


def test_both_benches_refuse_a_probability_outside_0_to_1_before_building(tmp_path):
    import numpy as np
    import pytest

    from spikeforge.sim.runner import run_images
    pixels = np.zeros((1, 1, 8, 8), dtype=np.uint8)
    for bench in ("cocotb", "harness"):
        with pytest.raises(ValueError, match=r"input_gaps must be a probability in \[0, 1\), "
                                             r"not 1.5"):
            run_images(tmp_path, tmp_path, pixels, simulator="icarus", input_gaps=1.5,
                       bench=bench)
        with pytest.raises(ValueError, match=r"backpressure must be a probability"):
            run_images(tmp_path, tmp_path, pixels, simulator="icarus", backpressure=-0.1,
                       bench=bench)
