"""The dataflow plan: which networks it builds, and the stage-cycle functions."""

import numpy as np
import pytest

from spikewright.golden.random_network import random_conv_network, random_dense_network
from spikewright.hdl_gen.config import HwConfig
from spikewright.hdl_gen.errors import UnsupportedLayerError
from spikewright.hdl_gen.plan import make_plan
from spikewright.hdl_gen.stream_plan import PASS_OVERHEAD, SCAN_WIDTH


def dataflow(net, **options):
    return make_plan(net, HwConfig(architecture="dataflow", **options))


def test_a_scan_costs_one_cycle_per_event_and_per_empty_chunk():
    net = random_dense_network(np.random.default_rng(1), max_width=6, neuron="if", depth=1)
    stage = dataflow(net, lanes=2).stream.stages[0]
    spikes = np.zeros(stage.in_bits, dtype=bool)
    assert stage.scan_cycles(spikes) == stage.chunks
    spikes[[0, 1, min(2, stage.in_bits - 1)]] = True
    events = int(spikes.sum())
    assert stage.scan_cycles(spikes) == events + stage.chunks - 1
    steps = np.stack([spikes] * net.timesteps)
    assert stage.stage_cycles(steps) == net.timesteps * stage.layer.groups * (
        stage.scan_cycles(spikes) + PASS_OVERHEAD)


def test_a_wide_input_is_scanned_in_chunks():
    from spikewright.golden.encoding import make_input_spec
    from spikewright.golden.ir import Dense, Flatten, Network
    net = Network(1, make_input_spec((1, 10, 10), k=4, timesteps=1), (
        Flatten("f"), Dense("fc1", 100, 3, "if", np.ones((3, 100), np.int64),
                            np.zeros(3, np.int64), np.ones(3, np.int64)),
        Dense("out", 3, 2, "none", np.ones((2, 3), np.int64), np.zeros(2, np.int64))))
    stage = dataflow(net, lanes=3).stream.stages[0]
    assert stage.chunks == -(-100 // SCAN_WIDTH) == 4
    spikes = np.zeros(100, dtype=bool)
    spikes[:SCAN_WIDTH + 1] = True  # chunk 0 full, one event in chunk 1, two empty chunks
    assert stage.scan_cycles(spikes) == SCAN_WIDTH + 1 + 2


def test_what_the_dataflow_architecture_does_not_build_is_refused():
    conv = random_conv_network(np.random.default_rng(2))
    with pytest.raises(UnsupportedLayerError, match=r"is a conv2d; the dataflow architecture "
                                                    r"builds dense networks"):
        dataflow(conv)
    asg = random_dense_network(np.random.default_rng(3), neuron="asg", depth=1)
    with pytest.raises(UnsupportedLayerError, match=r"has ASG neurons; the dataflow "
                                                    r"architecture builds IF neurons"):
        dataflow(asg)


def test_pixels_per_beat_must_divide_a_channel_and_needs_the_dataflow_design():
    net = random_dense_network(np.random.default_rng(4), neuron="if", depth=1)
    positions = net.input.shape[1] * net.input.shape[2]
    odd = next(b for b in range(2, 17) if positions % b)
    with pytest.raises(ValueError, match=rf"^pixels_per_beat must divide the {positions} "
                                         rf"pixels of an image channel, not {odd}$"):
        dataflow(net, pixels_per_beat=odd)
    with pytest.raises(ValueError, match=r"^pixels_per_beat 2 needs the dataflow "
                                         r"architecture"):
        HwConfig(pixels_per_beat=2)
    with pytest.raises(ValueError, match=r"^pixels_per_beat must be an integer from 1 to 16"):
        HwConfig(architecture="dataflow", pixels_per_beat=17)
