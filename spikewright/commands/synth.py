"""`spikewright synth`: synthesis (and place and route) of generated RTL."""

from __future__ import annotations

import json

from spikewright.commands.args import at_least, positive_number

__all__ = ["add_parser"]


def add_parser(sub):
    from spikewright.synth import FLOWS
    p = sub.add_parser("synth", help="synthesize (and place and route) generated RTL",
                       description="Yosys synthesis and, for iCE40 and ECP5, nextpnr place and "
                                   "route; resources from stat -json, Fmax from nextpnr.")
    p.add_argument("rtl", help="directory written by `spikewright generate`")
    p.add_argument("--target", choices=list(FLOWS), default="ecp5-85k", help="FPGA part")
    p.add_argument("--work-dir", default=None, help="tool files (default: RTL/synth/TARGET)")
    p.add_argument("--no-place", action="store_true", help="synthesis only")
    p.add_argument("--clock-mhz", type=positive_number, default=None,
                   help="timing target (default: the manifest's)")
    p.add_argument("--lutram-max-bits", type=at_least(0), default=0,
                   help="map written memories of at most this many bits to LUT RAM instead of "
                        "block RAM (0: the tools decide); the Verilog is unchanged")
    p.add_argument("--seed", type=at_least(1), default=None,
                   help="nextpnr's placement seed (default: the manifest's place_seed, else 1)")
    p.add_argument("--router", choices=["auto", "router1", "router2"], default=None,
                   help="nextpnr's router on the ECP5 (default: the manifest's place_router, "
                        "else auto: router2 for designs of many flip-flops)")
    p.add_argument("--json", dest="json_path", default=None, help="also write the result here")
    p.set_defaults(func=run)


def run(args) -> int:
    from spikewright import flow
    if args.json_path:
        flow.prepare_output_file(args.json_path)
    result = flow.synthesize_rtl(args.rtl, args.target, args.work_dir,
                                 place=not args.no_place, clock_mhz=args.clock_mhz,
                                 lutram_max_bits=args.lutram_max_bits, seed=args.seed,
                                 router=args.router)
    if args.json_path:
        flow.write_json(args.json_path, result)
    print(json.dumps(result, indent=2))
    return 0
