"""The cocotb bench: the generated top built once per (design, simulator), driven by
:mod:`.testbench`; returns what it recorded."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np

from spikewright.hdl_gen.emit import TOP_MODULE

from .build import ICARUS_FLAGS, VERILATOR_FLAGS, BuildInfo, cached_build, environment
from .recording import Recording
from .simulators import SimulatorInfo

__all__ = ["build", "record"]


def _runner(simulator: str):
    from cocotb_tools.runner import get_runner
    return get_runner(simulator)


def _compile(directory: Path, info: SimulatorInfo, verilog: Path) -> None:
    flags = ICARUS_FLAGS if info.name == "icarus" else VERILATOR_FLAGS
    with environment(info.environment()):
        _runner(info.name).build(sources=[verilog.resolve()], hdl_toplevel=TOP_MODULE,
                                 build_dir=directory, build_args=list(flags),
                                 timescale=("1ns", "1ps"), always=True,
                                 log_file=directory / "build.log")


def build(rtl_dir, simulator: str, build_root=None) -> BuildInfo:
    """Build ``rtl_dir``'s top for the cocotb testbench (cached: :func:`.build.cached_build`)."""
    return cached_build(rtl_dir, simulator, build_root, _compile)


def record(rtl_dir, pixels: np.ndarray, *, simulator: str, seed: int = 0,
           input_gaps: float = 0.0, backpressure: float = 0.0, build_root=None) -> Recording:
    """Stream ``pixels`` through the design with cocotb and return the recording."""
    built = build(rtl_dir, simulator, build_root)
    work = Path(tempfile.mkdtemp(prefix="run-", dir=built.directory))
    np.save(work / "pixels.npy", np.ascontiguousarray(pixels, dtype=np.uint8))
    manifest = json.loads((Path(rtl_dir) / "manifest.json").read_text())
    job = {"pixels": str(work / "pixels.npy"), "seed": int(seed),
           "input_gaps": float(input_gaps), "backpressure": float(backpressure),
           "recording": str(work / "recording.json"),
           "architecture": manifest.get("architecture", "sequential"),
           "pixels_per_beat": manifest["pixels"].get("per_beat", 1),
           "traces": manifest.get("trace", {})}
    (work / "job.json").write_text(json.dumps(job, indent=2))
    start = time.time()
    with environment(built.simulator.environment()):
        _runner(simulator).test(test_module="spikewright.sim.testbench",
                                hdl_toplevel=TOP_MODULE, hdl_toplevel_lang="verilog",
                                build_dir=built.directory,
                                test_dir=work, plusargs=[f"+spikewright_job={work / 'job.json'}"],
                                timescale=("1ns", "1ps") if simulator == "icarus" else None,
                                log_file=work / "sim.log")
    path = work / "recording.json"
    if not path.is_file():
        log = (work / "sim.log").read_text()[-3000:] if (work / "sim.log").is_file() else ""
        raise RuntimeError(f"the {simulator} run wrote no recording; the end of its log:\n{log}")
    recording = Recording.from_json(json.loads(path.read_text()))
    recording.facts.update(bench="cocotb", simulator=simulator,
                           simulator_version=built.simulator.version,
                           build_dir=str(built.directory), build_s=round(built.seconds, 1),
                           build_reused=built.reused, run_wall_s=round(time.time() - start, 2))
    return recording
