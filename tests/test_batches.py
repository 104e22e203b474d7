"""Verification batches over local processes and a Dask cluster (sim.batches, through
sim.verify.verify): the same report as one process, kept batches resumed."""

import numpy as np
import pytest

from spikewright.golden.random_network import random_dense_network, random_pixels
from spikewright.hdl_gen.config import HwConfig
from spikewright.hdl_gen.emit import generate, write_files
from spikewright.hdl_gen.plan import make_plan
from spikewright.sim import batches
from spikewright.sim import verify as verify_module

pytestmark = pytest.mark.sim
#: what depends on when and where a run went, not on what it verified
TIMING = ("wall_time_s", "simulated_cycles_per_s", "build_s")


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    """A small dense design on the harness bench, 12 images in batches of 3."""
    rng = np.random.default_rng(31)
    net = random_dense_network(rng, max_width=10, depth=2, timesteps=2)
    plan = make_plan(net, HwConfig(lanes=3))
    directory = tmp_path_factory.mktemp("batches")
    write_files(generate(net, plan=plan), directory / "rtl")
    return directory, plan, random_pixels(rng, net, 12)


def run(case, **options):
    directory, plan, pixels = case
    report = verify_module.verify(directory / "rtl", plan, pixels, simulator="verilator",
                                  bench="harness", batch_size=3,
                                  build_root=directory / "builds", **options)
    return {k: v for k, v in report.items() if k not in TIMING}


def test_two_processes_and_a_dask_cluster_give_the_one_process_report(case):
    from distributed import LocalCluster
    one = run(case, jobs=1)
    assert one["images"] == 12 and one["mismatches"] == 0 and one["cycle_mismatches"] == 0
    assert run(case, jobs=2) == one
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        assert run(case, scheduler=cluster.scheduler_address) == one


def test_a_stopped_run_resumes_from_its_kept_batches(case, tmp_path, monkeypatch):
    kept = tmp_path / "kept"
    first = run(case, batch_dir=kept)
    assert len(list(kept.glob("batch_*.json"))) == 4
    (kept / "batch_0000003_0000006.json").unlink()  # as if stopped before this batch
    runs = []
    real = verify_module.run_images

    def counted(rtl_dir, plan, pixels, **options):
        runs.append(len(pixels))
        return real(rtl_dir, plan, pixels, **options)

    monkeypatch.setattr(verify_module, "run_images", counted)
    assert run(case, batch_dir=kept, resume=True) == first
    assert runs == [3]
    # other options are another run: nothing kept is taken for it
    runs.clear()
    run(case, batch_dir=kept, resume=True, seed=7)
    assert runs == [3, 3, 3, 3]


def test_a_mismatch_in_a_later_batch_is_named_by_its_image_in_the_run(case):
    from spikewright.golden import model
    directory, plan, pixels = case
    golden = model.run(plan.network, pixels, trace=True)
    golden.logits[7, 0] += 1  # what golden expects of image 7 (batch 2), no longer the RTL's
    report = verify_module.verify(directory / "rtl", plan, pixels, golden=golden,
                                  simulator="verilator", bench="harness", batch_size=3,
                                  jobs=2, build_root=directory / "builds")
    assert report["mismatches"] == 1
    assert (report["first_mismatch"]["image"], report["first_mismatch"]["what"]) == \
        (7, "class/logits")


def test_resume_without_a_place_for_the_batches_is_refused(case):
    with pytest.raises(ValueError, match="batch_dir"):
        run(case, resume=True)


def test_no_scheduler_at_the_address_says_how_to_start_one(case, monkeypatch):
    monkeypatch.setattr(batches, "CONNECT_TIMEOUT_S", 2)
    with pytest.raises(ValueError, match="no Dask scheduler answers at tcp://127.0.0.1:9"):
        run(case, scheduler="tcp://127.0.0.1:9")
