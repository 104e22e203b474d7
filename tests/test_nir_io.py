"""golden.nir_io: the IR as a NIR graph and back; an independent NIR consumer (nirtorch)."""

import nir
import numpy as np
import pytest

from spikewright import flow
from spikewright.golden import encoding, nir_io
from spikewright.golden import model as golden_model
from spikewright.golden.errors import UnsupportedLayerError
from spikewright.golden.random_network import (random_conv_network, random_dense_network,
                                               random_pixels)
from spikewright.nir_consumer import run_graph


def _consumer_logits(network, pixels, graph=None):
    spikes = encoding.input_spike_train(encoding.input_counts(network.input, pixels),
                                        network.timesteps)
    return run_graph(graph or nir_io.to_nir(network), spikes)


@pytest.mark.parametrize("model", ["mnist_mlp_t1", "mnist_cnn_t1"])
def test_shipped_models_come_back_with_the_same_digest(model, tmp_path):
    network = flow.load(model).network
    nir_io.write(network, tmp_path / "net.nir")
    back, report = nir_io.read(tmp_path / "net.nir")
    assert back.digest() == network.digest()
    assert back.metadata == network.metadata and report["exact"]


@pytest.mark.dataset
@pytest.mark.parametrize("model", ["mnist_mlp_t1", "mnist_cnn_t1"])
def test_nirtorch_runs_the_shipped_models_to_golden_logits(model, tmp_path):
    from spikewright.golden.datasets import load_dataset
    network = flow.load(model).network
    nir_io.write(network, tmp_path / "net.nir")
    pixels, _ = load_dataset("mnist", "test", None, 100)
    logits = _consumer_logits(network, pixels, nir.read(str(tmp_path / "net.nir")))
    assert np.array_equal(logits, golden_model.run(network, pixels).logits)


@pytest.mark.parametrize("seed", range(6))
def test_random_t1_if_networks_run_in_nirtorch_to_golden_logits(seed):
    rng = np.random.default_rng(seed)
    make = random_dense_network if seed % 2 else random_conv_network
    network = make(rng, timesteps=1, neuron="if")
    pixels = random_pixels(rng, network, 20)
    assert np.array_equal(_consumer_logits(network, pixels),
                          golden_model.run(network, pixels).logits)


def test_at_t_above_1_the_reset_to_zero_is_the_documented_approximation():
    """NIR's IF resets to v_reset; ours subtracts the threshold. A consumer of the graph
    therefore never gives more spikes than golden, and differs on some images."""
    rng = np.random.default_rng(7)
    differ = 0
    for _ in range(5):
        network = random_dense_network(rng, timesteps=4, neuron="if", depth=1)
        pixels = random_pixels(rng, network, 30)
        ours = golden_model.run(network, pixels).logits
        theirs = _consumer_logits(network, pixels)
        differ += int((ours != theirs).any(1).sum())
    assert differ > 0


@pytest.mark.parametrize("seed", range(4))
def test_an_importer_that_ignores_the_metadata_gets_the_same_logits(seed):
    rng = np.random.default_rng(100 + seed)
    make = random_dense_network if seed % 2 else random_conv_network
    network = make(rng, neuron="if", timesteps=1)
    graph = nir_io.to_nir(network)
    thresholds = network.input.threshold_array()
    back, report = nir_io.from_nir(graph, use_metadata=False, timesteps=1)
    assert not report["exact"]
    pixels = random_pixels(rng, network, 20)
    counts = encoding.input_counts(network.input, pixels)
    spikes_in = counts.reshape(len(pixels), *back.input.shape)
    pixels_back = np.where(spikes_in > 0, 255, 0).astype(np.uint8)
    assert thresholds.shape[1] == 1
    assert np.array_equal(golden_model.run(back, pixels_back).logits,
                          golden_model.run(network, pixels).logits)


def _foreign_graph(hidden_threshold=1.0, neuron=None):
    rng = np.random.default_rng(0)
    w1, b1 = rng.normal(size=(6, 12)).astype(np.float32), rng.normal(size=6).astype(np.float32)
    w2, b2 = rng.normal(size=(3, 6)).astype(np.float32), np.zeros(3, np.float32)
    neuron = neuron or nir.IF(r=np.ones(6, np.float32),
                              v_threshold=np.full(6, hidden_threshold, np.float32),
                              v_reset=np.zeros(6, np.float32))
    return nir.NIRGraph.from_list(nir.Input(input_type={"input": np.array([12])}),
                                  nir.Affine(weight=w1, bias=b1), neuron,
                                  nir.Affine(weight=w2, bias=b2),
                                  nir.Output(output_type={"output": np.array([3])})), w1


