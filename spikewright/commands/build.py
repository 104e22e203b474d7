"""`spikewright build`: a network to a board's bitstream (design, UART link, board top,
pins, synthesis, place and route, packing) with build.json."""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["add_parser"]


def add_parser(sub):
    from spikewright.hdl_gen.parts import BOARDS
    p = sub.add_parser("build", help="a bitstream for a board: the design behind its UART link",
                       description="Generate the network's design (its shipped hardware "
                                   "configuration, or --rtl), wrap it in the board top "
                                   "(oscillator, PLL, reset, UART link, LEDs), and run Yosys, "
                                   "nextpnr and the bitstream packer; OUT gets the bitstream, "
                                   "the Verilog, the constraints and build.json.")
    p.add_argument("network", help="IR directory, or the name of a shipped model")
    p.add_argument("--board", choices=list(BOARDS), required=True,
                   help=", ".join(f"{b.name}: {b.description}" for b in BOARDS.values()))
    p.add_argument("--out", "-o", required=True, help="directory to write")
    p.add_argument("--rtl", default=None,
                   help="a design generated from this network (default: generate the "
                        "shipped hardware configuration into OUT/rtl)")
    p.add_argument("--force", action="store_true",
                   help="write into OUT even if it holds files that a build does not write")
    p.set_defaults(func=run)


def run(args) -> int:
    from spikewright import flow
    from spikewright.board.build import BUILD_FILES, BUILD_PREFIXES, build_bitstream
    from spikewright.board.flow import board_config
    from spikewright.hdl_gen.parts import board
    spec = board(args.board)
    out = Path(args.out)
    flow.prepare_output_dir(out, BUILD_FILES, owned_prefixes=BUILD_PREFIXES, force=args.force)
    build = flow.load(args.network)
    if args.rtl:
        from spikewright.sim.verify import plan_of_design
        build.plan, rtl = plan_of_design(args.rtl, build.network), Path(args.rtl)
        if build.plan.config.target != spec.target:
            raise ValueError(f"{rtl} was generated for {build.plan.config.target}, not for "
                             f"{spec.name}'s {spec.target}; generate it with --target "
                             f"{spec.target}, or build without --rtl")
    else:
        flow.plan(build, board_config(args.network, args.board, clock_mhz=spec.clock_mhz))
        rtl = flow.generate(build, out / "rtl", force=True).rtl_dir
    result = build_bitstream(spec, build.plan, rtl, out, log=flow.log)
    flow.write_json(out / "build.json", result)
    if not result["timing_met"]:
        flow.log(f"timing not met: the placed design reaches "
                 f"{result['place_and_route']['fmax_mhz']:.1f} MHz, under the board's "
                 f"{spec.clock_mhz:g} MHz clock; the bitstream is written but may fail on "
                 f"the board (critical path: {result['place_and_route'].get('critical_path')})")
    print(json.dumps(result, indent=2))
    return 0
