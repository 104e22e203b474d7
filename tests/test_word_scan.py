"""How a dense stage after a conv stage scans the conv's words (hdl_gen/word_scan.py)."""

import numpy as np
import pytest

from spikewright.golden.random_network import random_conv_network
from spikewright.hdl_gen.stream_plan import SCAN_WIDTH
from spikewright.hdl_gen.word_scan import WordScan, word_scan_of


@pytest.mark.parametrize("shape, width, pieces", [
    ((64, 7, 7), 32, 2), ((16, 7, 7), 16, 1), ((10, 2, 3), 16, 1), ((40, 2, 2), 32, 2),
    ((1, 3, 3), 8, 1), ((96, 1, 2), 32, 4)])
def test_the_scan_order_numbers_every_input_once_word_by_word(shape, width, pieces):
    scan = WordScan(shape, SCAN_WIDTH)
    assert (scan.width, scan.pieces) == (width, pieces)
    order = scan.order()
    assert len(order) == scan.inputs == scan.chunks * width
    assert sorted(order[order >= 0]) == list(range(int(np.prod(shape))))
    channels, positions = shape[0], shape[1] * shape[2]
    for i in np.flatnonzero(order >= 0):  # chunk i // width is piece (i // width) % pieces
        chunk, bit = divmod(int(i), width)
        position, piece = divmod(chunk, pieces)
        assert order[i] == (piece * width + bit) * positions + position


def test_arranged_spikes_are_the_spikes_at_their_scan_index():
    scan = WordScan((40, 2, 3), SCAN_WIDTH)
    spikes = np.random.default_rng(1).random((2, 3, 240)) < 0.3
    arranged = scan.arrange(spikes)
    order = scan.order()
    assert arranged.shape == (2, 3, scan.inputs)
    assert (arranged[..., order >= 0] == spikes[..., order[order >= 0]]).all()
    assert not arranged[..., order < 0].any()


def test_only_a_dense_layer_fed_by_a_conv_scans_words():
    net = random_conv_network(np.random.default_rng(3), neuron="if", depthwise=False)
    kinds = [layer.kind for layer in net.layers]
    scans = [word_scan_of(net, k, SCAN_WIDTH) for k in range(len(net.layers))]
    first_dense = kinds.index("dense")
    assert scans[first_dense] is not None
    assert scans[first_dense].shape == tuple(net.layer_shapes(first_dense - 1)[0])
    assert all(s is None for k, s in enumerate(scans) if k != first_dense)
