"""Simulator builds of a generated design: one cached, locked build per (Verilog, bench,
simulator version), and the one place where the simulators' compile flags are written."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from spikewright.hdl_gen.emit import TOP_MODULE

from .simulators import SimulatorInfo, check_simulator

__all__ = ["DEFAULT_BUILD_ROOT", "BuildInfo", "cached_build", "top_verilog", "environment",
           "run_logged", "compile_logged", "ICARUS_FLAGS", "VERILATOR_FLAGS",
           "VERILATOR_BINARY"]

DEFAULT_BUILD_ROOT = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / \
    "spikewright" / "sim"

#: Amaranth writes Verilog-2005 whose combinational blocks are started at time 0 by a
#: declaration initializer; under -g2012 Icarus raises no event for it and those outputs
#: stay X until an input changes.
ICARUS_FLAGS = ("-g2005",)
#: Amaranth's Verilog is linted separately (``verilator --lint-only -Wall`` with waivers);
#: a simulation build only needs it to compile, fast.
VERILATOR_FLAGS = ("-Wno-fatal", "-Wno-lint", "-Wno-style", "-O3", "--x-assign", "fast",
                   "--x-initial", "fast")
#: a Verilator build of a Verilog testbench into an executable (the harness, the board)
VERILATOR_BINARY = ("--binary", "--timing", "-CFLAGS", "-fcoroutines", *VERILATOR_FLAGS)


@dataclass(frozen=True)
class BuildInfo:
    directory: Path
    simulator: SimulatorInfo
    digest: str
    seconds: float
    reused: bool

    def facts(self, run_wall_s: float) -> dict:
        """What a recording says of the build its run of ``run_wall_s`` seconds used."""
        return {"simulator": self.simulator.name, "simulator_version": self.simulator.version,
                "build_dir": str(self.directory), "build_s": round(self.seconds, 1),
                "build_reused": self.reused, "run_wall_s": round(run_wall_s, 2)}


@contextlib.contextmanager
def environment(values: dict):
    """Set environment variables for the duration of a block."""
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


def run_logged(command, cwd, log_name, env=None) -> subprocess.CompletedProcess:
    """Run ``command`` in ``cwd``; its output also goes to ``cwd/log_name``."""
    with environment(env or {}):
        result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    (Path(cwd) / log_name).write_text(result.stdout + result.stderr)
    return result


def compile_logged(command, directory: Path, info: SimulatorInfo, what: str) -> None:
    """Run a simulator's compile ``command`` in ``directory`` (its output in build.log); an
    error naming ``what`` and the log's end where it fails."""
    result = run_logged(command, directory, "build.log", info.environment())
    if result.returncode != 0:
        raise RuntimeError(f"building {what} failed (log: {directory / 'build.log'}):\n"
                           f"{(result.stdout + result.stderr)[-3000:]}")


def top_verilog(rtl_dir) -> Path:
    """The generated top's Verilog in ``rtl_dir``; a clear error if it is not there."""
    verilog = Path(rtl_dir) / f"{TOP_MODULE}.v"
    if not verilog.is_file():
        raise FileNotFoundError(f"{verilog} does not exist; generate the design into "
                                f"{rtl_dir} first")
    return verilog


def simulation_sources(rtl_dir) -> list[Path]:
    """What a simulator compiles for the design in ``rtl_dir``: the simulation models of the
    primitives it instantiates (the manifest's ``spram``), then its top."""
    verilog = top_verilog(rtl_dir)
    manifest_path = Path(rtl_dir) / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    models = ([Path(rtl_dir) / manifest["spram"]["simulation_model"]] if "spram" in manifest
              else [])
    return [*(model.resolve() for model in models), verilog.resolve()]


def cached_build(rtl_dir, simulator: str, build_root, compile_into, *, prefix: str = "",
                 extra: bytes = b"") -> BuildInfo:
    """Run ``compile_into(directory, simulator_info, verilog)`` once per (Verilog, ``extra``,
    simulator version) in a directory keyed by their digest; reuse it when it is already
    built. Safe to call from parallel runs."""
    info = check_simulator(simulator)
    verilog = top_verilog(rtl_dir)
    sources = b"".join(source.read_bytes() for source in simulation_sources(rtl_dir))
    digest = hashlib.sha256(sources + extra + info.version.encode()).hexdigest()[:20]
    directory = Path(build_root or DEFAULT_BUILD_ROOT) / f"{prefix}{simulator}-{digest}"
    marker = directory / "spikewright-built"
    start = time.time()
    with _locked(directory.with_suffix(".lock")):
        if marker.is_file():
            return BuildInfo(directory, info, digest, 0.0, True)
        directory.mkdir(parents=True, exist_ok=True)
        compile_into(directory, info, verilog)
        marker.write_text(json.dumps({"verilog": str(verilog), "simulator": info.version}))
    return BuildInfo(directory, info, digest, time.time() - start, False)
