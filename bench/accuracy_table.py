"""Accuracy at every level for trained checkpoints, on the full test set (README table).

Columns: float ANN (same weights, activation without the floor, raw pixels), quantized ANN
(float weights), integer SNN with ASG neurons, and with IF neurons after CTT calibration
(at T=1 IF and ASG are the same neuron).
Run: .venv/bin/python bench/accuracy_table.py CHECKPOINT... [--weight-width 8]
"""

import argparse
import time

from spikewright.golden import ctt, model
from spikewright.golden.convert import convert
from spikewright.golden.datasets import load_dataset
from spikewright.golden.train import evaluate, load_checkpoint


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("checkpoints", nargs="+")
    parser.add_argument("--weight-width", type=int, default=8)
    parser.add_argument("--calibration-images", type=int, default=2000)
    args = parser.parse_args()
    print(f"| dataset | network | T | float ANN | quantized ANN | integer SNN (ASG) | "
          f"integer SNN (IF+CTT) | train s |")
    print("|---|---|---|---|---|---|---|---|")
    for path in args.checkpoints:
        ann, info = load_checkpoint(path)
        dataset = info["dataset"]
        pixels, labels = load_dataset(dataset, "test")
        sizes = [str(a[1]) for a in ann.arch if a[0] in ("linear", "conv")]
        name = ("CNN " if any(a[0] == "conv" for a in ann.arch) else "MLP 784-") + "-".join(sizes)
        accuracy = lambda net: float((model.run(net, pixels).predictions == labels).mean())
        asg = accuracy(convert(ann, weight_width=args.weight_width, neuron="asg"))
        if ann.timesteps > 1:
            train, _ = load_dataset(dataset, "train", limit=args.calibration_images)
            start = time.time()
            calibrated = ctt.calibrate(convert(ann, weight_width=args.weight_width), train)
            if_ctt = f"{accuracy(calibrated):.4f}"
        else:
            if_ctt = "= ASG"
        print(f"| {dataset} | {name} | {ann.timesteps} | "
              f"{evaluate(ann, pixels, labels, quantized=False):.4f} | "
              f"{evaluate(ann, pixels, labels):.4f} | {asg:.4f} | {if_ctt} | "
              f"{info['train_time_s']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
