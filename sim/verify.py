"""RTL against golden: which bench runs a design, the check that a design belongs to a
network, and verification of many images in batches through one build.

Every bench only records what the design did (:class:`~.recording.Recording`); the one
comparison is :func:`.expected.compare`.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np

from spikewright.golden.ir import Network
from spikewright.hdl_gen.config import HwConfig
from spikewright.hdl_gen.emit import manifest_digest, result_payload_layout
from spikewright.hdl_gen.plan import NetworkPlan, make_plan

from . import amaranth_bench, cocotb_bench, harness
from .batches import BatchJob, BatchStore, run_batches
from .expected import Expected, compare, expected_for
from .recording import Recording

__all__ = ["BENCHES", "MANIFEST_KEYS", "read_manifest", "check_files", "check_design",
           "plan_of_design", "build_for", "record", "run_images", "run_batch", "verify"]

#: the benches that record a run: cocotb on the design, cocotb on its AXI4-Stream top
#: (``axis``), the harness (stimulus and logging in the simulator) and Amaranth's simulator
#: (no HDL simulator or RTL files needed)
BENCHES = ("cocotb", "axis", "harness", "amaranth")


def read_manifest(rtl_dir) -> dict:
    """The manifest of the generated design in ``rtl_dir``; a clear error where there is
    none or it is not one the generator wrote."""
    path = Path(rtl_dir) / "manifest.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; {rtl_dir} must be a directory of "
                                f"generated RTL (Verilog and manifest.json)")
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ValueError(f"{path} is not a manifest written by the generator (not JSON)") from None
    missing = [key for key in MANIFEST_KEYS
               if not isinstance(manifest, dict) or key not in manifest]
    if missing:
        raise ValueError(f"{path} is not a manifest written by the generator (it lacks "
                         f"{', '.join(missing)}); generate the design again")
    if manifest["manifest_sha256"] != manifest_digest(manifest):
        raise ValueError(f"{path} was edited after it was generated (its content no longer "
                         f"matches its manifest_sha256); generate the design again rather "
                         f"than editing it")
    return manifest


#: what every manifest holds and the benches, synthesis and boards read
MANIFEST_KEYS = ("ir_digest", "hw_config", "files", "pixels", "result_payload", "ports",
                 "weight_memory_bits", "manifest_sha256")


def check_files(rtl_dir, manifest: dict) -> None:
    """Refuse a design folder whose files are not the ones generated with ``manifest``
    (its ``files``: the sha256 of each): a hand-edited Verilog would otherwise be simulated,
    or not, depending on the bench."""
    files = manifest["files"]
    if not isinstance(files, dict):
        raise ValueError(f"{Path(rtl_dir) / 'manifest.json'} is not a manifest written by the "
                         f"generator (files is not a table of digests)")
    for name, digest in files.items():
        path = Path(rtl_dir) / name
        if not path.is_file():
            raise ValueError(f"{path} is missing; the manifest lists it among the generated "
                             f"files: generate the design again")
        if hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            raise ValueError(f"{path} is not the file that was generated (its sha256 differs "
                             f"from the manifest's); generate the design again rather than "
                             f"editing it")


def check_design(rtl_dir, network: Network) -> dict:
    """The manifest of the design in ``rtl_dir``, after checking that it was generated from
    ``network`` (the IR digest) and that its files are the ones generated
    (:func:`check_files`)."""
    manifest = read_manifest(rtl_dir)
    digest = manifest["ir_digest"]
    if digest != network.digest():
        raise ValueError(f"{rtl_dir} was generated from another network (IR digest "
                         f"{str(digest)[:16]}, this network {network.digest()[:16]}); "
                         f"generate it again from this network")
    check_files(rtl_dir, manifest)
    return manifest


def plan_of_design(rtl_dir, network: Network) -> NetworkPlan:
    """The plan the design in ``rtl_dir`` was generated with (its manifest's HwConfig)."""
    manifest = check_design(rtl_dir, network)
    return make_plan(network, HwConfig.from_json(manifest["hw_config"]))


def _check_run(bench: str, input_gaps: float, backpressure: float) -> None:
    """Refuse a bench that is not one of :data:`BENCHES` or a probability outside [0, 1)."""
    if bench not in BENCHES:
        raise ValueError(f"bench must be one of {', '.join(BENCHES)}, not {bench!r}")
    for name, value in (("input_gaps", input_gaps), ("backpressure", backpressure)):
        if not 0.0 <= value < 1.0:
            raise ValueError(f"{name} must be a probability in [0, 1), not {value!r}")


def build_for(bench: str, rtl_dir, *, simulator: str, build_root=None):
    """The simulator build that ``bench``'s runs of ``rtl_dir`` use (cached and locked per
    machine, so that one made here is the one every batch of this machine then reuses);
    ``None`` for the Amaranth bench."""
    _check_run(bench, 0.0, 0.0)
    if bench == "amaranth":
        return None
    if bench == "harness":
        return harness.build_harness(rtl_dir, simulator, build_root)
    return cocotb_bench.build(rtl_dir, simulator, build_root,
                              "axis" if bench == "axis" else "top")


def record(bench: str, rtl_dir, plan: NetworkPlan, pixels: np.ndarray, *, simulator: str,
           seed: int = 0, input_gaps: float = 0.0, backpressure: float = 0.0,
           build_root=None) -> Recording:
    """Run ``pixels`` through the design on ``bench``; return what it recorded."""
    _check_run(bench, input_gaps, backpressure)
    if bench == "amaranth":
        return amaranth_bench.record(plan, pixels, seed=seed, input_gaps=input_gaps,
                                     backpressure=backpressure)
    if bench in ("cocotb", "axis"):
        return cocotb_bench.record(rtl_dir, pixels, simulator=simulator, seed=seed,
                                   input_gaps=input_gaps, backpressure=backpressure,
                                   build_root=build_root,
                                   interface="axis" if bench == "axis" else "top")
    return harness.record(rtl_dir, pixels, simulator=simulator, seed=seed,
                          input_gaps=input_gaps, backpressure=backpressure,
                          build_root=build_root)


def run_images(rtl_dir, plan: NetworkPlan, pixels: np.ndarray, *, simulator: str = "verilator",
               bench: str = "cocotb", expected: Expected | None = None, seed: int = 0,
               input_gaps: float = 0.0, backpressure: float = 0.0, build_root=None) -> dict:
    """One bench run of ``pixels`` compared with golden (``expected``, or a golden run here):
    the report of :func:`.expected.compare`."""
    _check_run(bench, input_gaps, backpressure)
    expected = expected or expected_for(plan, pixels)
    recording = record(bench, rtl_dir, plan, pixels, simulator=simulator, seed=seed,
                       input_gaps=input_gaps, backpressure=backpressure, build_root=build_root)
    return compare(expected, recording, result_payload_layout(plan),
                   check_cycles=not input_gaps and not backpressure)


def _merge(reports: list, expected: Expected, *, simulator: str, bench: str,
           input_gaps: float, backpressure: float, start: float, build_s: float = 0.0) -> dict:
    """One report of the batches ``reports`` (images counted from the first batch)."""
    cycles = np.concatenate([r["cycles_per_image"] for r in reports])
    done = len(cycles)
    # result cycles, counted from each batch's start
    gaps = np.concatenate([np.diff(r["cycles_per_image"]) for r in reports
                           if len(r["cycles_per_image"]) > 1] or [np.zeros(0)])
    summary = {"interval_mean": float(gaps.mean()) if len(gaps) else None,
               "first_result": int(cycles[0]),
               "model_interval_mean": float(np.mean(np.concatenate(
                   [np.diff(r["model_cycles"]) for r in reports
                    if len(r["model_cycles"]) > 1] or [np.zeros(1)])))}
    checked = reports[0]["cycle_mismatches"] is not None
    simulated = sum(r["simulated_cycles"] for r in reports)
    sim_seconds = sum(r.get("run_wall_s", r.get("wall_s", 0)) for r in reports)
    axis = {"tlast_error": max(r["tlast_error"] for r in reports)} if bench == "axis" else {}
    return {
        **axis,
        "images": int(done),
        "mismatches": sum(r["mismatches"] for r in reports),
        "cycle_mismatches": sum(r["cycle_mismatches"] for r in reports) if checked else None,
        "first_mismatch": next((r["first_mismatch"] for r in reports if r["first_mismatch"]),
                               None),
        "cycles": summary,
        "cycles_per_image": cycles.tolist(),
        "classes": [c for r in reports for c in r["classes"]],
        "golden_classes": expected.classes[:done].tolist(),
        "simulator": simulator if bench != "amaranth" else "amaranth",
        "bench": bench,
        "simulator_version": reports[0].get("simulator_version"),
        "build_s": max([build_s, *(r.get("build_s") or 0 for r in reports)]),
        "simulated_cycles": simulated,
        "simulated_cycles_per_s": round(simulated / sim_seconds, 1) if sim_seconds else None,
        "input_gaps": input_gaps,
        "backpressure": backpressure,
        "wall_time_s": round(time.time() - start, 1),
    }


def run_batch(job: BatchJob) -> dict:
    """One batch's report (:func:`run_images`), its first mismatch's image counted from
    the run's first image."""
    report = run_images(job.rtl_dir, job.plan, job.pixels, expected=job.expected,
                        **job.options)
    if report["first_mismatch"] is not None:
        report["first_mismatch"]["image"] += job.first
    return report


def verify(rtl_dir, plan: NetworkPlan, pixels: np.ndarray, *, golden=None,
           simulator: str = "verilator", bench: str = "cocotb", seed: int = 0,
           input_gaps: float = 0.0, backpressure: float = 0.0, batch_size: int = 500,
           build_root=None, progress=None, partial=None, jobs: int = 1,
           scheduler: str | None = None, batch_dir=None, resume: bool = False,
           build_s: float = 0.0) -> dict:
    """Run ``pixels`` through the design in batches of one build; return the merged report.
    ``build_s``: the seconds of a build made before (:func:`build_for`), counted in the
    report's ``build_s``.

    ``golden``: the traced golden result of these pixels (computed here if not given).
    The batches run in this process (``jobs`` 1), over ``jobs`` local processes, or on the
    Dask cluster at ``scheduler`` (:func:`.batches.run_batches`); the report is the same.
    Each batch's report is kept in ``batch_dir`` where one is given; with ``resume`` the
    batches found there are not run again.
    ``progress(done, total, mismatches=M)`` is called after each batch (whichever worker ran
    it; M: the mismatches so far), and ``partial(report)`` with the
    report of the first images verified so far (``"complete": False``), so that a long run
    that is stopped keeps what it verified.
    """
    _check_run(bench, input_gaps, backpressure)
    if resume and batch_dir is None:
        raise ValueError("resume needs the directory of the batches kept (batch_dir)")
    start = time.time()
    expected = expected_for(plan, pixels, result=golden)
    merge_options = dict(simulator=simulator, bench=bench, input_gaps=input_gaps,
                         backpressure=backpressure, start=start, build_s=build_s)
    run_options = dict(simulator=simulator, bench=bench, input_gaps=input_gaps,
                       backpressure=backpressure, build_root=build_root)
    bounds = [(first, min(first + batch_size, len(pixels)))
              for first in range(0, len(pixels), batch_size)]
    jobs_list = [BatchJob(first, stop, str(rtl_dir), plan, pixels[first:stop],
                          expected.select(first, stop), {**run_options, "seed": seed + first})
                 for first, stop in bounds]
    store = BatchStore(batch_dir) if batch_dir is not None else None
    reports, done, mismatches = [None] * len(jobs_list), 0, 0
    for index, report in run_batches(run_batch, jobs_list, processes=jobs,
                                     scheduler=scheduler, store=store, resume=resume):
        reports[index] = report
        done += report["images"]
        mismatches += report["mismatches"]
        if progress is not None:
            progress(done, len(pixels), mismatches=mismatches)
        prefix = next((k for k, r in enumerate(reports) if r is None), len(reports))
        if partial is not None and prefix and done < len(pixels):
            partial({**_merge(reports[:prefix], expected, **merge_options),
                     "complete": False})
    return {**_merge(reports, expected, **merge_options), "complete": True}
