"""The cocotb bench: the generated top (or the AXI4-Stream top around it) built once per
(design, simulator), driven by :mod:`.testbench`; returns what it recorded."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np

from spikewright.hdl_gen.axis_top import AXIS_MODULE
from spikewright.hdl_gen.emit import AXIS_FILE, TOP_MODULE

from .build import (ICARUS_FLAGS, VERILATOR_FLAGS, BuildInfo, cached_build, environment,
                    simulation_sources)
from .recording import Recording
from .simulators import SimulatorInfo

__all__ = ["INTERFACES", "build", "record"]

#: the top a run drives: the design itself, or the AXI4-Stream top (``spikewright_axis``)
INTERFACES = {"top": TOP_MODULE, "axis": AXIS_MODULE}


def _runner(simulator: str):
    from cocotb_tools.runner import get_runner
    return get_runner(simulator)


def _compiler(interface: str):
    def compile_into(directory: Path, info: SimulatorInfo, verilog: Path) -> None:
        flags = ICARUS_FLAGS if info.name == "icarus" else VERILATOR_FLAGS
        sources = simulation_sources(verilog.parent)
        if interface == "axis":
            sources.insert(0, (verilog.parent / AXIS_FILE).resolve())
        with environment(info.environment()):
            _runner(info.name).build(sources=sources, hdl_toplevel=INTERFACES[interface],
                                     build_dir=directory, build_args=list(flags),
                                     timescale=("1ns", "1ps"), always=True,
                                     log_file=directory / "build.log")
    return compile_into


def _cocotb_identity() -> bytes:
    """The cocotb a build links (its version and where its libraries are): a Verilator
    binary loads them from that path, so a build made by another installation (another
    virtual environment sharing the cache) must not be reused."""
    import cocotb
    from cocotb_tools import config
    return f"cocotb {cocotb.__version__} {config.libs_dir}".encode()


def build(rtl_dir, simulator: str, build_root=None, interface: str = "top") -> BuildInfo:
    """Build ``rtl_dir``'s top (or its AXI4-Stream top) for the cocotb testbench (cached:
    :func:`.build.cached_build`, keyed also by :func:`_cocotb_identity`)."""
    if interface == "top":
        return cached_build(rtl_dir, simulator, build_root, _compiler(interface),
                            extra=_cocotb_identity())
    axis = Path(rtl_dir) / AXIS_FILE
    if not axis.is_file():
        raise FileNotFoundError(f"{axis} does not exist; generate the design again (the "
                                f"generator writes the AXI4-Stream top beside it)")
    return cached_build(rtl_dir, simulator, build_root, _compiler(interface), prefix="axis-",
                        extra=axis.read_bytes() + _cocotb_identity())


def record(rtl_dir, pixels: np.ndarray, *, simulator: str, seed: int = 0,
           input_gaps: float = 0.0, backpressure: float = 0.0, build_root=None,
           interface: str = "top") -> Recording:
    """Stream ``pixels`` through the design (``interface`` "top") or its AXI4-Stream top
    ("axis") with cocotb and return the recording."""
    if interface not in INTERFACES:
        raise ValueError(f"interface must be one of {', '.join(INTERFACES)}, not {interface!r}")
    built = build(rtl_dir, simulator, build_root, interface)
    work = Path(tempfile.mkdtemp(prefix="run-", dir=built.directory))
    np.save(work / "pixels.npy", np.ascontiguousarray(pixels, dtype=np.uint8))
    manifest = json.loads((Path(rtl_dir) / "manifest.json").read_text())
    job = {"pixels": str(work / "pixels.npy"), "seed": int(seed),
           "input_gaps": float(input_gaps), "backpressure": float(backpressure),
           "recording": str(work / "recording.json"),
           "pixels_per_beat": manifest["pixels"].get("per_beat", 1),
           "traces": manifest.get("trace", {}), "interface": interface,
           "weights": (str((Path(rtl_dir) / manifest["spram"]["writes_file"]).resolve())
                       if "spram" in manifest else None),
           "result_width": sum(p["width"] for p in manifest["ports"]
                               if p["name"] == "result__payload")}
    (work / "job.json").write_text(json.dumps(job, indent=2))
    start = time.time()
    with environment(built.simulator.environment()):
        _runner(simulator).test(test_module="spikewright.sim.testbench",
                                hdl_toplevel=INTERFACES[interface],
                                hdl_toplevel_lang="verilog",
                                build_dir=built.directory,
                                test_dir=work, plusargs=[f"+spikewright_job={work / 'job.json'}"],
                                timescale=("1ns", "1ps") if simulator == "icarus" else None,
                                log_file=work / "sim.log")
    path = work / "recording.json"
    if not path.is_file():
        log = (work / "sim.log").read_text()[-3000:] if (work / "sim.log").is_file() else ""
        raise RuntimeError(f"the {simulator} run wrote no recording; the end of its log:\n{log}")
    recording = Recording.from_json(json.loads(path.read_text()))
    recording.facts.update(bench="cocotb" if interface == "top" else "axis",
                           **built.facts(time.time() - start))
    return recording
