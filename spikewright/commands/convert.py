"""`spikewright convert`: a checkpoint to an IR directory."""

from __future__ import annotations

import json

from spikewright.commands.args import add_data_root_argument, at_least, weight_width

__all__ = ["add_parser"]


def add_parser(sub):
    p = sub.add_parser("convert", help="convert a checkpoint to the integer IR",
                       description="Fold BatchNorm, integerize to --weight-width bits, bound "
                                   "every register width, and (IF at T > 1) calibrate the "
                                   "thresholds with CTT on training images.")
    p.add_argument("checkpoint", help="a checkpoint written by `spikewright train`")
    p.add_argument("--out", "-o", required=True, help="IR directory to write")
    p.add_argument("--weight-width", type=weight_width, default=None,
                   help="signed weight bits (default: the width the checkpoint was trained "
                        "with, else 8)")
    p.add_argument("--neuron", choices=["if", "asg"], default="if",
                   help="hidden neuron model (at T=1 both are the same)")
    p.add_argument("--exact-thresholds", action="store_true", default=None,
                   help="scale each channel so its threshold is an exact integer (default: "
                        "as the checkpoint was trained)")
    p.add_argument("--calibration-images", type=at_least(0), default=2000,
                   help="training images for CTT (IF, T > 1)")
    p.add_argument("--ctt-epochs", type=at_least(1), default=3, help="CTT epochs")
    add_data_root_argument(p)
    p.add_argument("--force", action="store_true",
                   help="write into a directory that holds other files")
    p.set_defaults(func=run)


def run(args) -> int:
    from spikewright import flow
    build = flow.convert(args.checkpoint, args.out, weight_width=args.weight_width,
                         neuron=args.neuron, calibration_images=args.calibration_images,
                         ctt_epochs=args.ctt_epochs, data_root=args.data_root,
                         exact_thresholds=args.exact_thresholds, force=args.force)
    network = build.network
    summary = {"ir": str(args.out), "digest": network.digest(), "timesteps": network.timesteps,
               "layers": [{"name": l.name, "kind": l.kind,
                           **({"neuron": l.neuron.value, "weight_width": l.weight_width,
                               "membrane_width": l.membrane_width} if l.kind != "flatten" else {})}
                          for l in network.layers]}
    print(json.dumps(summary, indent=2))
    return 0
