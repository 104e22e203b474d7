"""Lanes P against cycles per image for a shipped model (default: the MNIST MLP at T=1).

Mean cycles per image over the test set from the exact cycle model (the RTL matches it
cycle for cycle), the event lower bound (synaptic operations / lanes) and their ratio.
Run: .venv/bin/python bench/bench_lanes.py [--model mnist_mlp_t1] [--lanes 1,2,4,...]
"""

import argparse
import time

import numpy as np

from spikewright.golden import load, model
from spikewright.golden.datasets import load_dataset
from spikewright.hdl_gen.config import HwConfig
from spikewright.hdl_gen.cycle_model import cycles_for_result
from spikewright.hdl_gen.plan import make_plan
from spikewright.shipped import model_dir


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="mnist_mlp_t1")
    parser.add_argument("--lanes", default="1,2,4,8,16,32,64,128")
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    network = load(model_dir(args.model) / "ir")
    pixels, _ = load_dataset(network.metadata["dataset"], "test", limit=args.limit)
    start = time.time()
    result = model.run(network, pixels, trace=True)
    print(f"{args.model}: {len(pixels)} test images, golden with trace in "
          f"{time.time() - start:.1f} s")
    print(f"{'P':>5} {'mean cycles':>12} {'p99 cycles':>11} {'lower bound':>12} {'ratio':>6} "
          f"{'us @ 50 MHz':>12}")
    for lanes in (int(p) for p in args.lanes.split(",")):
        plan = make_plan(network, HwConfig(lanes=lanes))
        breakdown = cycles_for_result(plan, result)
        cycles = np.array([b.total for b in breakdown])
        bound = np.array([b.lower_bound for b in breakdown])
        print(f"{lanes:>5} {cycles.mean():>12.1f} {np.percentile(cycles, 99):>11.0f} "
              f"{bound.mean():>12.1f} {cycles.mean() / bound.mean():>6.2f} "
              f"{cycles.mean() / 50:>12.1f}")


if __name__ == "__main__":
    main()
