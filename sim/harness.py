"""The fast bench: an HDL harness that streams images and logs results and spikes, run by
the simulator alone; the log becomes a :class:`~.recording.Recording`.

The cocotb bench (:mod:`.testbench`) wakes Python on every traced cycle and its clock is
scheduled through the simulator interface; on the seed CNN that costs about 10 s per image
on Verilator and 90 s on Icarus. The harness (``templates/harness_stream.v.j2``) keeps the clock,
the stimulus (with the same kinds of random input gaps and output stalls) and the logging
inside the simulator, so the run costs what the simulator costs.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np

from spikewright.hdl_gen.emit import TOP_MODULE, generator_version
from spikewright.templates import render

from .build import (ICARUS_FLAGS, VERILATOR_BINARY, BuildInfo, cached_build, compile_logged,
                    run_logged, simulation_sources, top_verilog)
from .recording import Recording

__all__ = ["HARNESS_MODULE", "harness_verilog", "build_harness", "record", "parse_log"]

HARNESS_MODULE = "spikewright_harness"
HALF_PERIOD_NS = 5


#: the longest file path the harness's plusargs hold (templates/harness*.v.j2)
MAX_PATH_CHARS = 1024


def harness_verilog(manifest: dict) -> str:
    """The harness for the design ``manifest`` describes."""
    widths = {port["name"]: port["width"] for port in manifest["ports"]}
    traces = [{"index": k, "valid": t["valid"], "bits": t.get("bits"),
               "width": widths[t["bits"]] if "bits" in t else None,
               "word": t.get("word"), "word_width": widths.get(t.get("word")),
               "address": t.get("index"), "address_width": widths.get(t.get("index"))}
              for k, t in enumerate(manifest["trace"].values())]
    pixels = manifest["pixels"]
    return render("harness_stream.v.j2", top=TOP_MODULE, harness=HARNESS_MODULE,
                  version=generator_version(), half_period_ns=HALF_PERIOD_NS,
                  pixels_per_image=pixels["per_image"], pixels_per_beat=pixels["per_beat"],
                  beats_per_image=pixels["per_image"] // pixels["per_beat"],
                  payload_width=widths["result__payload"], traces=traces,
                  weight_count=manifest.get("spram", {}).get("words_to_write", 0),
                  weight_width=widths.get("weights__payload", 0))


def build_harness(rtl_dir, simulator: str, build_root=None) -> BuildInfo:
    """Compile the design with its harness for ``simulator`` (cached by the digest of both
    and the simulator version: :func:`.build.cached_build`)."""
    top_verilog(rtl_dir)
    harness = harness_verilog(json.loads((Path(rtl_dir) / "manifest.json").read_text()))

    def compile_into(directory: Path, info, verilog: Path) -> None:
        (directory / f"{HARNESS_MODULE}.v").write_text(harness)
        sources = [str(directory / f"{HARNESS_MODULE}.v"),
                   *map(str, simulation_sources(verilog.parent))]
        if info.name == "icarus":
            command = [str(Path(info.executable).parent / "iverilog"), *ICARUS_FLAGS,
                       "-s", HARNESS_MODULE, "-o", "harness.vvp", *sources]
        else:
            command = [info.executable, *VERILATOR_BINARY, "--top-module", HARNESS_MODULE,
                       "-o", "harness", *sources]
        compile_logged(command, directory, info, f"the {info.name} harness")

    return cached_build(rtl_dir, simulator, build_root, compile_into, prefix="harness-",
                        extra=harness.encode())


def parse_log(text: str, images: int, traces: dict) -> tuple[Recording, str | None]:
    """The recording in a harness log, and a problem (None if the log is complete and well
    formed). ``traces``: the design's trace layout (the manifest's ``trace``), whose order
    numbers them in ``B`` (bitmap) and ``W`` (word) lines."""
    names = list(traces)
    recording = Recording(images)
    image, problem, ended = 0, None, False
    for line in text.splitlines():
        fields = line.split()
        if not fields:
            continue
        if fields[0] == "E":
            recording.simulated_cycles, ended = int(fields[1]), True
            break
        if fields[0] == "B" and len(fields) == 3:
            try:
                recording.add_bitmap(names[int(fields[1])], int(fields[2], 16))
            except (IndexError, ValueError) as error:
                problem = f"bad harness bitmap line {line[:60]!r}: {error}"
                break
            continue
        if fields[0] == "W" and len(fields) == 4:
            try:
                name = names[int(fields[1])]
                recording.add_word(name, int(fields[2]), int(fields[3], 16),
                                   traces[name]["word_width"], traces[name]["words"])
            except (IndexError, KeyError, ValueError) as error:
                problem = f"bad harness word line {line[:60]!r}: {error}"
                break
            continue
        if image >= images:
            problem = f"the harness logged more than {images} results"
            break
        if fields[0] == "R":
            recording.cycles[image], recording.payloads[image] = int(fields[1]), int(fields[2], 16)
            image += 1
        elif fields[0] == "TIMEOUT":
            problem = f"no result for {fields[1]} cycles (timeout) after image {image}"
        else:
            problem = f"unexpected harness log line {line!r}"
            break
    if problem is None and (image < images or not ended):
        problem = f"the log ends after {image} of {images} results"
    return recording, problem


def record(rtl_dir, pixels: np.ndarray, *, simulator: str, seed: int = 0,
           input_gaps: float = 0.0, backpressure: float = 0.0, build_root=None,
           max_idle_cycles: int = 50_000_000) -> Recording:
    """Stream ``pixels`` through the design in its harness and return the recording (gap
    and stall probabilities are rounded to 1/1000)."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    built = build_harness(rtl_dir, simulator, build_root)
    work = Path(tempfile.mkdtemp(prefix="harness-run-", dir=built.directory))
    if len(str(work / "spikes.log")) > MAX_PATH_CHARS:
        raise ValueError(f"the harness takes file paths of at most {MAX_PATH_CHARS} "
                         f"characters; {work} is too deep: give a shorter --build-root")
    (work / "pixels.hex").write_text("".join(f"{v:02x}\n" for v in pixels.reshape(-1).tolist()))
    plusargs = [f"+pixels={work / 'pixels.hex'}", f"+log={work / 'spikes.log'}",
                f"+images={len(pixels)}", f"+seed={(seed % 0x7FFFFFFF) + 1}",
                f"+gap_permille={round(input_gaps * 1000)}",
                f"+stall_permille={round(backpressure * 1000)}",
                f"+max_cycles={max_idle_cycles}"]
    manifest = json.loads((Path(rtl_dir) / "manifest.json").read_text())
    if "spram" in manifest:
        writes = (Path(rtl_dir) / manifest["spram"]["writes_file"]).resolve()
        if len(str(writes)) > MAX_PATH_CHARS:
            raise ValueError(f"the harness takes file paths of at most {MAX_PATH_CHARS} "
                             f"characters; {writes} is longer: generate into a shorter path")
        plusargs.append(f"+weights={writes}")
    if simulator == "icarus":
        command = [str(Path(built.simulator.executable).parent / "vvp"), "-n",
                   str(built.directory / "harness.vvp"), *plusargs]
    else:
        command = [str(built.directory / "obj_dir" / "harness"), *plusargs]
    start = time.time()
    result = run_logged(command, work, "sim.log")
    wall = time.time() - start
    log = work / "spikes.log"
    if result.returncode != 0 or not log.is_file():
        raise RuntimeError(f"the {simulator} harness run failed (exit {result.returncode}); "
                           f"its output:\n{(result.stdout + result.stderr)[-3000:]}")
    traces = manifest["trace"]
    recording, problem = parse_log(log.read_text(), len(pixels), traces)
    if problem is not None:
        raise RuntimeError(f"the {simulator} harness run went wrong: {problem} (log: {log})")
    recording.facts.update(bench="harness", wall_s=round(wall, 3), **built.facts(wall))
    (work / "recording.json").write_text(json.dumps(recording.to_json()) + "\n")
    return recording
