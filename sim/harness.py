"""The fast bench: an HDL harness that streams images and logs results and spikes, run by
the simulator alone, and compared with golden afterwards.

The cocotb testbench (:mod:`.testbench`) wakes Python on every traced cycle and its clock is
scheduled through the simulator interface; on the seed CNN (295k cycles per image) that costs
about 10 s per image on Verilator and 90 s on Icarus. The harness (``templates/harness.v.j2``)
keeps the clock, the stimulus (with the same kinds of random input gaps and output stalls)
and the logging inside the simulator, so the run costs what the simulator costs; the checks
are the same functions (:func:`.expected.compare`): class, every logit, every input and hidden
spike, and the cycles of the cycle model.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from spikeforge import __version__
from spikeforge.golden import load
from spikeforge.hdl_gen.config import HwConfig
from spikeforge.hdl_gen.emit import TOP_MODULE
from spikeforge.hdl_gen.plan import make_plan
from spikeforge.templates import render

from .expected import compare, decode_payload, expected_for
from .runner import BuildInfo, _environment, cached_build, check_probabilities, top_verilog

__all__ = ["HARNESS_MODULE", "harness_verilog", "build_harness", "run_harness"]

HARNESS_MODULE = "spikeforge_harness"
HALF_PERIOD_NS = 5
TRACE_PORTS = ("trace_layer", "trace_step", "trace_address", "trace_input_steps",
               "trace_input_address")


def harness_verilog(manifest: dict) -> str:
    """The harness for the design ``manifest`` describes."""
    widths = {port["name"]: port["width"] for port in manifest["ports"]}
    missing = [name for name in TRACE_PORTS if name not in widths]
    if missing:
        raise ValueError(f"the design has no trace port(s) {', '.join(missing)}; regenerate it "
                         f"with this version of `spikeforge generate`")
    return render("harness.v.j2", top=TOP_MODULE, harness=HARNESS_MODULE, version=__version__,
                  half_period_ns=HALF_PERIOD_NS, pixels_per_image=manifest["pixels"]["per_image"],
                  payload_width=widths["result__payload"],
                  **{f"{name}_width": widths[name] for name in TRACE_PORTS})


def _run(command, cwd, log_name, env=None) -> subprocess.CompletedProcess:
    with _environment(env or {}):
        result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    (Path(cwd) / log_name).write_text(result.stdout + result.stderr)
    return result


def build_harness(rtl_dir, simulator: str, build_root=None) -> BuildInfo:
    """Compile the design with its harness for ``simulator`` (cached by the digest of both
    and the simulator version: :func:`.runner.cached_build`)."""
    top_verilog(rtl_dir)
    harness = harness_verilog(json.loads((Path(rtl_dir) / "manifest.json").read_text()))

    def compile_into(directory: Path, info, verilog: Path) -> None:
        (directory / f"{HARNESS_MODULE}.v").write_text(harness)
        sources = [str(directory / f"{HARNESS_MODULE}.v"), str(verilog.resolve())]
        if info.name == "icarus":
            # -g2005: see runner._compile_for_cocotb (Amaranth's combinational blocks)
            command = [str(Path(info.executable).parent / "iverilog"), "-g2005",
                       "-s", HARNESS_MODULE, "-o", "harness.vvp", *sources]
        else:
            command = [info.executable, "--binary", "--timing", "-O3", "-CFLAGS", "-fcoroutines",
                       "-Wno-fatal", "-Wno-lint", "-Wno-style", "--x-assign", "fast",
                       "--x-initial", "fast", "--top-module", HARNESS_MODULE,
                       "-o", "harness", *sources]
        result = _run(command, directory, "build.log", info.environment())
        if result.returncode != 0:
            raise RuntimeError(f"building the {info.name} harness failed (log: "
                               f"{directory / 'build.log'}):\n"
                               f"{(result.stdout + result.stderr)[-3000:]}")

    return cached_build(rtl_dir, simulator, build_root, compile_into, prefix="harness-",
                        extra=harness.encode())


def parse_log(text: str, images: int, timesteps: int):
    """``(payloads, cycles, inputs, hidden, end_cycle, problem)`` from a harness log (the
    first four per image; ``problem`` None if the log is complete and well formed)."""
    payloads, cycles = [None] * images, [-1] * images
    inputs = [set() for _ in range(images)]
    hidden = [set() for _ in range(images)]
    image, end, problem = 0, None, None
    for line in text.splitlines():
        fields = line.split()
        if not fields:
            continue
        if fields[0] == "E":
            end = int(fields[1])
            break
        if image >= images:
            problem = f"the harness logged more than {images} results"
            break
        if fields[0] == "H":
            hidden[image].add((int(fields[1]), int(fields[2]), int(fields[3])))
        elif fields[0] == "I":
            steps, address = int(fields[1]), int(fields[2])
            inputs[image].update((t, address) for t in range(timesteps) if steps >> t & 1)
        elif fields[0] == "R":
            cycles[image], payloads[image] = int(fields[1]), int(fields[2], 16)
            image += 1
        elif fields[0] == "TIMEOUT":
            problem = f"no result for {fields[1]} cycles (timeout) after image {image}"
        else:
            problem = f"unexpected harness log line {line!r}"
            break
    if problem is None and (image < images or end is None):
        problem = f"the log ends after {image} of {images} results"
    return payloads, cycles, inputs, hidden, end, problem


def run_harness(rtl_dir, ir_dir, pixels: np.ndarray, *, simulator: str, seed: int = 0,
                input_gaps: float = 0.0, backpressure: float = 0.0, build_root=None,
                max_idle_cycles: int = 50_000_000) -> dict:
    """Simulate ``pixels`` with the harness; return the same report as
    :func:`.runner.run_images` (gap and stall probabilities are rounded to 1/1000)."""
    check_probabilities(input_gaps, backpressure)
    rtl_dir = Path(rtl_dir)
    manifest = json.loads((rtl_dir / "manifest.json").read_text())
    plan = make_plan(load(ir_dir), HwConfig.from_json(manifest["hw_config"]))
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    expected = expected_for(plan, pixels)
    built = build_harness(rtl_dir, simulator, build_root)
    work = Path(tempfile.mkdtemp(prefix="harness-run-", dir=built.directory))
    (work / "pixels.hex").write_text("".join(f"{v:02x}\n" for v in pixels.reshape(-1).tolist()))
    plusargs = [f"+pixels={work / 'pixels.hex'}", f"+log={work / 'spikes.log'}",
                f"+images={len(pixels)}", f"+seed={(seed % 0x7FFFFFFF) + 1}",
                f"+gap_permille={round(input_gaps * 1000)}",
                f"+stall_permille={round(backpressure * 1000)}",
                f"+max_cycles={max_idle_cycles}"]
    if simulator == "icarus":
        command = [str(Path(built.simulator.executable).parent / "vvp"), "-n",
                   str(built.directory / "harness.vvp"), *plusargs]
    else:
        command = [str(built.directory / "obj_dir" / "harness"), *plusargs]
    start = time.time()
    result = _run(command, work, "sim.log")
    wall = time.time() - start
    log = work / "spikes.log"
    if result.returncode != 0 or not log.is_file():
        raise RuntimeError(f"the {simulator} harness run failed (exit {result.returncode}); "
                           f"its output:\n{(result.stdout + result.stderr)[-3000:]}")
    payloads, cycles, inputs, hidden, end, problem = parse_log(log.read_text(), len(pixels),
                                                          plan.network.timesteps)
    if problem is not None:
        raise RuntimeError(f"the {simulator} harness run went wrong: {problem} "
                           f"(log: {log})")
    layout = manifest["result_payload"]
    results = [None if p is None else decode_payload(p, layout) for p in payloads]
    report = compare(expected, results, cycles, inputs, hidden,
                     check_cycles=not input_gaps and not backpressure)
    report.update(simulated_cycles=end, wall_s=round(wall, 3), bench="harness",
                  simulator=simulator, simulator_version=built.simulator.version,
                  build_dir=str(built.directory), build_s=round(built.seconds, 1),
                  build_reused=built.reused, run_wall_s=round(wall, 2))
    (work / "results.json").write_text(json.dumps(report) + "\n")
    return report
