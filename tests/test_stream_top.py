"""The dataflow top in Amaranth simulation: RTL == golden, spike for spike, and every result
at the cycle of the stream model, with images streamed back to back."""

import dataclasses
import re

import numpy as np
import pytest

from spikewright.golden import load
from spikewright.golden.random_network import (random_conv_network, random_dense_network,
                                               random_pixels)
from spikewright.hdl_gen.config import HwConfig
from spikewright.hdl_gen.emit import generate, result_payload_layout
from spikewright.hdl_gen.plan import make_plan
from spikewright.sim import amaranth_bench
from spikewright.sim.expected import compare, expected_for
from spikewright.sim.regress import random_case as regress_case


def dataflow(net, lanes, beat=1):
    return make_plan(net, HwConfig(lanes=lanes, pixels_per_beat=beat))


def check(plan, pixels, **options):
    recording = amaranth_bench.record(plan, pixels, **options)
    timed = not options.get("input_gaps") and not options.get("backpressure")
    report = compare(expected_for(plan, pixels), recording, result_payload_layout(plan),
                     check_cycles=timed)
    assert report["first_mismatch"] is None, report["first_mismatch"]
    assert report["mismatches"] == 0 and report["images"] == len(pixels)
    if timed:
        assert report["cycle_mismatches"] == 0
    return recording


def random_case(seed, **network_options):
    rng = np.random.default_rng(seed)
    net = random_dense_network(rng, max_width=10, neuron="if", **network_options)
    positions = net.input.shape[1] * net.input.shape[2]
    beat = int(rng.choice([b for b in (1, 2, 3, 4, 8) if positions % b == 0]))
    return net, int(rng.integers(1, 6)), beat, random_pixels(rng, net, 5)


def conv_case(seed, **network_options):
    """A random conv network (one conv group, IF) with random lanes and kernel lanes."""
    rng = np.random.default_rng(seed)
    net = random_conv_network(rng, neuron="if", depthwise=False, **network_options)
    names = [layer.name for layer in net.weighted_layers]
    lanes = {name: int(rng.integers(1, 4)) for name in names}
    kernel = {name: int(rng.integers(1, 5)) for name in names if name != "readout"}
    plan = make_plan(net, HwConfig(lanes=lanes, kernel_lanes=kernel))
    return plan, random_pixels(rng, net, 4)


@pytest.mark.parametrize("seed", range(4))
def test_one_input_buffer_waits_for_the_first_layer_and_equals_the_stream_model(seed):
    """``input_buffers=1``: the encoder's working register is the bitmap handed over; the
    next image's beats wait until the first layer releases it (dense and conv first)."""
    if seed % 2:
        net, lanes, beat, pixels = random_case(300 + seed)
        config = HwConfig(lanes=lanes, pixels_per_beat=beat,
                          input_buffers=1)
    else:
        rng = np.random.default_rng(300 + seed)
        net = random_conv_network(rng, neuron="if", depthwise=False)
        pixels = random_pixels(rng, net, 4)
        config = HwConfig(lanes=2, input_buffers=1)
    single = check(make_plan(net, config), pixels)
    double = check(make_plan(net, dataclasses.replace(config, input_buffers=2)), pixels)
    assert single.cycles[-1] >= double.cycles[-1]  # equal where a later stage is slowest
    check(make_plan(net, config), pixels, input_gaps=0.3, backpressure=0.4, seed=seed)


@pytest.mark.parametrize("seed", range(10))
def test_random_conv_networks_equal_golden_and_the_stream_model(seed):
    plan, pixels = conv_case(seed)
    check(plan, pixels)


@pytest.mark.parametrize("seed", range(2))
def test_conv_results_are_unchanged_by_input_gaps_and_backpressure(seed):
    plan, pixels = conv_case(200 + seed, timesteps=2, depth=2)
    check(plan, pixels, seed=seed, input_gaps=0.5, backpressure=0.7)


