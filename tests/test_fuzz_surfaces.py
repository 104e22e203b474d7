"""Fuzzing the newer surfaces through the commands: mutated NIR graphs (foreign ones, with
nodes, parameters and bytes changed) and combinations of the options of ``generate``,
``sweep`` and ``board run``. Each case ends with exit status 2 and one line, or with a result
that says exactly what was asked (the design's recorded configuration); never a traceback."""

import json
import shutil

import nir
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bad_inputs import run_command, saved_ir
from test_fuzz import SETTINGS, assert_one_line_or_valid

PARAMETER_VALUES = [np.float32(0), np.float32(-1), np.float32(1e4), np.float32(np.nan),
                    np.float32(np.inf), "scalar-one", "shorter", "longer"]


def foreign_graph(seed: int = 0) -> dict:
    """The node parameters of a small foreign NIR graph: 8x8 input, Affine, IF, Affine."""
    rng = np.random.default_rng(seed)
    return {
        "fc1": {"weight": rng.normal(size=(5, 64)).astype(np.float32),
                "bias": rng.normal(size=5).astype(np.float32)},
        "lif1": {"r": np.ones(5, np.float32), "v_threshold": np.ones(5, np.float32),
                 "v_reset": np.zeros(5, np.float32)},
        "fc2": {"weight": rng.normal(size=(10, 5)).astype(np.float32),
                "bias": rng.normal(size=10).astype(np.float32)},
    }


def write_graph(path, params, drop=None):
    nodes = {"input": nir.Input(input_type={"input": np.array([1, 8, 8])}),
             "flat": nir.Flatten(input_type={"input": np.array([1, 8, 8])}, start_dim=0),
             "fc1": nir.Affine(**params["fc1"]), "lif1": nir.IF(**params["lif1"]),
             "fc2": nir.Affine(**params["fc2"]),
             "output": nir.Output(output_type={"output": np.array([10])})}
    order = list(nodes)
    edges = list(zip(order, order[1:]))
    if drop is not None:
        del nodes[drop]
        edges = [e for e in edges if drop not in e]
    nir.write(str(path), nir.NIRGraph(nodes=nodes, edges=edges))


def mutate(value, how):
    if isinstance(how, str):
        if how == "scalar-one":
            return np.ones(1, np.float32)
        return value[:-1] if how == "shorter" else np.concatenate([value, value[:1]])
    changed = value.copy()
    changed.reshape(-1)[0] = how
    return changed


@settings(max_examples=200, **SETTINGS)
@given(node=st.sampled_from(["fc1", "lif1", "fc2"]), field=st.integers(0, 2),
       how=st.sampled_from(PARAMETER_VALUES), drop=st.sampled_from([None, None, "flat", "fc2",
                                                                    "lif1", "output"]),
       corrupt=st.integers(-1, 10 ** 6), timesteps=st.sampled_from([None, 1, 2, 4]))
def test_mutated_nir_graphs_are_imported_exactly_or_refused_in_one_line(
        tmp_path_factory, node, field, how, drop, corrupt, timesteps):
    folder = tmp_path_factory.mktemp("nir")
    params = foreign_graph()
    names = sorted(params[node])
    name = names[field % len(names)]
    params[node][name] = mutate(params[node][name], how)
    path = folder / "g.nir"
    try:
        write_graph(path, params, drop)
    except Exception:  # noqa: BLE001  the nir package refuses to write some of these itself
        shutil.rmtree(folder)
        return
    if corrupt >= 0:
        data = bytearray(path.read_bytes())
        data[corrupt % len(data)] ^= 0x5A
        path.write_bytes(bytes(data))
    argv = ["nir", "import", str(path), "--out", str(folder / "ir")]
    if timesteps is not None:
        argv += ["--timesteps", str(timesteps)]
    status, out, err = run_command(argv)
    assert_one_line_or_valid(status, err)
    if status == 0:
        from spikewright.golden import load
        network = load(folder / "ir")
        assert json.loads(out)["network_digest"] == network.digest()
        assert all(np.isfinite(layer.weight).all() for layer in network.weighted_layers)
        for layer in network.weighted_layers:
            if layer.threshold is not None:
                assert (layer.threshold > 0).all()
    shutil.rmtree(folder)