def test_a_foreign_float_graph_is_quantized_and_the_error_reported():
    graph, w1 = _foreign_graph()
    network, report = nir_io.from_nir(graph, timesteps=1, weight_width=6)
    hidden = network.layers[1]
    assert network.timesteps == 1 and hidden.weight_width == 6
    assert np.abs(hidden.weight).max() == 31
    scale = np.array(report["layers"][hidden.name]["scale"])
    assert np.allclose(scale, 31 / np.abs(w1).max(1))
    assert np.array_equal(hidden.threshold, np.floor(scale * 1.0).astype(int) + 1)
    error = report["layers"][hidden.name]["max_weight_error"]
    assert 0 < error <= 0.5 / scale.min() + 1e-6


def test_foreign_graphs_the_ir_cannot_express_are_refused():
    graph, _ = _foreign_graph()
    with pytest.raises(ValueError, match="--timesteps"):
        nir_io.from_nir(graph)
    lif = nir.LIF(tau=np.ones(6), r=np.ones(6), v_leak=np.zeros(6), v_threshold=np.ones(6))
    with pytest.raises(UnsupportedLayerError, match="LIF.*leaks"):
        nir_io.from_nir(_foreign_graph(neuron=lif)[0], timesteps=1)
    reset = nir.IF(r=np.ones(6), v_threshold=np.ones(6), v_reset=np.full(6, 0.5))
    with pytest.raises(UnsupportedLayerError, match="resets to v_reset = 0.5"):
        nir_io.from_nir(_foreign_graph(neuron=reset)[0], timesteps=2)


@pytest.mark.parametrize("field, value, message", [
    ("v_reset", 0.0, r"^IF node 'if' resets to v_reset = 0 after a spike, as NIR's IF does; the "
                     r"IR's IF resets by subtraction, which is the same only at T = 1: import "
                     r"with --timesteps 1 \(graphs that spikewright exported keep their reset "
                     r"in the metadata and import exactly at any T\)$"),
    ("r", 1e4, r"^IF node 'if' has r = 10000; the IR's IF adds its input once per step \(r = "
               r"1\), and what r means depends on a step length dt that the graph does not "
               r"hold: fold r \* dt into the preceding weights and bias and write r = 1$"),
    ("v_threshold", 0.0, r"^IF node 'if' has v_threshold 0; a threshold must be a positive "
                         r"finite number \(at or below zero a neuron would fire on no input\)$"),
    ("v_threshold", np.nan, r"^IF node 'if' has v_threshold nan;"),
])
def test_foreign_if_nodes_that_would_run_differently_are_refused(field, value, message):
    """A reset to zero at T > 1 (NIR 1.0.8's IF), a gain r != 1 (SpikingJelly writes
    1/dt), a threshold at or below zero: each would give another network; refused by node."""
    values = {"r": np.ones(6), "v_threshold": np.ones(6), "v_reset": np.zeros(6)}
    values[field] = np.full(6, value)
    graph = _foreign_graph(neuron=nir.IF(**values))[0]
    with pytest.raises(UnsupportedLayerError, match=message):
        nir_io.from_nir(graph, timesteps=2 if field == "v_reset" else 1)


def test_foreign_weights_that_are_not_finite_are_refused():
    graph, _ = _foreign_graph()
    graph.nodes["affine"].weight[0, 0] = np.nan
    with pytest.raises(UnsupportedLayerError, match=r"^node 'affine' has a weight that is NaN or "
                                                    r"infinite; every weight and bias must be "
                                                    r"a finite number$"):
        nir_io.from_nir(graph, timesteps=1)


def test_average_pooling_is_exported_as_sum_pooling():
    from spikewright.golden.ir import Conv2d, Network
    rng = np.random.default_rng(3)
    network = random_conv_network(rng, timesteps=1, neuron="if", depth=1, depthwise=False)
    conv = network.layers[0]
    channels = conv.out_channels
    _, shape = network.layer_shapes(0)
    pool = Conv2d("pool1", channels, channels, 1, 1, 0, channels, "if",
                  np.ones((channels, 1, 1, 1), int), np.zeros(channels, int),
                  np.ones(channels, int))
    assert nir_io.is_pool(pool)
    layers = (conv, pool, *network.layers[1:])
    network = Network(network.timesteps, network.input, layers)
    graph = nir_io.to_nir(network)
    assert type(graph.nodes["pool1"]).__name__ == "SumPool2d"
    assert nir_io.from_nir(graph)[0].digest() == network.digest()
    assert shape[0] == channels
