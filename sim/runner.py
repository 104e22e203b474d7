"""Build the generated RTL once per (design, simulator) and run the cocotb testbench on it."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from spikeforge.hdl_gen.emit import TOP_MODULE

from .simulators import SimulatorInfo, check_simulator

__all__ = ["DEFAULT_BUILD_ROOT", "BENCHES", "build", "run_images", "BuildInfo"]

DEFAULT_BUILD_ROOT = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / \
    "spikeforge" / "sim"


@dataclass(frozen=True)
class BuildInfo:
    directory: Path
    simulator: SimulatorInfo
    digest: str
    seconds: float
    reused: bool


@contextlib.contextmanager
def _environment(values: dict):
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _runner(simulator: str):
    from cocotb_tools.runner import get_runner
    return get_runner(simulator)


def top_verilog(rtl_dir) -> Path:
    """The generated top's Verilog in ``rtl_dir``; a clear error if it is not there."""
    verilog = Path(rtl_dir) / f"{TOP_MODULE}.v"
    if not verilog.is_file():
        raise FileNotFoundError(f"{verilog} does not exist; write it with `spikeforge generate`")
    return verilog


def cached_build(rtl_dir, simulator: str, build_root, compile_into, *, prefix: str = "",
                 extra: bytes = b"") -> BuildInfo:
    """Run ``compile_into(directory, simulator_info, verilog)`` once per (Verilog, ``extra``,
    simulator version) in a directory keyed by their digest; reuse it when it is already
    built. Safe to call from parallel runs."""
    info = check_simulator(simulator)
    verilog = top_verilog(rtl_dir)
    digest = hashlib.sha256(verilog.read_bytes() + extra
                            + info.version.encode()).hexdigest()[:20]
    directory = Path(build_root or DEFAULT_BUILD_ROOT) / f"{prefix}{simulator}-{digest}"
    marker = directory / "spikeforge-built"
    start = time.time()
    with _locked(directory.with_suffix(".lock")):
        if marker.is_file():
            return BuildInfo(directory, info, digest, 0.0, True)
        directory.mkdir(parents=True, exist_ok=True)
        compile_into(directory, info, verilog)
        marker.write_text(json.dumps({"verilog": str(verilog), "simulator": info.version}))
    return BuildInfo(directory, info, digest, time.time() - start, False)


def check_probabilities(input_gaps: float, backpressure: float) -> None:
    for name, value in (("input_gaps", input_gaps), ("backpressure", backpressure)):
        if not 0.0 <= value < 1.0:
            raise ValueError(f"{name} must be a probability in [0, 1), not {value!r}")


def build(rtl_dir, simulator: str, build_root=None) -> BuildInfo:
    """Build ``rtl_dir``'s top for the cocotb testbench (see :func:`cached_build`)."""
    return cached_build(rtl_dir, simulator, build_root, _compile_for_cocotb)


def _compile_for_cocotb(directory: Path, info: SimulatorInfo, verilog: Path) -> None:
    sources = [verilog.resolve()]
    # Amaranth writes Verilog-2005 whose combinational blocks are started at time 0 by a
    # declaration initializer; under -g2012 (the runner's default) Icarus raises no event
    # for it and those outputs stay X until an input changes.
    build_args = ["-g2005"]
    if info.name == "verilator":
        build_args = ["-Wno-fatal", "-Wno-lint", "-Wno-style", "-O3", "--x-assign", "fast",
                      "--x-initial", "fast"]
    with _environment(info.environment()):
        _runner(info.name).build(sources=sources, hdl_toplevel=TOP_MODULE,
                                 build_dir=directory, build_args=build_args,
                                 timescale=("1ns", "1ps"), always=True,
                                 log_file=directory / "build.log")


BENCHES = ("cocotb", "harness")


def run_images(rtl_dir, ir_dir, pixels: np.ndarray, *, simulator: str, seed: int = 0,
               input_gaps: float = 0.0, backpressure: float = 0.0, build_root=None,
               bench: str = "cocotb") -> dict:
    """Simulate ``pixels`` on the built RTL; return the testbench's report (see
    :mod:`.testbench`) with the simulator, its version and the build facts added.

    ``bench="harness"`` runs the same checks through the HDL harness of :mod:`.harness`
    (no Python in the simulation loop; about 10x faster on Verilator).
    """
    if bench not in BENCHES:
        raise ValueError(f"bench must be one of {', '.join(BENCHES)}, not {bench!r}")
    if bench == "harness":
        from .harness import run_harness
        return run_harness(rtl_dir, ir_dir, pixels, simulator=simulator, seed=seed,
                           input_gaps=input_gaps, backpressure=backpressure,
                           build_root=build_root)
    check_probabilities(input_gaps, backpressure)
    built = build(rtl_dir, simulator, build_root)
    work = Path(tempfile.mkdtemp(prefix="run-", dir=built.directory))
    np.save(work / "pixels.npy", np.ascontiguousarray(pixels, dtype=np.uint8))
    job = {"ir": str(Path(ir_dir).resolve()), "rtl": str(Path(rtl_dir).resolve()),
           "pixels": str(work / "pixels.npy"), "seed": int(seed),
           "input_gaps": float(input_gaps), "backpressure": float(backpressure),
           "results": str(work / "results.json")}
    (work / "job.json").write_text(json.dumps(job, indent=2))
    start = time.time()
    with _environment(built.simulator.environment()):
        _runner(simulator).test(test_module="spikeforge.sim.testbench",
                                hdl_toplevel=TOP_MODULE, hdl_toplevel_lang="verilog",
                                build_dir=built.directory,
                                test_dir=work, plusargs=[f"+spikeforge_job={work / 'job.json'}"],
                                timescale=("1ns", "1ps") if simulator == "icarus" else None,
                                log_file=work / "sim.log")
    results_path = work / "results.json"
    if not results_path.is_file():
        log = (work / "sim.log").read_text()[-3000:] if (work / "sim.log").is_file() else ""
        raise RuntimeError(f"the {simulator} run wrote no results; the end of its log:\n{log}")
    report = json.loads(results_path.read_text())
    report.update(simulator=simulator, simulator_version=built.simulator.version,
                  build_dir=str(built.directory), build_s=round(built.seconds, 1),
                  build_reused=built.reused, run_wall_s=round(time.time() - start, 2),
                  bench="cocotb")
    return report