GENERATE_OPTIONS = {
    "--lanes": ["1", "3", "0", "-1", "fc1=2", "fc1=0", "nope=2", "fc1=2,fc2=1", "x", "10**6"],
    "--kernel-lanes": ["1", "2", "fc1=2", "0", "conv=3", "y"],
    "--pixels-per-beat": ["1", "2", "4", "16", "17", "0", "3", "64"],
    "--input-buffers": ["1", "2", "3"],
    "--clock-mhz": ["50", "0", "-5", "nan", "inf", "1e9", "x"],
    "--target": ["ecp5-85k", "ice40-up5k", "xc7a35t", "nope"],
    "--memory-style": ["auto", "block", "distributed", "spram", "x"],
    "--fps": ["100", "0", "-1", "max", "x", "1e12"],
    "--fold-images": ["1", "0", "5"],
    "--dataset": ["digits", "mnist", "nope"],
}


@pytest.fixture(scope="module")
def ir(tmp_path_factory):
    return saved_ir(tmp_path_factory.mktemp("fuzz_ir"))


def options(draw_from: dict):
    return st.lists(st.sampled_from(sorted(draw_from)), max_size=4, unique=True).flatmap(
        lambda keys: st.tuples(*(st.sampled_from(draw_from[k]) for k in keys)).map(
            lambda values: [item for pair in zip(keys, values) for item in pair]))


@settings(max_examples=150, **SETTINGS)
@given(chosen=options(GENERATE_OPTIONS))
def test_generate_option_combinations_end_in_one_line_or_the_design_asked_for(
        ir, tmp_path_factory, chosen):
    folder = tmp_path_factory.mktemp("gen")
    status, out, err = run_command(["generate", str(ir), "--out", str(folder / "rtl"),
                                    *chosen])
    assert_one_line_or_valid(status, err)
    if status == 0:
        manifest = json.loads((folder / "rtl" / "manifest.json").read_text())
        asked = dict(zip(chosen[::2], chosen[1::2]))
        config = manifest["hw_config"]
        if "--clock-mhz" in asked:
            assert config["clock_mhz"] == float(asked["--clock-mhz"])
        if "--target" in asked:
            assert config["target"] == asked["--target"]
        if "--pixels-per-beat" in asked:
            assert config["pixels_per_beat"] == int(asked["--pixels-per-beat"])
        if "--lanes" in asked and "=" not in asked["--lanes"]:
            assert all(1 <= used <= int(asked["--lanes"])
                       for used in manifest["lanes_used"].values())
    shutil.rmtree(folder)


SWEEP_OPTIONS = {
    "--lanes": ["1,2", "1", "0", "2,x", "", "1,1", "64"],
    "--images": ["5", "0", "-3", "x"],
    "--fps": ["100,1000", "0", "x", "max"],
    "--clock-mhz": ["100", "0", "nan"],
    "--target": ["ecp5-85k", "nope"],
    "--jobs": ["1", "0"],
}


@settings(max_examples=75, **SETTINGS)
@given(chosen=options(SWEEP_OPTIONS))
def test_sweep_option_combinations_end_in_one_line_or_a_sweep(ir, tmp_path_factory, chosen):
    folder = tmp_path_factory.mktemp("sweep")
    status, out, err = run_command(["sweep", str(ir), "--no-synth", "-q", "--out",
                                    str(folder / "sweep"), *chosen])
    assert_one_line_or_valid(status, err)
    shutil.rmtree(folder)


BOARD_OPTIONS = {
    "--board": ["ulx3s-85f", "icebreaker", "nope"],
    "--images": ["2", "0", "x"],
    "--first": ["0", "-1", "400"],
    "--baud": ["3000000", "0", "9600"],
    "--clock-mhz": ["12", "0", "-1", "inf"],
    "--window": ["1", "32", "33", "0"],
    "--corrupt-every": ["0", "3", "-1"],
}


@settings(max_examples=75, **SETTINGS)
@given(chosen=options(BOARD_OPTIONS))
def test_board_run_option_combinations_end_in_one_line(ir, tmp_path_factory, chosen):
    """No board is attached: every combination ends in one line, the bad options before the
    serial port is tried."""
    folder = tmp_path_factory.mktemp("board")
    status, out, err = run_command(["board", "run", str(ir), "--port",
                                    str(folder / "no-such-port"), "-q", "--out",
                                    str(folder / "work"), *chosen])
    assert status == 2, (chosen, status, err)
    assert_one_line_or_valid(status, err)
    shutil.rmtree(folder)
