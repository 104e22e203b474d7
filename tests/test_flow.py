"""The flow: one dataset load, one plan and one golden run per image set in a whole run; the
steps over one in-memory record."""

import json
import sys

import numpy as np
import pytest

from spikewright import flow
from spikewright.golden import datasets, save
from spikewright.golden import model as golden_model
from spikewright.golden.random_network import random_dense_network, random_pixels
from spikewright.hdl_gen import plan as plan_module
from spikewright.hdl_gen.config import HwConfig


class CallCounter:
    """Counts calls of chosen functions, however they were imported (by their code)."""

    def __init__(self, **functions):
        self.codes = {f.__code__: name for name, f in functions.items()}
        self.counts = dict.fromkeys(functions, 0)

    def __call__(self, frame, event, arg):
        if event == "call" and frame.f_code in self.codes:
            self.counts[self.codes[frame.f_code]] += 1

    def __enter__(self):
        sys.setprofile(self)
        return self.counts

    def __exit__(self, *exc):
        sys.setprofile(None)


def counter():
    return CallCounter(load_dataset=datasets.load_dataset, make_plan=plan_module.make_plan,
                       golden=golden_model.run)


@pytest.mark.slow
@pytest.mark.sim
@pytest.mark.dataset
def test_a_whole_run_loads_once_plans_once_and_runs_golden_once(tmp_path):
    from spikewright.cli import main
    out = tmp_path / "run"
    with counter() as counts:
        assert main(["run", "--limit", "30", "--verify-images", "2", "--simulator", "icarus",
                     "--bench", "harness", "--targets", "", "-q", "--out", str(out)]) == 0
    assert counts == {"load_dataset": 1, "make_plan": 1, "golden": 1}
    report = json.loads((out / "report.json").read_text())
    assert report["verification"]["images"] == 2 and report["verification"]["mismatches"] == 0
    assert report["accuracy"]["snn_golden"]["source"] == "golden model, 30 mnist test images"
    stream = report["stream"]  # the interval, each image's latency, the ratios to the limits
    assert len(stream["latency_cycles"]) == 30
    assert np.mean(stream["latency_cycles"]) == report["latency"]["cycles"]["value"]["mean"]
    assert stream["interval_to_weight_limit"] == (stream["interval_cycles"]
                                                  / stream["weight_limit_cycles"])
    assert stream["interval_to_pixel_limit"] > 1
    assert set(report["run_times"]["steps_s"]) == {"convert", "golden_and_models", "generate",
                                                   "verify", "synthesis"}
    html = (out / "report.html").read_text()
    assert f"Dataflow: {stream['interval_cycles']:.1f} cycles between results" in html
    assert "This run: convert " in html
    from spikewright.commands.run import RUN_FILES
    assert {path.name for path in out.iterdir()} <= RUN_FILES  # a next run replaces them all


def test_a_run_into_a_folder_of_the_users_is_refused_before_any_work(tmp_path):
    """``run --out`` follows generate's rule: files it does not write are never overwritten
    or mixed with a run's unless ``--force``."""
    from spikewright.cli import main
    out = tmp_path / "mine"
    out.mkdir()
    (out / "report.html").write_text("a run's report: replaced by the next run")
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match=rf"^{out} already holds other files \(notes\.txt\); "
                                         r"write into an empty or new directory, or pass "
                                         r"--force to write beside them$"):
        main(["run", "--out", str(out), "--targets", "", "-q"])
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "report.html"]
    assert (out / "notes.txt").read_text() == "mine"


def small_build(tmp_path, images=6):
    rng = np.random.default_rng(3)
    network = random_dense_network(rng, max_width=8, timesteps=2)
    save(network, tmp_path / "ir")
    build = flow.load(tmp_path / "ir")
    pixels = random_pixels(rng, network, images)
    build.images = flow.ImageSet("random", "test", 0, pixels, np.zeros(images, np.int64))
    return build


def test_steps_share_one_plan_and_one_golden_run(tmp_path):
    build = small_build(tmp_path)
    with counter() as counts:
        flow.plan(build, HwConfig(lanes=2))
        flow.golden(build, traced=3)
        flow.evaluate(build)
        flow.cycles_and_energy(build)
        flow.generate(build, tmp_path / "rtl")
        flow.verify(build, images=3, bench="amaranth")
    assert counts == {"load_dataset": 0, "make_plan": 1, "golden": 1}
    verified = build.results["verify"]
    assert verified["images"] == 3 and verified["mismatches"] == 0
    assert verified["cycle_mismatches"] == 0
    # each result's cycle, streamed back to back: the first three as verify streamed them
    assert build.results["stream"]["result_cycles"][:3] == verified["cycles_per_image"]
    assert len(build.results["cycles"]["cycles"]) == 6


def test_the_stage_table_reads_each_stage_plan_and_the_stream_model(tmp_path):
    from spikewright.hdl_gen.fold import dense_weight_blocks
    build = small_build(tmp_path)
    flow.plan(build, HwConfig(lanes=2))
    flow.golden(build)
    flow.cycles_and_energy(build)
    stream = build.results["stream"]
    rows = {row["stage"]: row for row in stream["stages"]}
    layers = build.plan.stream.stages
    assert list(rows) == ["encoder", *(s.layer.name for s in layers), "argmax"]
    for name, row in rows.items():
        assert row["mean_cycles"] == stream["stage_cycles_mean"][name]
        assert row["share_of_interval"] == row["mean_cycles"] / stream["interval_cycles"]
    assert sum(rows[s.layer.name]["weight_block_rams"] for s in layers) == \
        dense_weight_blocks(build.plan)
    first = rows[layers[0].layer.name]
    assert first["input_spikes_mean"] == float(np.mean(build.images.golden.spike_counts["input"]))
    assert first["lanes"] == 2 and first["kind"] == "dense"