@pytest.mark.parametrize("seed", range(8))
def test_grouped_pooling_and_asg_conv_networks_equal_golden_and_the_stream_model(seed):
    """Grouped convolutions, average pooling (a depthwise conv of weights 1) and ASG stages,
    T from 1 to 8: the spikes of every step (in the ASG layer's next window), the logits and
    every result's cycle."""
    rng = np.random.default_rng(500 + seed)
    net = random_conv_network(rng, timesteps=1 + seed, grouped=True, pooling=True)
    names = [layer.name for layer in net.weighted_layers]
    plan = make_plan(net, HwConfig(lanes={n: int(rng.integers(1, 4)) for n in names},
                                   kernel_lanes={n: int(rng.integers(1, 5)) for n in names[:-1]}))
    pixels = random_pixels(rng, net, 3)
    check(plan, pixels)
    if seed < 2:
        check(plan, pixels, seed=seed, input_gaps=0.3, backpressure=0.5)


@pytest.mark.parametrize("seed", range(6))
def test_asg_dense_networks_equal_golden_and_the_stream_model(seed):
    net = random_dense_network(np.random.default_rng(600 + seed), max_width=10,
                               neuron="mixed", timesteps=2 + seed)
    check(dataflow(net, 1 + seed % 4), random_pixels(np.random.default_rng(seed), net, 4))


@pytest.mark.parametrize("seed", range(12))
def test_random_dense_networks_equal_golden_and_the_stream_model(seed):
    net, lanes, beat, pixels = random_case(seed)
    check(dataflow(net, lanes, beat), pixels)


@pytest.mark.parametrize("seed", range(6))
def test_several_events_per_cycle_equal_golden_and_the_stream_model(seed):
    """``events``: each residue class of the input index takes one event per cycle from its
    own weight memory; IF, ASG and readout stages, inputs of one to two chunks, slow and
    fast clocks, with and without gaps and stalls."""
    rng = np.random.default_rng(900 + seed)
    net = random_dense_network(rng, max_width=40, neuron="mixed" if seed % 2 else "if",
                               timesteps=1 + seed % 3)
    names = [layer.name for layer in net.weighted_layers]
    events = {name: int(rng.choice([2, 4, 8])) for name in names}
    plan = make_plan(net, HwConfig(lanes={n: int(rng.integers(1, 5)) for n in names},
                                   events=events, clock_mhz=100 if seed % 4 else 10))
    assert [stage.events for stage in plan.stream.stages] == list(events.values())
    pixels = random_pixels(rng, net, 4)
    check(plan, pixels)
    check(plan, pixels, input_gaps=0.3, backpressure=0.5, seed=seed)


def test_several_events_per_cycle_from_the_first_cycle_after_reset():
    """The first image of a network with four inputs in one beat reaches the first dense
    stage three cycles after reset: the weight sums, which are not gated, must already read
    the zero word (regress seed 0 once summed a weight read at address 0 into it)."""
    net, config, pixels = regress_case(0)
    assert net.input.shape == (1, 2, 2) and config.pixels_per_beat == 4
    assert set(config.events_for(layer.name) for layer in net.weighted_layers) == {2}
    check(make_plan(net, config), pixels)


@pytest.mark.parametrize("seed", range(4))
def test_slow_clock_designs_equal_golden_and_the_fast_ones_cycle_for_cycle(seed):
    """Under :data:`~spikewright.hdl_gen.stream_plan.PREFETCH_FROM_MHZ` the dense stages scan
    without prefetching and the argmax reads its logits through a multiplexer: fewer cells,
    the same cycles (one stream model for both)."""
    from spikewright.hdl_gen.stream_plan import PREFETCH_FROM_MHZ
    net, lanes, beat, pixels = random_case(400 + seed, timesteps=1 + seed % 3)
    slow = make_plan(net, HwConfig(lanes=lanes, pixels_per_beat=beat,
                                   clock_mhz=PREFETCH_FROM_MHZ / 2))
    assert not slow.stream.prefetch and not any(s.prefetch for s in slow.stream.stages)
    fast = dataflow(net, lanes, beat)
    assert fast.stream.prefetch and all(s.prefetch for s in fast.stream.stages)
    assert check(slow, pixels).cycles == check(fast, pixels).cycles
    check(slow, pixels, input_gaps=0.3, backpressure=0.5, seed=seed)


