"""The dataflow plan: which networks it builds, and the stage-cycle functions."""

import numpy as np
import pytest

from spikewright.golden.random_network import random_conv_network, random_dense_network
from spikewright.hdl_gen.config import HwConfig
from spikewright.hdl_gen.errors import UnsupportedLayerError
from spikewright.hdl_gen.plan import make_plan
from spikewright.hdl_gen.stream_plan import PASS_OVERHEAD, SCAN_WIDTH, input_scan_cycles


def dataflow(net, **options):
    return make_plan(net, HwConfig(**options))


def scan(stage, spikes) -> int:
    """The scan cycles of one step's input ``spikes`` of dense stage plan ``stage``."""
    return int(input_scan_cycles(np.asarray(spikes)[None], stage.word_scan, stage.events)[0])


def one_image(stage, spikes) -> int:
    """The stage plan's cycles of one image's input ``spikes`` ``[T, inputs]``."""
    return int(stage.batch_cycles(np.asarray(spikes)[None])[0])


def test_a_scan_costs_one_cycle_per_event_and_per_empty_chunk():
    net = random_dense_network(np.random.default_rng(1), max_width=6, neuron="if", depth=1)
    stage = dataflow(net, lanes=2).stream.stages[0]
    spikes = np.zeros(stage.in_bits, dtype=bool)
    assert scan(stage, spikes) == stage.chunks
    spikes[[0, 1, min(2, stage.in_bits - 1)]] = True
    events = int(spikes.sum())
    assert scan(stage, spikes) == events + stage.chunks - 1
    steps = np.stack([spikes] * net.timesteps)
    assert one_image(stage, steps) == net.timesteps * stage.layer.groups * (
        scan(stage, spikes) + PASS_OVERHEAD)


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
    assert scan(stage, spikes) == SCAN_WIDTH + 1 + 2


