"""The whole network top in Amaranth simulation: RTL == golden, spike for spike, cycle for
cycle."""

import numpy as np
import pytest

from spikewright.golden import load
from spikewright.golden.random_network import (random_conv_network, random_dense_network,
                                              random_pixels)
from spikewright.hdl_gen.config import HwConfig
from spikewright.hdl_gen.emit import result_payload_layout
from spikewright.hdl_gen.plan import make_plan
from spikewright.sim import amaranth_bench
from spikewright.sim.expected import compare, expected_for


def check(net, pixels, config, **sim_options):
    """The top in Amaranth's simulator: every class, logit, spike and (with no gaps or
    stalls) cycle count equal to golden and the cycle model."""
    plan = make_plan(net, config)
    recording = amaranth_bench.record(plan, pixels, **sim_options)
    checked = not sim_options.get("backpressure") and not sim_options.get("input_gaps")
    report = compare(expected_for(plan, pixels), recording, result_payload_layout(plan),
                     check_cycles=checked)
    assert report["first_mismatch"] is None, (config, report["first_mismatch"])
    assert report["mismatches"] == 0 and report["images"] == len(pixels)
    if checked:
        assert report["cycle_mismatches"] == 0
    return recording


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
        cycles[lanes] = check(net, pixels, HwConfig(lanes=lanes)).cycles
    assert cycles[1] > cycles[3] > cycles[7] > cycles[20]


@pytest.mark.dataset
@pytest.mark.slow
def test_mnist_mlp_equals_golden_on_test_images():
    from spikewright.golden.datasets import load_dataset
    from spikewright.shipped import model_dir
    net = load(model_dir("mnist_mlp_t1") / "ir")
    pixels, _ = load_dataset("mnist", "test", limit=2)
    check(net, pixels, HwConfig(lanes=96))
    check(net, pixels[:1], HwConfig(lanes=50))  # 50 does not divide 768