@pytest.mark.parametrize("seed", range(3))
def test_results_are_unchanged_by_input_gaps_and_backpressure(seed):
    net, lanes, beat, pixels = random_case(100 + seed, timesteps=3)
    steady = check(dataflow(net, lanes, beat), pixels)
    stalled = check(dataflow(net, lanes, beat), pixels, seed=seed, input_gaps=0.4,
                    backpressure=0.6)
    assert stalled.simulated_cycles > steady.simulated_cycles


def test_stages_overlap_images():
    """Streamed back to back, results come faster than one image's latency allows."""
    net, _, _, pixels = random_case(7, timesteps=2, depth=2)
    recording = check(dataflow(net, 2), pixels)
    latency = recording.cycles[0]
    assert recording.cycles[-1] - recording.cycles[0] < (len(pixels) - 1) * latency


@pytest.mark.slow
@pytest.mark.dataset
def test_mnist_mlp_equals_golden_in_the_dataflow_design():
    from spikewright.golden.datasets import load_dataset
    from spikewright.shipped import model_dir
    net = load(model_dir("mnist_mlp_t1") / "ir")
    pixels, _ = load_dataset("mnist", "test", limit=3)
    check(dataflow(net, {"fc1": 384, "fc2": 10}, beat=4), pixels)


def test_a_layer_wider_than_one_weight_bank_equals_golden():
    from helpers import dense_chain
    from spikewright.golden.random_network import random_pixels as pixels_for
    from spikewright.hdl_gen.stream_plan import BANK_LANES
    rng = np.random.default_rng(13)
    width = BANK_LANES + 20
    net = dense_chain(2, rng.integers(-8, 8, (width, 8)), rng.integers(-3, 3, width),
                      rng.integers(1, 9, width), "if", rng.integers(-8, 8, (4, width)),
                      rng.integers(-3, 3, 4), 8)
    check(dataflow(net, width, beat=4), pixels_for(rng, net, 4))


def _flipped(layer, index):
    """``layer`` with the weight at flat ``index`` changed in its sign bit (still in width)."""
    import dataclasses
    weight = layer.weight.copy()
    flat = weight.reshape(-1)
    width = layer.weight_width
    low = -(1 << (width - 1))
    value = int(flat[index])
    flat[index] = value - (1 << (width - 1)) if value >= 0 else value + (1 << (width - 1))
    assert low <= flat[index] < -low and flat[index] != value
    return dataclasses.replace(layer, weight=weight)


def _mutation_case(kind):
    """A network, the name of the layer to flip and a weight index whose flip changes some
    image's output: a dense bank past the first (lanes 80: banks of 72), a conv weight
    memory, an ASG average pooling stage."""
    from helpers import dense_chain
    rng = np.random.default_rng(77)
    if kind == "dense bank 1":
        net = dense_chain(2, rng.integers(-8, 8, (80, 8)), rng.integers(-3, 3, 80),
                          rng.integers(1, 9, 80), "if", rng.integers(-8, 8, (3, 80)),
                          rng.integers(-3, 3, 3), 8)
        return net, {"fc1": 80}, "fc1", 70 * 8 + 3  # neuron 70: lane 70, bank 1
    if kind == "conv memory":
        net = random_conv_network(rng, neuron="if", timesteps=2, depthwise=False, depth=1)
        return net, {}, "conv1", 0
    from helpers import conv_then_asg_pooling
    net = conv_then_asg_pooling(np.random.default_rng(9), np.random.default_rng(3), rng)
    return net, {}, "pool1", 0


