"""`spikewright sweep`: cycles and synthesis against lanes (the Pareto front)."""

from __future__ import annotations

import json
from pathlib import Path

from spikewright.commands.args import (add_parallel_arguments, at_least,
                                       number_list, positive_number, progress_bar)

__all__ = ["add_parser"]

DEFAULT_LANES = "1,2,4,8,16,32"


def add_parser(sub):
    from spikewright.hdl_gen.config import HwConfig
    from spikewright.sweep import FOLD_CLOCK_MHZ
    from spikewright.synth import FLOWS
    p = sub.add_parser("sweep", help="cycles and synthesis against lanes P (Pareto front)",
                       description="For each lane count: the exact stream model over test "
                                   "images and Yosys synthesis; marks the Pareto front of LUTs "
                                   "against mean cycles.")
    p.add_argument("network", help="IR directory, or the name of a shipped model")
    p.add_argument("--lanes", default=None,
                   help=f"comma-separated lane counts (default: {DEFAULT_LANES}; not with --fps)")
    p.add_argument("--target", choices=list(FLOWS), default="ecp5-85k", help="FPGA part")
    p.add_argument("--images", type=at_least(1), default=1000, help="test images for the stream model")
    p.add_argument("--fps", default=None,
                   help="comma-separated frame rates: sweep dataflow designs folded for each "
                        "(at --clock-mhz) instead of lane counts")
    p.add_argument("--clock-mhz", type=positive_number, default=None,
                   help=f"clock the designs are built (with --fps: folded) and placed for "
                        f"(default: {FOLD_CLOCK_MHZ} with --fps, else "
                        f"{HwConfig().clock_mhz})")
    p.add_argument("--place", action="store_true",
                   help="also place and route each design (Fmax, images/s)")
    p.add_argument("--no-synth", action="store_true", help="stream model only")
    add_parallel_arguments(p, "syntheses")
    p.add_argument("--out", "-o", required=True,
                   help="directory for sweep.json, the RTL and (placed folded designs) "
                        "sweep.svg, images/s against LUT4")
    p.add_argument("--force", action="store_true",
                   help="write into OUT even if it holds files that a sweep does not write")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.set_defaults(func=run)



def run(args) -> int:
    from spikewright import flow
    from spikewright.sweep import sweep
    if args.fps is not None and args.lanes is not None:
        raise ValueError("--fps folds a design for each frame rate and --lanes sweeps lane "
                         "counts; give one of them, not both")
    if args.no_synth and (args.place or args.scheduler):
        given = "--place" if args.place else "--scheduler"
        raise ValueError(f"{given} is for the syntheses, and --no-synth runs none; drop one "
                         f"of them")
    fps = number_list(args.fps, "--fps", positive_number) if args.fps is not None else None
    lanes = number_list(args.lanes or DEFAULT_LANES, "--lanes", at_least(1))
    # sweep.json, sweep.svg and a design folder per point (rtl_p<lanes>, rtl_fps<rate>)
    flow.prepare_output_dir(args.out, ("sweep.json", "sweep.svg"),
                            owned_prefixes=("rtl_p", "rtl_fps"), force=args.force)
    build = flow.images(flow.load(args.network), limit=args.images)
    with progress_bar(len(fps or lanes), "sweep", unit="point",
                      quiet=args.quiet) as bar:
        result = sweep(build, lanes, target=args.target, out=args.out,
                       synthesize=not args.no_synth, progress=bar, fps_list=fps,
                       clock_mhz=args.clock_mhz, place=args.place, jobs=args.jobs,
                       scheduler=args.scheduler)
    flow.write_json(Path(args.out) / "sweep.json", result)
    from spikewright.report import folded_sweep_chart
    chart = folded_sweep_chart(result) if fps else None
    if chart:
        (Path(args.out) / "sweep.svg").write_text(chart)
    print(json.dumps(result, indent=2))
    return 0
