"""`spikewright generate`: Verilog, Verilator waivers and a manifest for an IR."""

from __future__ import annotations

import argparse
import json

from spikewright.commands.args import add_hw_arguments, at_least, hw_config_from_args, positive_number
from spikewright.shipped import shipped_hw_config

__all__ = ["add_parser"]

FIT_THE_PART = "max"
#: the options that --fps chooses (argument name: option)
FOLDED = {"lanes": "--lanes", "kernel_lanes": "--kernel-lanes", "events": "--events",
          "pixels_per_beat": "--pixels-per-beat"}


def frame_rate(text: str):
    """An argparse type: images per second, or ``max`` (the most that fits the part)."""
    if text == FIT_THE_PART:
        return text
    try:
        return positive_number(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"must be a positive number of images per second or "
                                         f"{FIT_THE_PART!r}, not {text!r}") from None


def add_parser(sub):
    p = sub.add_parser("generate", help="generate Verilog for an IR",
                       description="Generate the network top (Verilog, module spikewright_top), "
                                   "a Verilator lint waiver file and manifest.json.")
    p.add_argument("network", help="IR directory, or the name of a shipped model")
    p.add_argument("--out", "-o", required=True, help="directory to write")
    # unset unless given: a shipped model's hw_config.json fills them (as `run` does), and
    # --fps can refuse them
    add_hw_arguments(p, shipped_first=True)
    p.add_argument("--fps", type=frame_rate, default=None,
                   help="choose the lanes per layer, the kernel lanes of conv "
                        "layers, the events per cycle of each layer and the pixels per beat "
                        "(folding) for this many images per "
                        "second at --clock-mhz, from the stream model on --fold-images test "
                        "images (replaces --lanes, --kernel-lanes, --events and --pixels-per-beat); "
                        "'max': the shortest interval whose weights fit the --target "
                        "part's block RAM (dense networks on the ECP5; the clock the design "
                        "then reaches is not modelled)")
    p.add_argument("--fold-images", type=at_least(1), default=1000,
                   help="test images of the network's dataset that folding measures")
    p.add_argument("--dataset", default=None,
                   help="with --fps: the dataset whose test images folding measures "
                        "(default: the IR's)")
    p.add_argument("--force", action="store_true",
                   help="write into a directory that holds other files")
    p.set_defaults(func=run)


def run(args) -> int:
    from spikewright import flow
    from spikewright.hdl_gen.emit import FILES, files_digest
    given = [f"{option} {getattr(args, key)}" for key, option in FOLDED.items()
             if getattr(args, key) is not None]
    if args.fps is not None and given:
        raise ValueError(f"--fps chooses the lanes, kernel lanes, events and pixels per "
                         f"beat; give either --fps or {', '.join(given)}, not both")
    if args.dataset is not None and args.fps is None:
        raise ValueError("--dataset only chooses the images that --fps folds on; give --fps "
                         "with it, or leave it out")
    build = flow.load(args.network)
    # a shipped model: its hw_config.json, as `run` uses it
    config = hw_config_from_args(args, base=shipped_hw_config(build.model) if build.model
                                 else None)
    if args.fps is not None:
        flow.prepare_output_dir(args.out, FILES, force=args.force)
        flow.images(build, dataset=args.dataset, limit=args.fold_images)
        flow.golden(build, scans=True)
        if args.fps == FIT_THE_PART:
            flow.fold_to_fit(build, config=config)
            goal = f"{config.target}'s block RAM"
        else:
            flow.fold(build, fps=args.fps, config=config)
            goal = f"{args.fps:g} images/s"
        folding = build.results["folding"]
        flow.log(f"folded for {goal} at {config.clock_mhz:g} MHz: lanes "
                 f"{folding['lanes']}, kernel lanes {folding['kernel_lanes']}, "
                 f"events {folding['events']}, "
                 f"{folding['pixels_per_beat']} pixels per beat, "
                 f"predicted interval {folding['predicted_interval_cycles']:.1f} cycles"
                 + ("" if folding["met"] else " (the target is not met: the fastest design)"))
        flow.check_folding_fits(build)
    else:
        flow.plan(build, config)
    flow.log(f"generating {args.network}")
    flow.generate(build, args.out, force=args.force)
    print(json.dumps({"out": args.out, "files": sorted(build.files),
                      "digest": files_digest(build.files)}, indent=2))
    return 0
