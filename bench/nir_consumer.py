"""Each shipped model exported to NIR and run by nirtorch against golden (docs/nir.md).

    python bench/nir_consumer.py [--images 1000]

Prints a table: images, whether every logit is equal, the largest difference, the time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import nir
import numpy as np

from spikewright import flow
from spikewright.golden import encoding, nir_io
from spikewright.golden import model as golden_model
from spikewright.golden.datasets import load_dataset
from spikewright.nir_consumer import run_graph


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000, help="test images (default 1000)")
    parser.add_argument("--models", nargs="+", default=["mnist_mlp_t1", "mnist_cnn_t1"])
    args = parser.parse_args(argv)
    print("| model | images | equal logits | max difference | same class | nirtorch s |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as work:
        for model in args.models:
            network = flow.load(model).network
            path = Path(work) / f"{model}.nir"
            nir_io.write(network, path)
            pixels, _ = load_dataset(network.metadata["dataset"], "test", None, args.images)
            spikes = encoding.input_spike_train(encoding.input_counts(network.input, pixels),
                                                network.timesteps)
            start = time.time()
            theirs = run_graph(nir.read(str(path)), spikes)
            seconds = time.time() - start
            ours = golden_model.run(network, pixels).logits
            print(f"| {model} | {len(pixels)} | {np.array_equal(ours, theirs)} | "
                  f"{int(np.abs(ours - theirs).max())} | "
                  f"{float((ours.argmax(1) == theirs.argmax(1)).mean()):.4f} | {seconds:.1f} |",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