@pytest.mark.parametrize("kind", ["dense bank 1", "conv memory", "asg pooling"])
def test_a_weight_differing_from_golden_in_any_stage_is_caught_and_named(kind):
    """The design of a network with one weight's sign bit flipped, checked against golden of
    the original: the first mismatch names the first image golden changes for, the flipped
    layer and one of its neurons whose spikes change."""
    import dataclasses
    from spikewright.golden import model
    net, lanes, name, first_index = _mutation_case(kind)
    pixels = random_pixels(np.random.default_rng(5), net, 6)
    config = HwConfig(lanes=lanes or 2)
    want = model.run(net, pixels, trace=True)
    size = next(layer for layer in net.layers if layer.name == name).weight.size
    for index in range(first_index, size):  # the first flip that changes a spike
        mutated = dataclasses.replace(net, layers=tuple(
            _flipped(layer, index) if layer.name == name else layer for layer in net.layers))
        got = model.run(mutated, pixels, trace=True)
        changed = [i for i in range(len(pixels))
                   if not np.array_equal(want.trace[name][i], got.trace[name][i])]
        if changed:
            break
    assert changed, "a flip must change some spike for the test to mean anything"
    recording = amaranth_bench.record(make_plan(mutated, config), pixels)
    report = compare(expected_for(make_plan(net, config), pixels), recording,
                     result_payload_layout(make_plan(net, config)), check_cycles=False)
    first = report["first_mismatch"]
    assert report["mismatches"] > 0 and first["image"] == changed[0]
    spike = first if first["what"] == "spike" else first["first_spike"]
    assert spike["layer"] == name
    differs = (want.trace[name][changed[0]] != got.trace[name][changed[0]]).reshape(
        net.timesteps, -1).any(axis=0)
    assert differs[spike["neuron"]]


@pytest.mark.parametrize("neuron, timesteps", [("if", 2), ("asg", 3)])
def test_a_conv_of_two_groups_of_three_channels_equals_golden_and_the_stream_model(
        neuron, timesteps):
    """1 < groups < channels, which the random networks (at most a few channels) rarely
    draw: two groups of three input channels, each feeding two output channels."""
    from spikewright.golden.ir import Conv2d, Dense, Flatten, Network
    from spikewright.golden.random_network import random_input_spec
    rng = np.random.default_rng(31 + timesteps)
    spec = random_input_spec(rng, (6, 5, 5), timesteps, 6)
    conv = Conv2d("conv1", 6, 4, (3, 3), (1, 1), (1, 1), 2, neuron,
                  rng.integers(-8, 8, (4, 3, 3, 3)), rng.integers(-4, 4, 4),
                  rng.integers(6, 20, 4))
    readout = Dense("readout", 4 * 5 * 5, 3, "none", rng.integers(-8, 8, (3, 100)),
                    rng.integers(-4, 4, 3))
    net = Network(timesteps, spec, (conv, Flatten("flatten"), readout))
    plan = make_plan(net, HwConfig(lanes={"conv1": 3, "readout": 2},
                                   kernel_lanes={"conv1": 2}))
    check(plan, random_pixels(rng, net, 3))


