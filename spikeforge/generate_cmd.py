"""`spikeforge generate`: Verilog, Verilator waivers and a manifest for an IR."""

from __future__ import annotations

import json
import sys

from spikeforge.shipped import resolve_network

__all__ = ["add_parser", "parse_lanes", "add_hw_arguments", "hw_config_from_args"]


def parse_lanes(text: str):
    """``8`` (every layer) or ``fc1=8,fc2=2`` (per layer; others 1)."""
    try:
        if "=" not in text:
            return int(text)
        return {name: int(value) for name, value in
                (item.split("=", 1) for item in text.split(",") if item)}
    except ValueError:
        raise SystemExit(f"error: --lanes must be a number or NAME=P[,NAME=P...], "
                         f"not {text!r}") from None


def add_hw_arguments(p):
    from spikeforge.hdl_gen.config import TARGETS
    p.add_argument("--lanes", "-P", default="1",
                   help="neurons per cycle: P for every layer, or NAME=P,... (default: 1)")
    p.add_argument("--memory-style", choices=["auto", "block", "distributed"], default="auto")
    p.add_argument("--clock-mhz", type=float, default=50.0, help="clock target (default: 50)")
    p.add_argument("--target", choices=sorted(TARGETS), default="ecp5-85k",
                   help="FPGA part whose block RAM must hold the weights (default: ecp5-85k)")


def hw_config_from_args(args):
    from spikeforge.hdl_gen.config import HwConfig
    return HwConfig(lanes=parse_lanes(args.lanes), memory_style=args.memory_style,
                    clock_mhz=args.clock_mhz, target=args.target)


def add_parser(sub):
    p = sub.add_parser("generate", help="generate Verilog for an IR",
                       description="Generate the network top (Verilog, module spikeforge_top), "
                                   "a Verilator lint waiver file and manifest.json.")
    p.add_argument("network", help="IR directory, or the name of a shipped model")
    p.add_argument("--out", "-o", required=True, help="directory to write")
    add_hw_arguments(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from spikeforge.golden import load
    from spikeforge.hdl_gen.emit import files_digest, generate, write_files
    network = load(resolve_network(args.network))
    print(f"[spikeforge] generating {args.network}", file=sys.stderr, flush=True)
    files = generate(network, hw_config_from_args(args))
    write_files(files, args.out)
    print(json.dumps({"out": args.out, "files": sorted(files), "digest": files_digest(files)},
                     indent=2))
    return 0
