import numpy as np

from spikewright.golden.neurons import asg_window, if_window, readout_window


def steps(*values):
    return np.array(values, dtype=np.int64).reshape(len(values), 1, 1)


def test_if_integrates_fires_at_threshold_and_resets_by_subtraction():
    # theta = 5; V: 3 -> 6 (spike, 1) -> 1+9=10 (spike, 5; one spike per step) -> 5-2=3 -> 8 (spike, 3)
    spikes = if_window(steps(3, 3, 9, -2, 5), np.array([5]))
    assert spikes.ravel().astype(int).tolist() == [0, 1, 1, 0, 1]


def test_if_fires_when_membrane_equals_threshold():
    assert if_window(steps(4), np.array([4])).ravel().tolist() == [True]
    assert if_window(steps(3), np.array([4])).ravel().tolist() == [False]


def test_asg_emits_min_T_floor_A_over_theta_evenly_in_the_next_window():
    # T = 4, theta = 3: A = 2+2+2+2 = 8 -> N = floor(8/3) = 2; U += 8 each step, fire at 12:
    # U: 8, 16 (spike, 4), 12 (spike, 0), 8 -> spikes at steps 1 and 2.
    assert asg_window(steps(2, 2, 2, 2), np.array([3])).ravel().astype(int).tolist() == [0, 1, 1, 0]
    # A = 40 >= T*theta: every step fires.
    assert asg_window(steps(10, 10, 10, 10), np.array([3])).ravel().all()
    # A < 0: silent.
    assert not asg_window(steps(5, -9, 1, 1), np.array([1])).any()


def test_readout_accumulates_the_window():
    assert readout_window(steps(3, -1, 4)).ravel().tolist() == [6]
