"""Accuracy at every level for trained checkpoints, on the validation split and the full test set.

Columns: float ANN (same weights, activation without the floor, raw pixels), quantized ANN
(float weights), integer SNN with ASG neurons, and with IF neurons after CTT calibration
(at T=1 IF and ASG are the same neuron); each cell is "validation / test", the validation
split being the end of the training split that `spikewright train` held out (the
checkpoint records how many images; "-" where it held out none). "train s" adds up the
checkpoint's training time and that of every `--init` stage before it.
Run: .venv/bin/python bench/accuracy_table.py CHECKPOINT... [--weight-width 8] [--exact-thresholds]
[--no-ctt]
"""

import argparse

from spikewright.golden import ctt, model
from spikewright.golden.convert import convert
from spikewright.golden.datasets import hold_out, load_dataset
from spikewright.golden.train import evaluate, load_checkpoint


def training_seconds(info: dict) -> float:
    """The checkpoint's training time plus that of each `--init` stage it started from."""
    seconds = 0.0
    while info:
        seconds += info.get("train_time_s") or 0.0
        info = info.get("init")
    return seconds


def splits(info: dict) -> dict:
    """``{"validation": (pixels, labels) or None, "test": (pixels, labels)}``."""
    held_out = (info.get("validation") or {}).get("images", 0)
    dataset = info["dataset"]
    validation = None
    if held_out:
        validation = hold_out(*load_dataset(dataset, "train"), held_out)[2:]
    return {"validation": validation, "test": load_dataset(dataset, "test")}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("checkpoints", nargs="+")
    parser.add_argument("--weight-width", type=int, default=8)
    parser.add_argument("--exact-thresholds", action="store_true",
                        help="convert as `spikewright convert --exact-thresholds`")
    parser.add_argument("--calibration-images", type=int, default=2000)
    parser.add_argument("--no-ctt", action="store_true",
                        help="leave the IF+CTT column out (its calibration takes minutes per "
                             "checkpoint on the seed CNN at T = 4)")
    args = parser.parse_args()
    print("| dataset | network | T | float ANN | quantized ANN | integer SNN (ASG) | "
          "integer SNN (IF+CTT) | train s |")
    print("|---|---|---|---|---|---|---|---|")
    for path in args.checkpoints:
        ann, info = load_checkpoint(path)
        data = splits(info)
        sizes = [str(a[1]) for a in ann.arch if a[0] in ("linear", "conv")]
        name = ("CNN " if any(a[0] == "conv" for a in ann.arch) else "MLP 784-") + "-".join(sizes)

        def cell(score):
            return " / ".join("-" if data[split] is None else f"{score(*data[split]):.4f}"
                              for split in ("validation", "test"))

        def snn(net):
            return lambda pixels, labels: float((model.run(net, pixels).predictions
                                                 == labels).mean())

        asg = convert(ann, weight_width=args.weight_width, neuron="asg",
                      exact_thresholds=args.exact_thresholds)
        if args.no_ctt:
            if_ctt = "-"
        elif ann.timesteps > 1:
            train, _ = load_dataset(info["dataset"], "train", limit=args.calibration_images)
            calibrated = ctt.calibrate(convert(ann, weight_width=args.weight_width,
                                               exact_thresholds=args.exact_thresholds), train)
            if_ctt = cell(snn(calibrated))
        else:
            if_ctt = "= ASG"
        print(f"| {info['dataset']} | {name} | {ann.timesteps} | "
              f"{cell(lambda x, y: evaluate(ann, x, y, quantized=False))} | "
              f"{cell(lambda x, y: evaluate(ann, x, y))} | {cell(snn(asg))} | {if_ctt} | "
              f"{training_seconds(info):.0f} |", flush=True)


if __name__ == "__main__":
    main()
