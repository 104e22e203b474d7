import numpy as np
import pytest

from spikewright.golden.encoding import (input_counts, input_spike_train, make_input_spec,
                                        vr_thresholds)


def test_vr_thresholds_are_ceil_255_j_over_k():
    assert vr_thresholds(4, 1) == (64,)
    assert vr_thresholds(8, 2) == (32, 64)
    assert vr_thresholds(3, 4) == (85, 170, 255, 256)


def test_mnist_t1_k4_pixel_spikes_iff_x_at_least_a_quarter():
    spec = make_input_spec((1, 1, 4), k=4, timesteps=1)
    pixels = np.array([[[[0, 63, 64, 255]]]], dtype=np.uint8)
    assert input_counts(spec, pixels).tolist() == [[[[0, 0, 1, 1]]]]


def test_counts_equal_min_floor_kx_T_for_every_pixel():
    for k, timesteps in [(4, 1), (8, 2), (4, 4), (3, 5), (16, 4)]:
        spec = make_input_spec((1, 1, 256), k=k, timesteps=timesteps)
        p = np.arange(256, dtype=np.uint8).reshape(1, 1, 1, 256)
        expected = np.minimum(np.floor(k * np.arange(256) / 255 + 1e-12), timesteps)
        assert input_counts(spec, p).ravel().tolist() == expected.astype(int).tolist()


def test_ice_makes_three_channels_per_source_on_grids_k_minus_1_k_k_plus_1():
    spec = make_input_spec((2, 3, 3), k=4, timesteps=1, ice=True)
    assert [(c.source, c.thresholds) for c in spec.channels] == [
        (0, (85,)), (0, (64,)), (0, (51,)), (1, (85,)), (1, (64,)), (1, (51,))]
    assert spec.encoded_shape == (6, 3, 3)


def test_ice_needs_k_of_at_least_2():
    with pytest.raises(ValueError, match=r"^ICE needs k >= 2 \(it uses the grid k-1\), not k=1$"):
        make_input_spec((1, 2, 2), k=1, timesteps=1, ice=True)


def test_spike_times_are_evenly_spaced_by_the_accumulator():
    counts = np.array([0, 1, 2, 3, 4])
    spikes = input_spike_train(counts, 4).T.astype(int).tolist()
    assert spikes == [[0, 0, 0, 0], [0, 0, 0, 1], [0, 1, 0, 1], [0, 1, 1, 1], [1, 1, 1, 1]]


def test_pixels_must_be_uint8_of_the_input_shape():
    spec = make_input_spec((1, 2, 2), k=4, timesteps=1)
    with pytest.raises(TypeError, match=r"^pixels must have dtype uint8 \(values 0\.\.255\), "
                                        r"not float32$"):
        input_counts(spec, np.zeros((1, 1, 2, 2), dtype=np.float32))
    with pytest.raises(ValueError, match=r"^pixels must have shape \[N, 1, 2, 2\], "
                                         r"not \[1, 1, 3, 2\]$"):
        input_counts(spec, np.zeros((1, 1, 3, 2), dtype=np.uint8))
