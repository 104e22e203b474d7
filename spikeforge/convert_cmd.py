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
    p.add_argument("--weight-width", type=int, default=None,
                   help="signed weight bits (default: the width the checkpoint was trained "
                        "with, else 8)")
    p.add_argument("--neuron", choices=["if", "asg"], default="if",
                   help="hidden neuron model (default: if; at T=1 both are the same)")
    p.add_argument("--exact-thresholds", action="store_true", default=None,
                   help="scale each channel so its threshold is an exact integer (default: "
                        "as the checkpoint was trained)")
    p.add_argument("--calibration-images", type=int, default=2000,
                   help="training images for CTT (IF, T > 1; default: 2000)")
    p.add_argument("--ctt-epochs", type=int, default=3)
    p.add_argument("--data-root", default=None, help="directory of CIFAR pickle files")
    p.set_defaults(func=run)


def convert_checkpoint(checkpoint, out, *, weight_width=None, neuron="if",
                       calibration_images=2000, ctt_epochs=3, data_root=None,
                       exact_thresholds=None, progress=None):
    """Convert, calibrate where needed, save; return the network. ``weight_width`` and
    ``exact_thresholds`` left None take the values the checkpoint was trained with
    (``spikeforge train --weight-width``), else 8 bits and rounded thresholds."""
    from spikeforge.golden import ctt, save
    from spikeforge.golden.convert import convert
    from spikeforge.golden.datasets import load_dataset
    from spikeforge.golden.train import load_checkpoint
    model, info = load_checkpoint(checkpoint)
    trained = model.weight_quantization or {"weight_width": 8, "exact_thresholds": False}
    weight_width = trained["weight_width"] if weight_width is None else weight_width
    exact_thresholds = (trained["exact_thresholds"] if exact_thresholds is None
                        else exact_thresholds)
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