@pytest.mark.parametrize("seed", range(4))
def test_conv_stages_taking_several_events_per_cycle_equal_golden_and_the_stream_model(seed):
    """``events`` of a conv stage: each kernel lane takes one input channel of each residue
    class (modulo E) per cycle, from its own weight memory; channel counts that E does not
    divide (the last classes padded), IF and ASG, T from 1 to 4, kernel lanes 1 to 4, with
    and without gaps and stalls."""
    from spikewright.golden.ir import Conv2d, Dense, Flatten, Network
    from spikewright.golden.random_network import random_input_spec
    rng = np.random.default_rng(1200 + seed)
    timesteps, neuron = 1 + seed, ("if", "asg")[seed % 2]
    spec = random_input_spec(rng, (6, 5, 5), timesteps, 6)
    conv1 = Conv2d("conv1", 6, 10, (3, 3), (1, 1), (1, 1), 1, neuron,
                   rng.integers(-8, 8, (10, 6, 3, 3)), rng.integers(-4, 4, 10),
                   rng.integers(4, 16, 10))
    conv2 = Conv2d("conv2", 10, 5, (3, 3), (2, 2), (1, 1), 1, "if",
                   rng.integers(-8, 8, (5, 10, 3, 3)), rng.integers(-4, 4, 5),
                   rng.integers(4, 16, 5))
    readout = Dense("readout", 5 * 3 * 3, 3, "none", rng.integers(-8, 8, (3, 45)),
                    rng.integers(-4, 4, 3))
    net = Network(timesteps, spec, (conv1, conv2, Flatten("flatten"), readout))
    events = {"conv1": (2, 4, 8, 4)[seed], "conv2": (8, 2, 4, 8)[seed]}
    plan = make_plan(net, HwConfig(lanes={"conv1": 1 + seed % 3, "conv2": 5, "readout": 3},
                                   kernel_lanes={"conv1": 1 + seed, "conv2": 4 - seed},
                                   events=events))
    used = {stage.layer.name: stage.events for stage in plan.stream.stages[:2]}
    assert used == {"conv1": min(events["conv1"], 4), "conv2": events["conv2"]}
    pixels = random_pixels(rng, net, 3)
    check(plan, pixels)
    if seed < 2:
        check(plan, pixels, seed=seed, input_gaps=0.3, backpressure=0.5)


@pytest.mark.parametrize("channels, neuron, timesteps, events", [
    (40, "if", 2, 2), (9, "asg", 3, 1), (64, "if", 1, 4)])
def test_a_dense_layer_reading_a_conv_word_memory_equals_golden_and_the_stream_model(
        channels, neuron, timesteps, events):
    """A dense stage after a conv stage scans the conv's word memory: 40 channels a word
    (two chunks of 32, the second past the channels from bit 8), 9 (one chunk of 16) and 64
    (two full chunks); two lane groups over the steps, several events per cycle."""
    from spikewright.golden.ir import Conv2d, Dense, Flatten, Network
    from spikewright.golden.random_network import random_input_spec
    rng = np.random.default_rng(channels + timesteps)
    spec = random_input_spec(rng, (2, 4, 4), timesteps, 2)
    conv = Conv2d("conv1", 2, channels, (3, 3), (1, 1), (1, 1), 1, "if",
                  rng.integers(-6, 10, (channels, 2, 3, 3)), rng.integers(-4, 4, channels),
                  rng.integers(4, 12, channels))
    inputs = channels * 16
    hidden = Dense("fc1", inputs, 5, neuron, rng.integers(-6, 8, (5, inputs)),
                   rng.integers(-4, 4, 5), rng.integers(6, 30, 5))
    readout = Dense("readout", 5, 3, "none", rng.integers(-8, 8, (3, 5)),
                    rng.integers(-4, 4, 3))
    net = Network(timesteps, spec, (conv, Flatten("flatten"), hidden, readout))
    plan = make_plan(net, HwConfig(lanes={"conv1": 16, "fc1": 3, "readout": 3},
                                   kernel_lanes={"conv1": 3}, events={"fc1": events}))
    assert plan.stream.stages[1].word_scan is not None
    pixels = random_pixels(rng, net, 3)
    check(plan, pixels)
    check(plan, pixels, seed=channels, input_gaps=0.3, backpressure=0.5)


