"""The stream model: one image alone takes the sum of its stages plus the hand-overs; images
back to back are spaced by the slowest stage."""

import numpy as np

from spikewright.golden import model
from spikewright.golden.random_network import random_dense_network, random_pixels
from spikewright.hdl_gen.config import HwConfig
from spikewright.hdl_gen.plan import make_plan
from spikewright.hdl_gen.stream_model import stage_times, stream_timing


def case(images, seed=5):
    rng = np.random.default_rng(seed)
    net = random_dense_network(rng, max_width=8, neuron="if", depth=2, timesteps=2)
    plan = make_plan(net, HwConfig(lanes=2))
    return plan, model.run(net, random_pixels(rng, net, images), trace=True)


def test_one_image_takes_its_stages_and_one_cycle_per_hand_over():
    plan, result = case(1)
    timing = stream_timing(plan, result)
    stages = stage_times(plan, result)
    dense = sum(times[0] for times in stages.values())
    # encoder beats; per dense stage: start + passes + release; argmax: take + classes
    hand_overs = 1 + 2 * len(stages)
    expected = (plan.stream.encoder.stage_cycles() - 1 + dense + hand_overs
                + plan.stream.argmax_cycles())
    assert timing.results[0] == expected
    assert timing.latencies[0] == expected


def test_back_to_back_results_are_spaced_by_the_slowest_stage():
    plan, result = case(30)
    timing = stream_timing(plan, result)
    slowest = max(np.mean(v) for v in timing.stages.values())
    assert np.all(np.diff(timing.results) > 0)
    assert slowest <= timing.interval <= slowest + 2 * len(timing.stages)
    assert timing.interval < timing.latencies.mean()