def test_verify_needs_the_trace_of_the_images_it_checks(tmp_path):
    build = small_build(tmp_path)
    flow.plan(build, HwConfig(lanes=2))
    flow.golden(build, traced=1)
    flow.generate(build, tmp_path / "rtl")
    with pytest.raises(ValueError, match=r"^golden must keep the trace of the 3 images to "
                                         r"verify \(it kept 1\)$"):
        flow.verify(build, images=3, bench="amaranth")


def test_verify_refuses_a_design_of_another_configuration(tmp_path):
    build = small_build(tmp_path)
    flow.plan(build, HwConfig(lanes=2))
    flow.generate(build, tmp_path / "rtl")
    flow.golden(build, traced=2)
    flow.plan(build, HwConfig(lanes=3))
    with pytest.raises(ValueError, match=r"was generated with another hardware configuration"):
        flow.verify(build, images=2, bench="amaranth")


def test_write_json_creates_the_folder_and_leaves_no_partial_file(tmp_path):
    path = flow.write_json(tmp_path / "a" / "b" / "r.json", {"x": 1})
    assert json.loads(path.read_text()) == {"x": 1}
    assert sorted(p.name for p in path.parent.iterdir()) == ["r.json"]


def bare_build(tmp_path):
    """A build of a small network with no images, plan or golden run yet."""
    build = small_build(tmp_path)
    build.images = None
    return build


@pytest.mark.parametrize("step, error, message", [
    (lambda b, tmp: flow.images(b, limit="10"), TypeError,
     r"limit must be a whole number \(an int\), not '10'"),
    (lambda b, tmp: flow.images(b, limit=True), TypeError,
     r"limit must be a whole number \(an int\), not True"),
    (lambda b, tmp: flow.images(b, limit=1.5), TypeError,
     r"limit must be a whole number \(an int\), not 1\.5"),
    (lambda b, tmp: flow.images(b, first=-1), ValueError, r"first must be at least 0, not -1"),
    (lambda b, tmp: flow.golden(b), ValueError,
     r"run_golden needs images first: call images\(build, \.\.\.\)"),
    (lambda b, tmp: flow.evaluate(b), ValueError,
     r"evaluate needs images first: call images\(build, \.\.\.\)"),
    (lambda b, tmp: flow.generate(b, tmp / "rtl"), ValueError,
     r"generate needs the hardware plan first: call plan\(build, HwConfig\(\.\.\.\)\) "
     r"or fold\(build, fps=\.\.\.\)"),
    (lambda b, tmp: flow.generate(flow.plan(b), 123), TypeError,
     r"out must be a path \(a str or os\.PathLike\), not 123"),
    (lambda b, tmp: flow.verify(b), ValueError,
     r"verify needs images first: call images\(build, \.\.\.\)"),
    (lambda b, tmp: flow.plan(None), TypeError,
     r"plan takes a Build \(from load, train, convert, from_torch or nir_import\), not "
     r"NoneType"),
    (lambda b, tmp: flow.load(None), TypeError,
     r"network must be a path \(a str or os\.PathLike\), not None"),
    (lambda b, tmp: flow.fold(b, fps=float("inf")), ValueError,
     r"fps must be a positive, finite number of images per second, not inf"),
    (lambda b, tmp: flow.synthesize(b, "ecp5-85k"), ValueError,
     r"targets must be a list of parts from .*, not 'ecp5-85k'"),
    (lambda b, tmp: flow.nir_import(tmp / "none.nir"), FileNotFoundError,
     r"NIR file .*none\.nir does not exist"),
], ids=["limit text", "limit bool", "limit float", "first negative", "golden before images",
        "evaluate before images", "generate before plan", "generate out number",
        "verify before images", "plan of None", "load None", "fold fps inf",
        "synthesize one string", "nir_import missing"])
def test_the_python_api_names_a_bad_argument_or_a_missing_step(tmp_path, step, error,
                                                                 message):
    with pytest.raises(error, match=f"^{message}$"):
        step(bare_build(tmp_path), tmp_path)


@pytest.mark.parametrize("kwargs, message", [
    ({"traced": -1}, r"traced must be at least 0, not -1"),
    ({"traced": "5"}, r"traced must be a whole number \(an int\), not '5'"),
    ({"batch_size": 0}, r"batch_size must be at least 1, not 0"),
])
def test_run_golden_names_a_bad_count(tmp_path, kwargs, message):
    with pytest.raises((TypeError, ValueError), match=f"^{message}$"):
        flow.golden(small_build(tmp_path), **kwargs)


def test_lanes_beyond_a_layers_neurons_are_named_where_generate_builds_fewer(tmp_path,
                                                                              capsys):
    build = small_build(tmp_path)
    first = build.network.weighted_layers[0].name
    flow.plan(build, HwConfig(lanes={first: 4000}))
    flow.generate(build, tmp_path / "rtl")
    neurons = build.plan.layers[0].lanes
    assert (f"{first} is built with {neurons} lanes, not 4000: it has {neurons} neurons "
            f"(manifest: lanes_used)") in capsys.readouterr().err
