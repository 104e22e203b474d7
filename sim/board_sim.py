"""The board's UART link in Verilator, reached through a pseudo-terminal: the host code that
talks to a real board's serial port (:mod:`spikewright.board.host`) opens the terminal this
simulation makes and drives the link's pins through it, bit by bit at the board's divisor.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

from spikewright.hdl_gen.board.uart_link import LINK_MODULE
from spikewright.templates import render

from .build import VERILATOR_BINARY, BuildInfo, cached_build, compile_logged, simulation_sources

__all__ = ["SIM_MODULE", "build_link", "start_link", "SimulatedBoard"]

SIM_MODULE = "spikewright_uart_sim"
#: seconds to wait for the simulation to open its terminal
START_TIMEOUT_S = 60


def build_link(rtl_dir, link_verilog: str, divisor: int, build_root=None) -> BuildInfo:
    """Compile the design, its link (``link_verilog``) and the simulated host end for
    Verilator (cached by all three and the Verilator version)."""
    bench = render("uart_sim.v.j2", module=LINK_MODULE, divisor=divisor)
    pty = render("uart_pty.c.j2")

    def compile_into(directory: Path, info, verilog: Path) -> None:
        (directory / f"{LINK_MODULE}.v").write_text(link_verilog)
        (directory / f"{SIM_MODULE}.v").write_text(bench)
        (directory / "uart_pty.c").write_text(pty)
        command = [info.executable, *VERILATOR_BINARY, "--top-module", SIM_MODULE, "-o", "board",
                   str(directory / f"{SIM_MODULE}.v"), str(directory / f"{LINK_MODULE}.v"),
                   *map(str, simulation_sources(verilog.parent)), str(directory / "uart_pty.c")]
        compile_logged(command, directory, info, "the simulated board")

    return cached_build(rtl_dir, "verilator", build_root, compile_into, prefix="uart-",
                        extra=(link_verilog + bench + pty).encode())


class SimulatedBoard:
    """A running simulation: ``port`` is the terminal to open; :meth:`close` ends it."""

    def __init__(self, process: subprocess.Popen, port: str, built: BuildInfo, log: Path):
        self.process, self.port, self.built, self.log = process, port, built, log

    def close(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_link(rtl_dir, link_verilog: str, divisor: int, build_root=None) -> SimulatedBoard:
    """Build (or reuse) and start the simulated board; returns once its terminal exists."""
    built = build_link(rtl_dir, link_verilog, divisor, build_root)
    work = Path(tempfile.mkdtemp(prefix="board-run-", dir=built.directory))
    path_file, log = work / "pty.txt", work / "sim.log"
    with open(log, "w") as output:
        process = subprocess.Popen([str(built.directory / "obj_dir" / "board"),
                                    f"+pty={path_file}"], cwd=work, stdout=output,
                                   stderr=subprocess.STDOUT)
    deadline = time.time() + START_TIMEOUT_S
    while not (path_file.is_file() and path_file.read_text().endswith("\n")):
        if process.poll() is not None:
            raise RuntimeError(f"the simulated board stopped at its start (exit "
                               f"{process.returncode}): {log.read_text()[-2000:]}")
        if time.time() > deadline:
            process.kill()
            raise RuntimeError(f"the simulated board made no terminal within "
                               f"{START_TIMEOUT_S} s")
        time.sleep(0.05)
    return SimulatedBoard(process, path_file.read_text().strip(), built, log)
