"""A ReLU MLP trained in plain PyTorch on MNIST, through sw.from_torch, fine-tuning and
conversion: the accuracy at each stage on the 10,000 test images (issue 15's figure).

    python bench/from_torch_mnist.py [--hidden 768] [--epochs 10] [--fine-tune-epochs 5]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch
from torch import nn

import spikewright as sw


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=768, help="hidden width (default 768)")
    parser.add_argument("--epochs", type=int, default=10, help="ReLU training epochs (10)")
    parser.add_argument("--fine-tune-epochs", type=int, default=5, help="fine-tuning epochs (5)")
    parser.add_argument("--fine-tune-lr", type=float, default=5e-4, help="(5e-4)")
    parser.add_argument("--weight-width", type=int, default=8, help="(8)")
    parser.add_argument("--seed", type=int, default=0, help="(0)")
    args = parser.parse_args(argv)
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    x, y = sw.load_dataset("mnist", "train")
    xt, yt = sw.load_dataset("mnist", "test")
    relu = nn.Sequential(nn.Flatten(), nn.Linear(784, args.hidden), nn.ReLU(),
                         nn.Linear(args.hidden, 10))
    inputs, labels = torch.from_numpy(x).float() / 255, torch.from_numpy(y).long()
    optimizer = torch.optim.Adam(relu.parameters(), 1e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, args.epochs * 469)
    start = time.time()
    for _ in range(args.epochs):
        order = torch.randperm(len(x))
        for i in range(0, len(x), 128):
            batch = order[i:i + 128]
            loss = nn.functional.cross_entropy(relu(inputs[batch]), labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
    relu_s = time.time() - start
    net = sw.from_torch(relu.eval(), dataset="mnist", timesteps=1)
    imported = net.torch_import["accuracy"]
    start = time.time()
    sw.train(net, dataset="mnist", epochs=args.fine_tune_epochs, lr=args.fine_tune_lr,
             seed=args.seed)
    tune_s = time.time() - start
    build = sw.convert(net, weight_width=args.weight_width)
    sw.images(build, dataset="mnist")
    sw.run_golden(build)
    sw.evaluate(build, ann=False)
    snn = build.results["eval"]["accuracy"]["snn_golden"]
    print("| stage | test accuracy | seconds |\n|---|---|---|")
    print(f"| ReLU MLP 784-{args.hidden}-10, plain PyTorch, {args.epochs} epochs | "
          f"{imported['relu']:.4f} | {relu_s:.0f} |")
    print(f"| sw.from_torch, T=1 (conversion-aware activation, before fine-tuning) | "
          f"{imported['imported_quantized']:.4f} | |")
    print(f"| fine-tuned, {args.fine_tune_epochs} epochs, Adam {args.fine_tune_lr:g} | "
          f"{net.test_accuracy:.4f} | {tune_s:.0f} |")
    print(f"| integer SNN, T=1, {args.weight_width}-bit weights (golden) | {snn:.4f} | |")
    print(f"| SNN minus ReLU | {snn - imported['relu']:+.4f} | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
