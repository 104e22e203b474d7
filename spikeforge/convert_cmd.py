"""`spikeforge convert`: a checkpoint to an IR directory."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

__all__ = ["add_parser", "convert_checkpoint"]


def add_parser(sub):
    p = sub.add_parser("convert", help="convert a checkpoint to the integer IR",
                       description="Fold BatchNorm, integerize to --weight-width bits, bound "
                                   "every register width, and (IF at T > 1) calibrate the "
                                   "thresholds with CTT on training images.")
    p.add_argument("checkpoint", help="a checkpoint written by `spikeforge train`")
    p.add_argument("--out", "-o", required=True, help="IR directory to write")
    p.add_argument("--weight-width", type=int, default=8, help="signed weight bits (default: 8)")
    p.add_argument("--neuron", choices=["if", "asg"], default="if",
                   help="hidden neuron model (default: if; at T=1 both are the same)")
    p.add_argument("--exact-thresholds", action="store_true",
                   help="scale each channel so its threshold is an exact integer")
    p.add_argument("--calibration-images", type=int, default=2000,
                   help="training images for CTT (IF, T > 1; default: 2000)")
    p.add_argument("--ctt-epochs", type=int, default=3)
    p.add_argument("--data-root", default=None, help="directory of CIFAR pickle files")
    p.set_defaults(func=run)


def convert_checkpoint(checkpoint, out, *, weight_width=8, neuron="if", calibration_images=2000,
                       ctt_epochs=3, data_root=None, exact_thresholds=False, progress=None):
    """Convert, calibrate where needed, save; return the network."""
    from spikeforge.golden import ctt, save
    from spikeforge.golden.convert import convert
    from spikeforge.golden.datasets import load_dataset
    from spikeforge.golden.train import load_checkpoint
    model, info = load_checkpoint(checkpoint)
    out = Path(out)
    metadata = {"dataset": info.get("dataset"),
                "checkpoint": os.path.relpath(Path(checkpoint).resolve(), out.resolve()),
                "ctt": None}
    network = convert(model, weight_width=weight_width, neuron=neuron,
                      exact_thresholds=exact_thresholds, metadata=metadata)
    if neuron == "if" and network.timesteps > 1 and calibration_images > 0:
        pixels, _ = load_dataset(info["dataset"], "train", data_root, calibration_images)
        network = ctt.calibrate(network, pixels, epochs=ctt_epochs, progress=progress)
        network = type(network)(network.timesteps, network.input, network.layers,
                                {**network.metadata, "ctt": {"images": len(pixels),
                                                             "epochs": ctt_epochs}})
    save(network, out)
    return network


def run(args) -> int:
    network = convert_checkpoint(args.checkpoint, args.out, weight_width=args.weight_width,
                                 neuron=args.neuron, calibration_images=args.calibration_images,
                                 ctt_epochs=args.ctt_epochs, data_root=args.data_root,
                                 exact_thresholds=args.exact_thresholds)
    summary = {"ir": str(args.out), "digest": network.digest(), "timesteps": network.timesteps,
               "layers": [{"name": l.name, "kind": l.kind,
                           **({"neuron": l.neuron.value, "weight_width": l.weight_width,
                               "membrane_width": l.membrane_width} if l.kind != "flatten" else {})}
                          for l in network.layers]}
    print(json.dumps(summary, indent=2))
    return 0
