"""`spikewright board run`: test images through a board's UART link, every result against
golden; on the board's serial port or on the link simulated in Verilator."""

from __future__ import annotations

import json
from pathlib import Path

from spikewright.commands.args import at_least, positive_number, progress_bar

__all__ = ["add_parser"]


def add_parser(sub):
    from spikewright.hdl_gen.parts import BOARDS
    p = sub.add_parser("board", help="run a network on a board through its UART link",
                       description="Talk to a board (or its simulation) over the framed UART "
                                   "protocol of docs/board-link.md.")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    run = actions.add_parser(
        "run", help="classify test images on the board and compare with golden",
        description="Stream test images to the board's UART link, compare every class and "
                    "logit with golden, report accuracy, images/s and what limits it.")
    run.add_argument("network", help="IR directory, or the name of a shipped model")
    run.add_argument("--board", choices=list(BOARDS), default="ulx3s-85f", help="the board")
    where = run.add_mutually_exclusive_group(required=True)
    where.add_argument("--port", default=None, help="the board's serial port (/dev/ttyUSB0)")
    where.add_argument("--simulate", action="store_true",
                       help="the board's link and design in Verilator, through a "
                            "pseudo-terminal, instead of a board")
    run.add_argument("--rtl", default=None,
                     help="generated design to simulate (default: generate the network's "
                          "shipped hardware configuration into OUT/rtl)")
    run.add_argument("--out", default=None, help="work directory (default: runs/board-BOARD)")
    run.add_argument("--images", type=at_least(1), default=200, help="test images")
    run.add_argument("--first", type=at_least(0), default=0, help="index of the first image")
    run.add_argument("--baud", type=at_least(1), default=None,
                     help="UART baud rate (default: the board's, 3000000)")
    run.add_argument("--clock-mhz", type=positive_number, default=None,
                     help="the core's clock (default: the board's)")
    run.add_argument("--window", type=at_least(1), default=4,
                     help="image frames sent before their answers come back (1 to 32: "
                          "the board keeps 32 answers waiting)")
    run.add_argument("--corrupt-every", type=at_least(0), default=0,
                     help="flip one bit in every K-th frame sent (0: none), to check that the "
                          "board answers it with an error; the image is then sent again")
    run.add_argument("--json", dest="json_path", default=None, help="also write the report here")
    run.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    run.set_defaults(func=run_board)


def run_board(args) -> int:
    from spikewright import flow
    from spikewright.board.flow import board_config, run_on_board
    if args.json_path:
        flow.prepare_output_file(args.json_path)
    out = Path(args.out or f"runs/board-{args.board}")
    build = flow.load(args.network)
    flow.images(build, limit=args.images, first=args.first)
    if args.rtl:
        from spikewright.sim.verify import plan_of_design
        build.plan, build.rtl_dir = plan_of_design(args.rtl, build.network), Path(args.rtl)
    else:
        flow.plan(build, board_config(args.network, args.board))
        if args.simulate:
            flow.generate(build, out / "rtl", force=True)
    flow.golden(build)
    with progress_bar(len(build.images.pixels), f"board {args.board}",
                      quiet=args.quiet) as bar:
        run_on_board(build, args.board, port=args.port, simulate=args.simulate,
                     baud=args.baud, clock_mhz=args.clock_mhz, window=args.window,
                     corrupt_every=args.corrupt_every, progress=bar)
    report = build.results["board_run"]
    if args.json_path:
        flow.write_json(args.json_path, report)
    print(json.dumps(report, indent=2))
    return 0 if report["mismatches"] == 0 else 1  # 1: the design differs; 2: an error
