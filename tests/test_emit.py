import json
import shutil

import numpy as np
import pytest

from spikewright.golden.random_network import random_dense_network
from spikewright.hdl_gen.config import HwConfig
from spikewright.hdl_gen.emit import AXIS_FILE, TOP_MODULE, files_digest, generate, write_files
from spikewright.hdl_gen.tools import verilator_lint, yosys_cells


@pytest.fixture(scope="module")
def small_design(tmp_path_factory):
    net = random_dense_network(np.random.default_rng(11), max_width=10, depth=2, timesteps=3,
                               neuron="mixed")
    directory = tmp_path_factory.mktemp("rtl")
    files = generate(net, HwConfig(lanes=3))
    write_files(files, directory)
    return net, files, directory


def lint_clean_and_deterministic(net, config, directory) -> dict:
    """The files of ``net`` laid out by ``config``: the same twice over, and (written into
    ``directory``) clean under ``verilator --lint-only -Wall``."""
    files = generate(net, config)
    assert files_digest(generate(net, config)) == files_digest(files)
    write_files(files, directory)
    result = verilator_lint(directory / f"{TOP_MODULE}.v", directory / f"{TOP_MODULE}.vlt")
    assert result.returncode == 0, result.stderr
    return files


def test_generation_is_deterministic(small_design):
    net, files, _ = small_design
    assert files_digest(generate(net, HwConfig(lanes=3))) == files_digest(files)
    assert files_digest(generate(net, HwConfig(lanes=2))) != files_digest(files)


def test_manifest_describes_the_top(small_design):
    net, files, _ = small_design
    manifest = json.loads(files["manifest.json"])
    assert manifest["module"] == TOP_MODULE and f"module {TOP_MODULE}(" in files[f"{TOP_MODULE}.v"]
    assert manifest["ir_digest"] == net.digest()
    ports = {p["name"]: p for p in manifest["ports"]}
    assert ports["pixels__payload"] == {"name": "pixels__payload", "direction": "input",
                                        "width": 8,
                                        "description": "pixel value 0..255, C, H, W order"}
    assert ports["result__valid"]["direction"] == "output"
    assert {p["name"] for p in manifest["ports"]} >= {"clk", "rst", "trace_input_bits"}
    payload = manifest["result_payload"]
    assert ports["result__payload"]["width"] == payload["cls"]["width"] + \
        payload["logits"]["count"] * payload["logits"]["width"]
    assert manifest["hw_config"]["lanes"] == 3


@pytest.mark.sim
def test_verilator_lint_is_clean(small_design):
    _, _, directory = small_design
    result = verilator_lint(directory / f"{TOP_MODULE}.v", directory / f"{TOP_MODULE}.vlt")
    assert result.returncode == 0, result.stderr
    result = verilator_lint(directory / AXIS_FILE, directory / f"{TOP_MODULE}.vlt",
                            extra=[directory / f"{TOP_MODULE}.v"], top="spikewright_axis")
    assert result.returncode == 0, result.stderr


@pytest.mark.sim
@pytest.mark.parametrize("timesteps, beat", [(1, 1), (3, 2)])
def test_the_dataflow_design_is_lint_clean_and_deterministic(tmp_path, timesteps, beat):
    from helpers import dense_chain
    rng = np.random.default_rng(12)
    net = dense_chain(timesteps, rng.integers(-8, 8, (80, 8)), rng.integers(-3, 3, 80),
                      rng.integers(1, 9, 80), "if", rng.integers(-8, 8, (3, 80)),
                      rng.integers(-3, 3, 3), 8)
    config = HwConfig(lanes=80, pixels_per_beat=beat)  # two banks
    files = lint_clean_and_deterministic(net, config, tmp_path)
    assert "weights_1" in files[f"{TOP_MODULE}.v"]
    result = verilator_lint(tmp_path / AXIS_FILE, tmp_path / f"{TOP_MODULE}.vlt",
                            extra=[tmp_path / f"{TOP_MODULE}.v"], top="spikewright_axis")
    assert result.returncode == 0, result.stderr


@pytest.mark.sim
@pytest.mark.parametrize("timesteps", [1, 2])
def test_the_dataflow_conv_design_is_lint_clean_and_deterministic(tmp_path, timesteps):
    """Two conv stages (a word memory between them), kernel lanes 2 and 3, T = 1 and 2 (the
    membrane memory)."""
    from spikewright.golden.random_network import random_conv_network
    net = random_conv_network(np.random.default_rng(41), neuron="if", timesteps=timesteps,
                              depthwise=False, depth=2)
    files = lint_clean_and_deterministic(
        net, HwConfig(lanes=2, kernel_lanes={"conv1": 2, "conv2": 3}), tmp_path)
    assert "bitmap_conv1" in files[f"{TOP_MODULE}.v"]


@pytest.mark.sim
def test_asg_grouped_and_pooling_stages_are_lint_clean_and_deterministic(tmp_path):
    """An ASG conv, an ASG average pooling (depthwise, its regeneration and potential memory)
    and an ASG dense layer at T = 3."""
    from helpers import conv_then_asg_pooling
    from spikewright.golden.ir import Neuron
    rng = np.random.default_rng(7)
    net = conv_then_asg_pooling(rng, rng, rng, hidden=5)
    assert {layer.neuron for layer in net.weighted_layers[:-1]} == {Neuron.ASG}
    files = lint_clean_and_deterministic(net, HwConfig(lanes=2, kernel_lanes={"conv1": 2}),
                                         tmp_path)
    assert "potential" in files[f"{TOP_MODULE}.v"]


@pytest.mark.synth
def test_synthesized_netlist_has_no_multiplier(small_design, tmp_path):
    _, _, directory = small_design
    shutil.copy(directory / f"{TOP_MODULE}.v", tmp_path)
    # word-level netlist before alumacc (which turns multi-operand sums into $macc):
    # a multiplier, divider or power would be a cell of its own here
    coarse = yosys_cells(tmp_path, f"read_verilog {TOP_MODULE}.v; hierarchy -top {TOP_MODULE}; "
                                   f"proc; flatten; opt; wreduce; opt_clean", TOP_MODULE)
    assert "$add" in coarse and "$ge" in coarse, coarse
    assert not {"$mul", "$div", "$mod", "$divfloor", "$modfloor", "$pow"} & set(coarse), coarse
