"""Width and weight bits against accuracy for MNIST MLPs (issue 2: size the shipped MLP).

For each checkpoint and weight width: integer SNN (golden) accuracy on the 10k MNIST test
set and the weight memory in bits against the ECP5-85k's 3.7 Mbit of block RAM.
Run: .venv/bin/python bench/mlp_tradeoff.py CHECKPOINT... [--widths 3,4,5,6,8]
"""

import argparse

from spikewright.golden import model
from spikewright.golden.convert import convert
from spikewright.golden.datasets import load_dataset
from spikewright.golden.train import evaluate, load_checkpoint
from spikewright.hdl_gen.parts import TARGETS


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("checkpoints", nargs="+")
    parser.add_argument("--widths", default="3,4,5,6,8")
    args = parser.parse_args()
    pixels, labels = load_dataset("mnist", "test")
    capacity = TARGETS["ecp5-85k"].block_ram_bits
    print(f"{'network':<14} {'quant ANN':>9} {'bits':>4} {'SNN':>7} {'weight Mbit':>11} "
          f"{'of ECP5-85k':>11}")
    for path in args.checkpoints:
        ann, _ = load_checkpoint(path)
        sizes = [a[1] for a in ann.arch if a[0] == "linear"]
        name = "784-" + "-".join(map(str, sizes))
        quant = evaluate(ann, pixels, labels)
        for width in (int(w) for w in args.widths.split(",")):
            net = convert(ann, weight_width=width)
            accuracy = float((model.run(net, pixels).predictions == labels).mean())
            bits = sum(layer.weight.size for layer in net.weighted_layers) * width
            print(f"{name:<14} {quant:>9.4f} {width:>4} {accuracy:>7.4f} {bits / 1e6:>11.2f} "
                  f"{bits / capacity:>10.0%}")


if __name__ == "__main__":
    main()
