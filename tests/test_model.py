import numpy as np
from hypothesis import given, settings, strategies as st

from spikewright.golden import model, quant_ann
from spikewright.golden.random_network import (random_conv_network, random_dense_network,
                                              random_pixels)

from helpers import dense_chain


def pixels(*values):
    return np.array(values, dtype=np.uint8).reshape(1, 1, 1, -1)


def test_hand_computed_if_network_at_T2():
    # T=2, thresholds (1, 2): pixel 2 -> n=2 (spikes at both steps), pixel 1 -> n=1 (step 1).
    # fc1 (IF, theta 3): I = [2*s0 + 1*s1 + 0] -> step0: 2 (no), step1: 2+3=5 (spike, V=2)
    # out: logits = sum_t (W h(t) + b) = (0 + 1) + (4 + 1) = 6 for class 0; class 1: -1 -1 + 0 = ...
    net = dense_chain(2, [[2, 1]], [0], [3], "if", [[4], [-2]], [1, 0], 2)
    result = model.run(net, pixels(2, 1), trace=True)
    assert result.trace["input"][0].astype(int).tolist() == [[[[1, 0]]], [[[1, 1]]]]
    assert result.trace["fc1"][0].astype(int).tolist() == [[0], [1]]
    assert result.logits.tolist() == [[6, -2]]
    assert result.predictions.tolist() == [0]
    assert result.spike_counts["input"].tolist() == [3]
    assert result.spike_counts["fc1"].tolist() == [1]
    # synaptic operations: 3 input spikes x 1 neuron + 1 hidden spike x 2 classes
    assert result.synops["fc1"].tolist() == [3]
    assert result.synops["out"].tolist() == [2]


def test_hand_computed_asg_network_emits_in_the_next_window():
    net = dense_chain(2, [[2, 1]], [0], [3], "asg", [[4], [-2]], [1, 0], 2)
    result = model.run(net, pixels(2, 1), trace=True)
    # A = 2 + 3 = 5 -> N = floor(5/3) = 1; U: 5, 10 >= 6 -> spike at step 1 of window 1
    assert result.trace["fc1"][0].astype(int).tolist() == [[0], [1]]
    assert result.windows == {"input": 0, "fc1": 1}
    assert net.total_timesteps == 4
    assert result.logits.tolist() == [[6, -2]]


def test_argmax_picks_the_lowest_index_on_a_tie():
    net = dense_chain(1, [[1]], [0], [1], "if", [[1], [1], [1]], [0, 3, 3], 1)
    assert model.run(net, pixels(0)).predictions.tolist() == [1]


def test_result_is_independent_of_the_batch_size(rng):
    net = random_dense_network(rng)
    px = random_pixels(rng, net, 37)
    a, b = model.run(net, px, batch_size=5), model.run(net, px, batch_size=1000)
    assert np.array_equal(a.logits, b.logits)
    assert all(np.array_equal(a.synops[k], b.synops[k]) for k in a.synops)


def test_conv_synops_count_each_synapse_a_spike_reaches():
    from spikewright.golden.ir import Conv2d, Dense, Flatten, InputChannel, InputSpec, Network
    # 1x3x3 input, all pixels spike once; 2x2 kernel stride 1 no padding, 1 output channel:
    # output positions covering each input: corners 1, edges 2, centre 4 -> 16 synops.
    spec = InputSpec((1, 3, 3), (InputChannel(0, (0,)),))
    net = Network(1, spec, (
        Conv2d("c", 1, 1, 2, 1, 0, 1, "if", np.ones((1, 1, 2, 2), np.int64),
               np.zeros(1, np.int64), np.full(1, 9, np.int64)),
        Flatten("f"),
        Dense("o", 4, 2, "none", np.ones((2, 4), np.int64), np.zeros(2, np.int64))))
    result = model.run(net, np.zeros((1, 1, 3, 3), np.uint8))
    assert result.synops["c"].tolist() == [16]
    assert result.logits.tolist() == [[0, 0]]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), conv=st.booleans())
def test_all_asg_snn_equals_the_integer_quantized_ann(seed, conv):
    rng = np.random.default_rng(seed)
    make = random_conv_network if conv else random_dense_network
    net = make(rng, neuron="asg")
    px = random_pixels(rng, net, 16)
    logits, counts = quant_ann.run_counts(net, px)
    result = model.run(net, px, trace=True)
    assert np.array_equal(result.logits, logits)
    for name, trace in result.trace.items():
        assert np.array_equal(trace.sum(axis=1), counts[name])


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_if_and_asg_are_the_same_neuron_at_T1(seed):
    rng = np.random.default_rng(seed)
    net = random_dense_network(rng, timesteps=1, neuron="if")
    px = random_pixels(rng, net, 16)
    assert np.array_equal(model.run(net, px).logits, quant_ann.run_counts(net, px)[0])
