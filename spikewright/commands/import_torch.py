"""`spikewright import-torch`: a saved plain PyTorch ReLU network to a checkpoint that
`spikewright train --init` fine-tunes and `spikewright convert` converts."""

from __future__ import annotations

import json

from spikewright.commands.args import add_data_root_argument, at_least

__all__ = ["add_parser"]


def add_parser(sub):
    p = sub.add_parser("import-torch", help="import a plain PyTorch ReLU network",
                       description="Read a network saved with torch.export.save (.pt2) or "
                                   "TorchScript (torch.jit.save; never a pickle) built from "
                                   "Conv2d, Linear, BatchNorm, ReLU/ReLU6/Hardtanh(0, x), "
                                   "AvgPool2d, Flatten and Dropout, replace every ReLU by the "
                                   "conversion-aware activation (scales measured on training "
                                   "images) and write a checkpoint to fine-tune "
                                   "(`spikewright train --init`) and convert.")
    p.add_argument("file", help="the saved network (.pt2 or TorchScript); it takes "
                                "(pixels / 255 - mean) / std, batch first")
    p.add_argument("--out", "-o", required=True, help="checkpoint file to write (.pt)")
    p.add_argument("--dataset", default="mnist", help="dataset it was trained on")
    add_data_root_argument(p)
    p.add_argument("--timesteps", "-T", type=at_least(1), default=1, help="time steps T")
    p.add_argument("--k", type=at_least(1), default=None,
                   help="quantization factor k; theta = T/k (default: 4 T)")
    p.add_argument("--input-mean", type=float, nargs="+", default=[0.0],
                   help="the network's input normalization: mean per channel")
    p.add_argument("--input-std", type=float, nargs="+", default=[1.0],
                   help="the network's input normalization: std per channel")
    p.add_argument("--calibration-images", type=at_least(1), default=2000,
                   help="training images the activation scales are measured on")
    p.set_defaults(func=run)


def run(args) -> int:
    from spikewright import flow
    from spikewright.golden.torch_import import load_torch_file
    flow.prepare_output_file(args.out)
    ops = load_torch_file(args.file)
    model = flow.from_torch(ops, dataset=args.dataset, timesteps=args.timesteps,
                                      k=args.k, input_mean=args.input_mean,
                                      input_std=args.input_std,
                                      calibration_images=args.calibration_images,
                                      data_root=args.data_root, checkpoint=args.out)
    print(json.dumps({"checkpoint": str(args.out), "arch": model.arch,
                      "timesteps": model.timesteps, "k": model.k,
                      "accuracy": model.torch_import["accuracy"]},
                     indent=2))
    return 0
