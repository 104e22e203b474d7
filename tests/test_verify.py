"""RTL == golden in real simulators (Icarus and Verilator; the cocotb testbench and the HDL
harness), through the one verification path (sim.verify)."""

import re

import numpy as np
import pytest

from spikewright.golden import load, model
from spikewright.golden.ir import Dense
from spikewright.golden.random_network import (random_conv_network, random_dense_network,
                                              random_pixels)
from spikewright.hdl_gen.config import HwConfig
from spikewright.hdl_gen.emit import TOP_MODULE, generate, write_files
from spikewright.hdl_gen.plan import make_plan
from spikewright.sim import simulators
from spikewright.sim.verify import check_design, run_images, verify

pytestmark = pytest.mark.sim
SIMULATORS = ["icarus", "verilator"]
BENCHES = ["cocotb", "harness"]


def design(tmp_path, net, lanes):
    """The RTL directory and plan of ``net`` at ``lanes``."""
    plan = make_plan(net, HwConfig(lanes=lanes))
    write_files(generate(net, plan=plan), tmp_path / "rtl")
    return tmp_path / "rtl", plan


@pytest.fixture(scope="module")
def build_root(tmp_path_factory):
    return tmp_path_factory.mktemp("builds")


def assert_clean(report, images):
    assert report["images"] == images
    assert report["first_mismatch"] is None, report["first_mismatch"]
    assert report["mismatches"] == 0


@pytest.mark.parametrize("simulator", SIMULATORS)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_dense_networks_equal_golden_cycle_for_cycle(tmp_path, build_root, simulator, seed):
    rng = np.random.default_rng(seed)
    net = random_dense_network(rng, max_width=14)
    rtl, plan = design(tmp_path, net, lanes=int(rng.integers(1, 6)))
    report = run_images(rtl, plan, random_pixels(rng, net, 6), simulator=simulator,
                        build_root=build_root)
    assert_clean(report, 6)
    assert report["cycle_mismatches"] == 0
    assert report["cycles_per_image"] == report["model_cycles"]


@pytest.mark.parametrize("bench", BENCHES)
@pytest.mark.parametrize("simulator", SIMULATORS)
@pytest.mark.parametrize("seed", [4, 5, 6])
def test_random_conv_networks_equal_golden_cycle_for_cycle(tmp_path, build_root, simulator, seed,
                                                           bench):
    rng = np.random.default_rng(seed)
    net = random_conv_network(rng)
    rtl, plan = design(tmp_path, net, lanes=int(rng.integers(1, 4)))
    report = run_images(rtl, plan, random_pixels(rng, net, 4), simulator=simulator,
                        build_root=build_root, bench=bench)
    assert report["bench"] == bench
    assert_clean(report, 4)
    assert report["cycle_mismatches"] == 0


@pytest.mark.parametrize("bench", BENCHES)
@pytest.mark.parametrize("simulator", SIMULATORS)
def test_gaps_and_backpressure_change_no_output(tmp_path, build_root, simulator, bench):
    rng = np.random.default_rng(9)
    net = random_dense_network(rng, max_width=10, timesteps=3)
    rtl, plan = design(tmp_path, net, lanes=2)
    pixels = random_pixels(rng, net, 6)
    steady = run_images(rtl, plan, pixels, simulator=simulator, build_root=build_root,
                        bench=bench)
    report = run_images(rtl, plan, pixels, simulator=simulator, input_gaps=0.4,
                        backpressure=0.6, seed=3, build_root=build_root, bench=bench)
    assert_clean(report, 6)
    assert report["cycle_mismatches"] is None
    # the gaps and stalls happened: the same images took longer in all
    assert report["simulated_cycles"] > steady["simulated_cycles"]


