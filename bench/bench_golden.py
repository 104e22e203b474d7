"""Golden-model throughput on the full MNIST test set, per shipped model.

Targets (issue 2): the seed CNN at T=1 under 60 s, the MLP under 5 s, on a 2-core machine.
Run: .venv/bin/python bench/bench_golden.py [--repeat 3]
"""

import argparse
import time

from spikewright.golden import load, run
from spikewright.golden.datasets import load_dataset
from spikewright.shipped import model_dir, shipped_models

TARGET_S = {"mnist_mlp_t1": 5.0, "mnist_cnn_t1": 60.0}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    pixels, labels = load_dataset("mnist", "test", limit=args.limit)
    print(f"{'model':<16} {'images':>7} {'best s':>8} {'median s':>9} {'img/s':>8} "
          f"{'target s':>9} {'accuracy':>9}")
    for name in shipped_models():
        network = load(model_dir(name) / "ir")
        if network.metadata.get("dataset") != "mnist":
            continue
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            result = run(network, pixels)
            times.append(time.perf_counter() - start)
        times.sort()
        accuracy = float((result.predictions == labels).mean())
        print(f"{name:<16} {len(pixels):>7} {times[0]:>8.2f} {times[len(times) // 2]:>9.2f} "
              f"{len(pixels) / times[0]:>8.0f} {TARGET_S.get(name, float('nan')):>9.1f} "
              f"{accuracy:>9.4f}")


if __name__ == "__main__":
    main()