def test_a_grouped_conv_is_laid_out_as_one_group_with_zeros_outside_each_group():
    from spikewright.hdl_gen.stream_plan import dense_conv_weight
    net = random_conv_network(np.random.default_rng(6), neuron="if")
    grouped = next(layer for layer in net.weighted_layers if getattr(layer, "groups", 1) > 1)
    full = dense_conv_weight(grouped)
    per_in, per_out = grouped.in_channels // grouped.groups, grouped.out_channels // grouped.groups
    assert full.shape == (grouped.out_channels, grouped.in_channels, *grouped.kernel_size)
    for o in range(grouped.out_channels):
        mine = slice(o // per_out * per_in, (o // per_out + 1) * per_in)
        assert (full[o, mine] == grouped.weight[o]).all()
        assert full[o].sum() == full[o, mine].sum() and np.count_nonzero(full[o]) == \
            np.count_nonzero(grouped.weight[o])
    stage = dataflow(net, lanes=2).stream.stages[[l.name for l in net.weighted_layers]
                                                  .index(grouped.name)]
    assert stage.lanes == 2 and stage.lane_groups == -(-grouped.out_channels // 2)


@pytest.mark.parametrize("timesteps", [1, 3])
def test_asg_costs_one_cycle_per_step_and_lane_group_more_than_if(timesteps):
    """The regeneration (:func:`regenerate_cycles`): dense ``T * G`` cycles, conv
    ``T * positions * G`` and its drain; at T = 1 ASG is IF and costs nothing more."""
    import dataclasses
    from spikewright.golden.ir import Neuron
    from spikewright.hdl_gen.stream_plan import REGENERATE_DRAIN_CYCLES
    rng = np.random.default_rng(5)
    dense = random_dense_network(rng, neuron="asg", depth=1, timesteps=timesteps)
    conv = random_conv_network(rng, neuron="asg", depth=1, depthwise=False,
                               timesteps=timesteps)
    for net, extra in ((dense, lambda s: timesteps * s.layer.groups),
                       (conv, lambda s: timesteps * s.layer.positions * s.lane_groups
                        + REGENERATE_DRAIN_CYCLES)):
        if_net = dataclasses.replace(net, layers=tuple(
            dataclasses.replace(layer, neuron=Neuron.IF)
            if getattr(layer, "neuron", None) is Neuron.ASG
            else layer for layer in net.layers))
        stage, if_stage = (dataflow(n, lanes=2).stream.stages[0] for n in (net, if_net))
        spikes = np.random.default_rng(1).random((3, timesteps, stage.layer.input_count)) < 0.3
        assert stage.regenerates == (timesteps > 1)
        added = extra(stage) if timesteps > 1 else 0
        assert (stage.batch_cycles(spikes) == if_stage.batch_cycles(spikes) + added).all()


def test_pixels_per_beat_must_divide_a_channel():
    net = random_dense_network(np.random.default_rng(4), neuron="if", depth=1)
    positions = net.input.shape[1] * net.input.shape[2]
    odd = next(b for b in range(2, 17) if positions % b)
    with pytest.raises(ValueError, match=rf"^pixels_per_beat must divide the {positions} "
                                         rf"pixels of an image channel, not {odd}$"):
        dataflow(net, pixels_per_beat=odd)
    with pytest.raises(ValueError, match=r"^pixels_per_beat must be an integer from 1 to 16"):
        HwConfig(pixels_per_beat=17)


def test_a_conv_position_costs_its_window_reads_and_the_fullest_kernel_lane_of_each_group():
    from spikewright.golden.encoding import make_input_spec
    from spikewright.golden.ir import Conv2d, Dense, Flatten, Network
    from spikewright.hdl_gen.stream_plan import CONV_DRAIN_CYCLES, WINDOW_LATENCY
    net = Network(1, make_input_spec((1, 3, 3), k=4, timesteps=1), (
        Conv2d("conv", 1, 2, 2, 1, 0, 1, "if", np.ones((2, 1, 2, 2), np.int64),
               np.zeros(2, np.int64), np.ones(2, np.int64)),
        Flatten("f"),
        Dense("out", 8, 2, "none", np.ones((2, 8), np.int64), np.zeros(2, np.int64))))
    spikes = np.zeros((1, 9), dtype=bool)
    spikes[0, 4] = True  # the centre: under every kernel position of all four windows
    windows = 2 * ((4 + WINDOW_LATENCY) + (2 + WINDOW_LATENCY))  # per row: all 4 words,
    # then the 2 of the column the window moves onto
    for kernel_lanes, lanes, items in [(1, 2, 4), (4, 2, 1), (2, 1, 2 * 2)]:
        stage = dataflow(net, lanes=lanes, kernel_lanes=kernel_lanes).stream.stages[0]
        drain = CONV_DRAIN_CYCLES + (kernel_lanes == 4)  # 4 weights a lane: a 2-level sum
        assert one_image(stage, spikes) == windows + 4 * items + drain
    stage = dataflow(net, lanes=2, kernel_lanes=4).stream.stages[0]
    assert one_image(stage, np.zeros((1, 9), bool)) == windows + 4 * 1 + CONV_DRAIN_CYCLES + 1


def test_a_conv_stage_sums_its_weights_in_a_tree_of_two_input_adds():
    from spikewright.hdl_gen.stream_plan import CONV_DRAIN_CYCLES, conv_drain_cycles, \
        conv_sum_levels
    assert [conv_sum_levels(n) for n in (1, 2, 3, 4, 5, 8, 9, 72)] == [1, 1, 2, 2, 3, 3, 4, 7]
    assert conv_drain_cycles(2) == CONV_DRAIN_CYCLES
    assert conv_drain_cycles(72) == CONV_DRAIN_CYCLES + 6


def test_a_window_reads_only_the_columns_it_moves_onto():
    from spikewright.hdl_gen.stream_plan import window_reads
    assert window_reads((3, 3), (1, 1), 4).tolist() == [9, 3, 3, 3]
    assert window_reads((4, 4), (2, 2), 3).tolist() == [16, 8, 8]
    assert window_reads((2, 2), (2, 2), 3).tolist() == [4, 4, 4]   # no column shared
    assert window_reads((1, 1), (1, 1), 2).tolist() == [1, 1]


def test_kernel_lanes_name_conv_layers():
    with pytest.raises(ValueError, match=r"^kernel_lanes of layer 'conv1' must be an integer "
                                         r"of at least 1, not 0$"):
        HwConfig(kernel_lanes={"conv1": 0})
    net = random_conv_network(np.random.default_rng(0), neuron="if", depthwise=False)
    with pytest.raises(ValueError, match=r"name layer\(s\) 'nope'"):
        dataflow(net, kernel_lanes={"nope": 2})


def test_the_shipped_fashion_cnn_uses_the_whole_method_and_plans_with_its_config():
    """fmnist_cnn_t4: ICE (three encoded channels of the one pixel channel), average pooling
    (depthwise convs of weights 1), ASG neurons, T = 4, built by its hw_config.json."""
    from spikewright.golden import load
    from spikewright.golden.ir import Neuron
    from spikewright.shipped import model_dir, shipped_hw_config
    net = load(model_dir("fmnist_cnn_t4") / "ir")
    assert net.timesteps == 4 and len(net.input.channels) == 3 * net.input.shape[0]
    pools = [layer for layer in net.weighted_layers if layer.name.startswith("pool")]
    assert pools and all(layer.groups == layer.in_channels and (layer.weight == 1).all()
                         for layer in pools)
    assert {layer.neuron for layer in net.weighted_layers[:-1]} == {Neuron.ASG}
    plan = make_plan(net, HwConfig.from_json({**HwConfig().to_json(),
                                              **shipped_hw_config("fmnist_cnn_t4")}))
    assert all(stage.regenerates for stage in plan.stream.stages[:-1])


def test_several_events_per_cycle_cost_the_busiest_residue_class_of_each_chunk():
    from spikewright.hdl_gen.stream_plan import drain_cycles, pass_overhead, scan_cycles
    spikes = np.zeros(70, dtype=bool)  # three chunks: 32, 32 and 6 bits
    spikes[[0, 2, 4, 6, 1]] = True  # chunk 0: four even inputs, one odd
    spikes[[33, 35]] = True  # chunk 1: two odd
    assert scan_cycles(spikes, 70) == 5 + 2 + 1
    assert scan_cycles(spikes, 70, 2) == 4 + 2 + 1
    assert scan_cycles(spikes, 70, 4) == 2 + 1 + 1  # classes 0 (0, 4), 2 (2, 6), 1 (1)
    assert scan_cycles(spikes, 70, 32) == 1 + 1 + 1
    assert drain_cycles(1) + 1 == drain_cycles(2) == drain_cycles(8) - 2
    assert pass_overhead(1) == PASS_OVERHEAD and pass_overhead(4) == PASS_OVERHEAD + 2


def test_the_weights_of_each_residue_class_lie_in_their_own_memory():
    net = random_dense_network(np.random.default_rng(3), max_width=9, neuron="if", depth=1)
    layer = net.weighted_layers[0]
    stage = dataflow(net, lanes=2, events=4).stream.stages[0]
    plan = stage.layer
    assert stage.events == 4 and stage.class_depth == -(-layer.in_features // 4)
    for j in range(4):
        words = stage.class_words(j)
        assert len(words) == plan.groups * stage.class_depth + 1 and words[0] == 0
        for g in range(plan.groups):
            for k in range(stage.class_depth):
                i = 4 * k + j
                expected = plan.weight_words[g * layer.in_features + i] \
                    if i < layer.in_features else 0
                assert words[stage.first_word + g * stage.class_depth + k] == expected


def test_events_are_refused_where_they_cannot_be_built():
    with pytest.raises(ValueError, match=r"^events must be a power of two from 1 to 32, not 3$"):
        HwConfig(events=3)
    with pytest.raises(ValueError, match=r"^events of layer 'fc1' must be a power of two from "
                                         r"1 to 32, not 64$"):
        HwConfig(events={"fc1": 64})
    conv = random_conv_network(np.random.default_rng(2), neuron="if", depthwise=False)
    name = conv.weighted_layers[0].name
    with pytest.raises(ValueError, match=rf"^conv layer '{name}' takes at most 8 events per "
                                         rf"cycle, not 16$"):
        dataflow(conv, events={name: 16})
    dense = random_dense_network(np.random.default_rng(1), max_width=6, neuron="if", depth=1)
    with pytest.raises(ValueError, match=r"^events name layer\(s\) 'fc9', which the network"):
        dataflow(dense, events={"fc9": 2})


def test_the_weights_of_each_conv_kernel_lane_and_class_lie_in_their_own_memory():
    """Memory ``j * E + e`` holds at word ``(g * KG + kg) * D + i`` the weights of input
    channel ``i * E + e`` at kernel position ``kg * KP + j`` (zero past the channels and the
    kernel); a conv of fewer channels than E takes the largest power of two below them."""
    from spikewright.golden.ir import Conv2d, Dense, Flatten, Network
    from spikewright.golden.random_network import random_input_spec
    from spikewright.hdl_gen.stream_plan import dense_conv_weight
    rng = np.random.default_rng(5)
    conv = Conv2d("conv1", 6, 5, (3, 3), (1, 1), (1, 1), 1, "if",
                  rng.integers(-8, 8, (5, 6, 3, 3)), rng.integers(-4, 4, 5), rng.integers(4, 9, 5))
    readout = Dense("readout", 5 * 16, 2, "none", rng.integers(-8, 8, (2, 80)),
                    rng.integers(-4, 4, 2))
    net = Network(1, random_input_spec(rng, (6, 4, 4), 1, 6), (conv, Flatten("f"), readout))
    for asked, used in ((4, 4), (8, 4), (2, 2)):
        stage = make_plan(net, HwConfig(lanes={"conv1": 2}, kernel_lanes={"conv1": 2},
                                        events={"conv1": asked})).stream.stages[0]
        assert stage.events == used and stage.class_depth == -(-6 // used)
        assert len(stage.weight_memories) == 2 * used
        weight = dense_conv_weight(conv).reshape(5, 6, 9)
        width, lanes = conv.weight_width, 2
        for j in range(2):
            for e in range(used):
                words = stage.weight_memories[j * used + e]
                assert len(words) == 3 * 5 * stage.class_depth
                for g in range(3):
                    for kg in range(5):
                        for i in range(stage.class_depth):
                            word = words[(g * 5 + kg) * stage.class_depth + i]
                            for p in range(lanes):
                                o, c, k = g * lanes + p, i * used + e, kg * 2 + j
                                want = int(weight[o, c, k]) if o < 5 and c < 6 and k < 9 else 0
                                got = (word >> (p * width)) & ((1 << width) - 1)
                                assert got == want & ((1 << width) - 1)


def test_conv_cycles_take_the_busiest_class_of_each_kernel_group():
    """One position, two kernel positions in one group, 4 channels in 2 classes: the item
    takes as many cycles as the most spikes of one class under one kernel position."""
    from spikewright.hdl_gen.stream_plan import WINDOW_LATENCY, conv_cycles, conv_drain_cycles
    pops = np.zeros((1, 1, 1, 1, 2, 4), dtype=np.uint16)
    pops[..., 0, :] = [1, 0, 1, 0]   # classes mod 2: 2 and 0
    pops[..., 1, :] = [0, 1, 0, 0]   # 0 and 1
    reads = np.array([2])

    def base(readers):  # the window (2 words and its latency) and the drain
        return 2 + WINDOW_LATENCY + conv_drain_cycles(readers)
    assert conv_cycles(pops, reads, 2, 1, events=1)[0] == base(2) + 2   # 2 under position 0
    assert conv_cycles(pops, reads, 2, 1, events=2)[0] == base(4) + 2   # class 0 of position 0
    assert conv_cycles(pops, reads, 2, 1, events=4)[0] == base(8) + 1
    assert conv_cycles(pops, reads, 1, 3, events=4)[0] == base(4) + 3 * 2
    with pytest.raises(ValueError, match=r"^window pops in 4 classes cannot be regrouped into "
                                         r"8 events per cycle$"):
        conv_cycles(pops, reads, 1, 1, events=8)