def flip_one_weight(net, pixels, plan):
    """A (neuron, input) of the first layer whose sign-bit flip changes golden's output on
    ``pixels``, and the first image it changes."""
    reference = model.run(net, pixels, trace=True)
    layer = plan.layers[0]
    original = net.layers[1]
    for neuron in range(layer.out_features):
        for source in range(layer.in_features):
            weight = original.weight.copy()
            half = 1 << (layer.weight_width - 1)
            value = int(weight[neuron, source])
            weight[neuron, source] = value - half if value >= 0 else value + half
            changed = Dense(**{**{f: getattr(original, f) for f in
                                  ("name", "in_features", "out_features", "neuron", "bias",
                                   "threshold", "weight_width", "membrane_width")},
                               "weight": weight, "membrane_width": None})
            broken = type(net)(net.timesteps, net.input,
                               (net.layers[0], changed, *net.layers[2:]))
            other = model.run(broken, pixels, trace=True)
            if not np.array_equal(other.logits, reference.logits):
                image = int(np.flatnonzero((other.logits != reference.logits).any(axis=1))[0])
                return neuron, source, image
    raise AssertionError("no single flip changes this network's output")


@pytest.mark.parametrize("bench", BENCHES)
@pytest.mark.parametrize("simulator", SIMULATORS)
def test_a_flipped_weight_in_the_generated_memory_is_caught(tmp_path, build_root, simulator,
                                                            bench):
    rng = np.random.default_rng(21)
    net = random_dense_network(rng, max_width=8, depth=1, timesteps=2, weight_width=4)
    pixels = random_pixels(rng, net, 4)
    rtl, plan = design(tmp_path, net, lanes=3)
    neuron, source, image = flip_one_weight(net, pixels, plan)
    layer = plan.layers[0]
    group, lane = divmod(neuron, layer.lanes)
    word = group * layer.in_features + source
    width = layer.lanes * layer.weight_width
    old = layer.weight_words[word]
    new = old ^ (1 << (lane * layer.weight_width + layer.weight_width - 1))
    digits = -(-width // 4)
    verilog = rtl / f"{TOP_MODULE}.v"
    text = verilog.read_text()
    line = f"    weights_0[{word}] = {width}'h{old:0{digits}x};"
    module = text.index(f"module \\{TOP_MODULE}.stage_{layer.name} (")
    at = text.index(line, module)
    verilog.write_text(text[:at] + f"    weights_0[{word}] = {width}'h{new:0{digits}x};" +
                       text[at + len(line):])
    report = run_images(rtl, plan, pixels, simulator=simulator, build_root=build_root,
                        bench=bench)
    assert report["mismatches"] > 0
    first = report["first_mismatch"]
    # the first image whose golden output the flip changes, and the flipped neuron's spikes
    assert first["image"] == image
    spike = first if first["what"] == "spike" else first["first_spike"]
    assert (spike["image"], spike["layer"], spike["neuron"]) == (image, layer.name, neuron)


def test_a_missing_simulator_says_what_to_install(monkeypatch):
    def missing(name):
        raise simulators.ToolNotFound(f"{name} not found; run ./setup.sh")
    monkeypatch.setattr(simulators, "find_tool", missing)
    with pytest.raises(simulators.SimulatorError, match=r"^verilator not found; run \./setup\.sh$"):
        simulators.check_simulator("verilator")


def test_a_too_old_verilator_is_refused(monkeypatch, tmp_path):
    fake = tmp_path / "verilator"
    fake.write_text("#!/bin/sh\necho 'Verilator 5.006 2022-12-11 rev (Debian 5.006-3)'\n")
    fake.chmod(0o755)
    monkeypatch.setattr(simulators, "find_tool", lambda name: str(fake))
    with pytest.raises(simulators.SimulatorError, match=r"^Verilator 5\.036 or newer is needed by "
                                                        r"cocotb 2\.x, found '5\.006'"):
        simulators.check_simulator("verilator")
    with pytest.raises(ValueError, match=r"^simulator must be one of icarus, verilator, "
                                         r"not 'modelsim'$"):
        simulators.check_simulator("modelsim")


@pytest.mark.slow
@pytest.mark.dataset
@pytest.mark.parametrize("simulator", SIMULATORS)
def test_mnist_mlp_equals_golden_on_test_images(tmp_path, build_root, simulator):
    from spikewright.golden.datasets import load_dataset
    from spikewright.shipped import model_dir
    rtl, plan = design(tmp_path, load(model_dir("mnist_mlp_t1") / "ir"), lanes=32)
    pixels, _ = load_dataset("mnist", "test", limit=4)
    report = run_images(rtl, plan, pixels, simulator=simulator, build_root=build_root)
    assert_clean(report, 4)
    assert report["cycle_mismatches"] == 0


def test_regression_command_on_three_random_cases_in_two_processes(tmp_path, capsys):
    """Seeds 0, 1, 2: dense, conv and dense designs."""
    from spikewright.cli import main
    assert main(["regress", "--seeds", "0:3", "--simulator", "icarus", "--jobs", "2",
                 "--work-dir", str(tmp_path), "--json", str(tmp_path / "r.json")]) == 0
    import json
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["cases"] == 3 and result["failures"] == [] and result["images"] > 0
    kinds = {layer["kind"] for seed in range(3) for layer in json.loads(
        (tmp_path / f"case{seed}" / "ir" / "network.json").read_text())["layers"]}
    assert kinds == {"dense", "conv2d", "flatten"}


@pytest.mark.slow
@pytest.mark.dataset
@pytest.mark.parametrize("simulator", SIMULATORS)
def test_the_shipped_cnn_dataflow_design_equals_golden_and_the_stream_model(
        tmp_path, build_root, simulator):
    """The seed CNN with its hw_config.json (the dataflow design), 2 images back to back."""
    from spikewright.golden.datasets import load_dataset
    from spikewright.shipped import model_dir, shipped_hw_config
    net = load(model_dir("mnist_cnn_t1") / "ir")
    plan = make_plan(net, HwConfig.from_json(shipped_hw_config("mnist_cnn_t1")))
    write_files(generate(net, plan=plan), tmp_path / "rtl")
    pixels, _ = load_dataset("mnist", "test", limit=2)
    report = run_images(tmp_path / "rtl", plan, pixels, simulator=simulator,
                        build_root=build_root, bench="harness")
    assert_clean(report, 2)
    assert report["cycle_mismatches"] == 0


def test_a_design_of_another_network_is_refused(tmp_path):
    rng = np.random.default_rng(5)
    net = random_dense_network(rng, max_width=6)
    rtl, _ = design(tmp_path, net, lanes=2)
    assert check_design(rtl, net)["ir_digest"] == net.digest()
    other = random_dense_network(np.random.default_rng(6), max_width=6)
    with pytest.raises(ValueError, match=rf"^{re.escape(str(rtl))} was generated from another "
                                         rf"network \(IR digest {net.digest()[:16]}, this "
                                         rf"network {other.digest()[:16]}\); generate it again "
                                         rf"from this network$"):
        check_design(rtl, other)


@pytest.mark.parametrize("bench", BENCHES)
@pytest.mark.parametrize("simulator", SIMULATORS)
def test_dataflow_designs_equal_golden_and_the_stream_model(tmp_path, build_root, simulator,
                                                            bench):
    rng = np.random.default_rng(31)
    net = random_dense_network(rng, max_width=10, neuron="if", timesteps=3, depth=2)
    positions = net.input.shape[1] * net.input.shape[2]
    beat = 2 if positions % 2 == 0 else 1
    plan = make_plan(net, HwConfig(lanes=3, pixels_per_beat=beat))
    write_files(generate(net, plan=plan), tmp_path / "rtl")
    pixels = random_pixels(rng, net, 6)
    report = run_images(tmp_path / "rtl", plan, pixels, simulator=simulator,
                        build_root=build_root, bench=bench)
    assert_clean(report, 6)
    assert report["cycle_mismatches"] == 0
    assert report["cycles_per_image"] == report["model_cycles"]
    stalled = run_images(tmp_path / "rtl", plan, pixels, simulator=simulator,
                         build_root=build_root, bench=bench, input_gaps=0.3,
                         backpressure=0.5, seed=2)
    assert_clean(stalled, 6)
    assert stalled["simulated_cycles"] > report["simulated_cycles"]


@pytest.mark.parametrize("bench", BENCHES)
@pytest.mark.parametrize("simulator", SIMULATORS)
def test_dataflow_conv_designs_equal_golden_and_the_stream_model(tmp_path, build_root,
                                                                 simulator, bench):
    """Two conv stages (a word memory between them, the encoder's register before, a
    register to the readout after), T = 2, kernel lanes 2 and 3."""
    rng = np.random.default_rng(41)
    net = random_conv_network(rng, neuron="if", timesteps=2, depthwise=False, depth=2)
    plan = make_plan(net, HwConfig(lanes=2, kernel_lanes={"conv1": 2, "conv2": 3}))
    write_files(generate(net, plan=plan), tmp_path / "rtl")
    pixels = random_pixels(rng, net, 4)
    report = run_images(tmp_path / "rtl", plan, pixels, simulator=simulator,
                        build_root=build_root, bench=bench)
    assert_clean(report, 4)
    assert report["cycle_mismatches"] == 0
    stalled = run_images(tmp_path / "rtl", plan, pixels, simulator=simulator,
                         build_root=build_root, bench=bench, input_gaps=0.3,
                         backpressure=0.5, seed=3)
    assert_clean(stalled, 4)


@pytest.mark.parametrize("simulator", SIMULATORS)
def test_the_axi4_stream_top_equals_golden_with_backpressure(tmp_path, build_root, simulator):
    """spikewright_axis around the design: every spike (read inside), class and logit
    equal golden, the cycles the models', and the same with random gaps and stalls."""
    rng = np.random.default_rng(33)
    net = random_dense_network(rng, max_width=10, neuron="if", timesteps=2, depth=2)
    positions = net.input.shape[1] * net.input.shape[2]
    beat = 2 if positions % 2 == 0 else 1
    plan = make_plan(net, HwConfig(lanes=3, pixels_per_beat=beat))
    write_files(generate(net, plan=plan), tmp_path / "rtl")
    pixels = random_pixels(rng, net, 6)
    report = verify(tmp_path / "rtl", plan, pixels, simulator=simulator,
                    build_root=build_root, bench="axis")
    assert report["bench"] == "axis" and report["tlast_error"] == 0
    assert_clean(report, 6)
    assert report["cycle_mismatches"] == 0
    stalled = run_images(tmp_path / "rtl", plan, pixels, simulator=simulator,
                         build_root=build_root, bench="axis", input_gaps=0.3,
                         backpressure=0.6, seed=4)
    assert_clean(stalled, 6)
    assert stalled["tlast_error"] == 0
    assert stalled["simulated_cycles"] > report["simulated_cycles"]


def test_the_verify_command_builds_while_golden_runs_and_counts_the_build(tmp_path):
    """The harness is built in a thread beside golden; every batch then reuses it, and the
    report still says how long the build took."""
    import json
    from bad_inputs import run_command, saved_ir
    ir = saved_ir(tmp_path)
    status, _, err = run_command(["generate", str(ir), "--out", str(tmp_path / "rtl")])
    assert status == 0, err
    status, out, err = run_command(["verify", str(ir), str(tmp_path / "rtl"), "--images", "4",
                                    "--bench", "harness", "--simulator", "icarus",
                                    "--batch-size", "2", "--jobs", "1", "--build-root",
                                    str(tmp_path / "builds"), "-q"])
    assert status == 0, err
    report = json.loads(out)
    assert report["mismatches"] == 0 and report["images"] == 4
    assert report["build_s"] > 0
    assert len(list((tmp_path / "builds").glob("harness-icarus-*/spikewright-built"))) == 1


@pytest.mark.parametrize("bench", [*BENCHES, "axis"])
@pytest.mark.parametrize("simulator", SIMULATORS)
def test_weights_written_into_spram_equal_golden_and_a_flipped_write_is_caught(
        tmp_path, build_root, simulator, bench):
    """Every dense layer's weights in SPRAM (Yosys's model of SB_SPRAM256KA), written by the
    bench through the design's weight stream before the first image: golden and the stream
    model's cycles; one written word with a flipped sign bit: the neuron it feeds is
    caught."""
    rng = np.random.default_rng(22)
    net = random_dense_network(rng, max_width=8, depth=1, timesteps=2, weight_width=4,
                               neuron="if")
    pixels = random_pixels(rng, net, 4)
    plan = make_plan(net, HwConfig(lanes=3, target="ice40-up5k",
                                   memory_style="spram"))
    rtl = write_files(generate(net, plan=plan), tmp_path / "rtl")
    report = run_images(rtl, plan, pixels, simulator=simulator, build_root=build_root,
                        bench=bench)
    assert_clean(report, 4)
    assert report["cycle_mismatches"] == 0

    neuron, source, image = flip_one_weight(net, pixels, plan)
    layer, stage = plan.layers[0], plan.stream.stages[0]
    group, lane = divmod(neuron, layer.lanes)
    bank = stage.spram.first_bank + lane // stage.spram.lanes_per_bank
    bit = (lane % stage.spram.lanes_per_bank) * layer.weight_width + layer.weight_width - 1
    address = group * layer.in_features + source
    writes = rtl / "spram_writes.hex"
    lines = writes.read_text().split()
    at = next(k for k, line in enumerate(lines)
              if int(line, 16) >> 16 == address | bank << 14)
    lines[at] = f"{int(lines[at], 16) ^ 1 << bit:08x}"
    writes.write_text("\n".join(lines) + "\n")
    flipped = run_images(rtl, plan, pixels, simulator=simulator, build_root=build_root,
                         bench=bench)
    first = flipped["first_mismatch"]
    assert flipped["mismatches"] > 0 and first["image"] == image
    spike = first if first["what"] == "spike" else first["first_spike"]
    assert (spike["image"], spike["layer"], spike["neuron"]) == (image, layer.name, neuron)


def test_a_design_whose_files_were_edited_is_refused_by_every_bench(small_rtl, tmp_path):
    """The manifest holds the sha256 of every generated file; ``verify`` refuses a folder
    whose Verilog was edited (even with the Amaranth bench, which never reads it), naming
    the file, and a manifest that lacks what the benches read."""
    import json
    import shutil
    from spikewright.cli import main
    rtl = tmp_path / "rtl"
    shutil.copytree(small_rtl / "rtl", rtl)
    verilog = rtl / f"{TOP_MODULE}.v"
    verilog.write_text(verilog.read_text() + "// edited by hand\n")
    for bench in ("amaranth", "harness"):
        with pytest.raises(ValueError, match=rf"^{verilog} is not the file that was generated "
                                             r"\(its sha256 differs from the manifest's\); "
                                             r"generate the design again rather than editing "
                                             r"it$"):
            main(["verify", str(small_rtl / "ir"), str(rtl), "--bench", bench,
                  "--images", "2", "--dataset", "digits"])
    manifest = json.loads((rtl / "manifest.json").read_text())
    del manifest["hw_config"], manifest["ports"]
    (rtl / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match=r"manifest\.json is not a manifest written by the "
                                         r"generator \(it lacks hw_config, ports\); generate "
                                         r"the design again$"):
        main(["verify", str(small_rtl / "ir"), str(rtl), "--bench", "amaranth"])


def test_a_cached_cocotb_build_of_another_cocotb_installation_is_not_reused(
        small_rtl, tmp_path, monkeypatch):
    """A Verilator binary loads cocotb's libraries from the path it was built against; a
    build made by another virtual environment sharing the cache failed with exit 127."""
    from cocotb_tools import config

    from spikewright.sim import cocotb_bench
    built = []
    monkeypatch.setattr(cocotb_bench, "_compiler",
                        lambda interface: lambda directory, info, verilog: built.append(directory))
    first = cocotb_bench.build(small_rtl / "rtl", "icarus", tmp_path)
    assert cocotb_bench.build(small_rtl / "rtl", "icarus", tmp_path).reused
    monkeypatch.setattr(config, "libs_dir", tmp_path / "another-venv" / "cocotb" / "libs")
    moved = cocotb_bench.build(small_rtl / "rtl", "icarus", tmp_path)
    assert not moved.reused and moved.directory != first.directory and len(built) == 2
