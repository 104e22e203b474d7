"""`spikewright generate`: Verilog, Verilator waivers and a manifest for an IR."""

from __future__ import annotations

import json

from spikewright.cli_args import add_hw_arguments, hw_config_from_args

__all__ = ["add_parser"]


def add_parser(sub):
    p = sub.add_parser("generate", help="generate Verilog for an IR",
                       description="Generate the network top (Verilog, module spikewright_top), "
                                   "a Verilator lint waiver file and manifest.json.")
    p.add_argument("network", help="IR directory, or the name of a shipped model")
    p.add_argument("--out", "-o", required=True, help="directory to write")
    add_hw_arguments(p)
    p.add_argument("--force", action="store_true",
                   help="write into a directory that holds other files")
    p.set_defaults(func=run)


def run(args) -> int:
    from spikewright import flow
    from spikewright.hdl_gen.emit import files_digest
    build = flow.plan(flow.load(args.network), hw_config_from_args(args))
    flow.log(f"generating {args.network}")
    flow.generate(build, args.out, force=args.force)
    print(json.dumps({"out": args.out, "files": sorted(build.files),
                      "digest": files_digest(build.files)}, indent=2))
    return 0
