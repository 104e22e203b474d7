"""The whole network top in Amaranth simulation: RTL == golden, spike for spike, cycle for
cycle."""

import numpy as np
import pytest

from spikeforge.golden import load, model
from spikeforge.golden.random_network import (random_conv_network, random_dense_network,
                                              random_pixels)
from spikeforge.hdl_gen.config import HwConfig
from spikeforge.hdl_gen.cycle_model import cycles_for_result
from spikeforge.hdl_gen.plan import make_plan
from spikeforge.hdl_gen.pysim import simulate


def golden_spikes(result, index, plan):
    """Golden trace of one image as the debug ports report it."""
    timesteps = plan.network.timesteps
    inputs = result.trace["input"][index].reshape(timesteps, -1)
    input_spikes = sorted((t, int(a)) for t, a in zip(*np.nonzero(inputs)))
    hidden = []
    for layer in plan.layers[:-1]:
        spikes = result.trace[layer.name][index].reshape(timesteps, -1)
        offset = result.windows[layer.name] * timesteps
        hidden += [(layer.index, offset + int(t), int(a)) for t, a in zip(*np.nonzero(spikes))]
    return input_spikes, sorted(hidden)


def check(net, pixels, config, **sim_options):
    plan = make_plan(net, config)
    result = model.run(net, pixels, trace=True)
    expected_cycles = [c.total for c in cycles_for_result(plan, result)]
    images = simulate(plan, pixels, **sim_options)
    for i, image in enumerate(images):
        where = f"image {i}, lanes {config.lanes}"
        assert image.cls == result.predictions[i], where
        assert image.logits == result.logits[i].tolist(), where
        input_spikes, hidden_spikes = golden_spikes(result, i, plan)
        assert sorted(image.input_spikes) == input_spikes, where
        assert sorted(image.hidden_spikes) == hidden_spikes, where
        if not sim_options.get("backpressure") and not sim_options.get("input_gaps"):
            assert image.cycles == expected_cycles[i], where
    return images


@pytest.mark.parametrize("seed", range(16))
def test_random_dense_networks_equal_golden_and_the_cycle_model(seed):
    rng = np.random.default_rng(seed)
    net = random_dense_network(rng, max_width=12)
    lanes = int(rng.integers(1, 6))
    check(net, random_pixels(rng, net, 3), HwConfig(lanes=lanes))


@pytest.mark.parametrize("seed", range(16))
def test_random_conv_networks_equal_golden_and_the_cycle_model(seed):
    rng = np.random.default_rng(1000 + seed)
    net = random_conv_network(rng)
    check(net, random_pixels(rng, net, 2), HwConfig(lanes=int(rng.integers(1, 4))))


@pytest.mark.parametrize("seed", range(4))
def test_results_are_unchanged_by_input_gaps_and_backpressure(seed):
    rng = np.random.default_rng(100 + seed)
    net = random_dense_network(rng, max_width=8, timesteps=int(rng.integers(1, 4)))
    check(net, random_pixels(rng, net, 4), HwConfig(lanes=3), seed=seed, input_gaps=0.3,
          backpressure=0.5)


def test_hwconfig_changes_cycles_never_outputs():
    rng = np.random.default_rng(42)
    net = random_dense_network(rng, max_width=20, depth=2, timesteps=3)
    pixels = random_pixels(rng, net, 2)
    cycles = {}
    for lanes in (1, 3, 7, 20):
        cycles[lanes] = [im.cycles for im in check(net, pixels, HwConfig(lanes=lanes))]
    assert cycles[1] > cycles[3] > cycles[7] > cycles[20]


@pytest.mark.slow
def test_mnist_mlp_equals_golden_on_test_images():
    from spikeforge.golden.datasets import load_dataset
    from spikeforge.shipped import model_dir
    net = load(model_dir("mnist_mlp_t1") / "ir")
    pixels, _ = load_dataset("mnist", "test", limit=2)
    check(net, pixels, HwConfig(lanes=96))
    check(net, pixels[:1], HwConfig(lanes=50))  # 50 does not divide 768