@pytest.mark.parametrize("channels, pieces", [(4, 3), (8, 5)])
def test_a_conv_weight_memory_deeper_than_a_block_ram_is_read_in_pieces(channels, pieces):
    """A conv weight memory of more words than one block RAM holds at its widest (256 on
    the UP5K) is cut into pieces read side by side (``ConvStagePlan.weight_pieces``), the
    one addressed chosen in two levels (more than :data:`.PIECE_CHOICE` pieces: a run of
    four and a run of one), and the results stay golden's at the stream model's cycles,
    T = 2."""
    from spikewright.golden.ir import Conv2d, Dense, Flatten, Network
    from spikewright.golden.random_network import random_input_spec
    from spikewright.hdl_gen.stream_plan import PIECE_CHOICE
    rng = np.random.default_rng(77 + channels)
    spec = random_input_spec(rng, (channels, 4, 4), 2)
    conv = Conv2d("conv1", channels, 16, (3, 3), (1, 1), (1, 1), 1, "if",
                  rng.integers(-8, 8, (16, channels, 3, 3)), rng.integers(-4, 4, 16),
                  rng.integers(4, 16, 16))
    readout = Dense("readout", 16 * 4 * 4, 3, "none", rng.integers(-8, 8, (3, 256)),
                    rng.integers(-4, 4, 3))
    net = Network(2, spec, (conv, Flatten("flatten"), readout))
    plan = make_plan(net, HwConfig(lanes={"conv1": 1, "readout": 3}, target="ice40-up5k"))
    stage = plan.stream.stages[0]  # 16 lane groups x 9 kernel positions x the channels
    assert [len(bank) for bank in stage.weight_pieces(stage.weight_memories[0])] == [pieces]
    verilog = generate(net, plan=plan)["spikewright_top.v"]
    runs = {int(n) for n in re.findall(r"\bpiece_0_0_run_(\d+)\b", verilog)}
    assert runs == set(range(-(-pieces // PIECE_CHOICE)))
    check(plan, random_pixels(rng, net, 3))


def test_stages_wider_than_one_copy_of_their_enables_stay_golden_and_on_time():
    """A stage of more lanes than :data:`.replicas.CLEAR_LANES` drives them from copies of
    its enables (dense: ``summing``, ``firing``, ``full``; conv: ``end_d``, ``valid_r``,
    the weight pieces' choice, and ``arriving`` per 64 window bits): a conv of 20 lanes in
    4 lane groups and an 8-channel window (72 bits) with weights in pieces (UP5K: 288
    words, two pieces of 256), then a dense IF stage of 40 lanes in 2 groups, T = 2:
    golden's results at the stream model's cycles, streamed and with gaps and stalls."""
    from spikewright.golden.ir import Conv2d, Dense, Flatten, Network
    from spikewright.golden.random_network import random_input_spec
    rng = np.random.default_rng(91)
    spec = random_input_spec(rng, (8, 3, 3), 2)
    conv = Conv2d("conv1", 8, 80, (3, 3), (1, 1), (0, 0), 1, "if",
                  rng.integers(-6, 10, (80, 8, 3, 3)), rng.integers(-4, 4, 80),
                  rng.integers(4, 14, 80))
    hidden = Dense("fc1", 80, 70, "if", rng.integers(-6, 8, (70, 80)),
                   rng.integers(-4, 4, 70), rng.integers(6, 30, 70))
    readout = Dense("readout", 70, 3, "none", rng.integers(-8, 8, (3, 70)),
                    rng.integers(-4, 4, 3))
    net = Network(2, spec, (conv, Flatten("flatten"), hidden, readout))
    plan = make_plan(net, HwConfig(lanes={"conv1": 20, "fc1": 40, "readout": 3},
                                   target="ice40-up5k"))
    conv_stage = plan.stream.stages[0]
    assert [len(bank) for bank in conv_stage.weight_pieces(conv_stage.weight_memories[0])] \
        == [2]
    verilog = generate(net, plan=plan)["spikewright_top.v"]
    for name, count in [("summing", 3), ("firing", 3), ("full", 10), ("end_d", 2),
                        ("valid_r_0", 2), ("piece_0_0_b", 2), ("arriving", 2)]:
        copies = {int(n) for n in re.findall(rf"\b{name}_(\d+)\b", verilog)}
        assert copies == set(range(count)), (name, copies)
    pixels = random_pixels(rng, net, 3)
    check(plan, pixels)
    check(plan, pixels, seed=3, input_gaps=0.3, backpressure=0.5)
