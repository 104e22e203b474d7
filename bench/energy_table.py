"""Energy per image of each shipped model against its ANN baselines, on one memory model
(every weight read from SRAM at each use, on both sides; :mod:`spikewright.energy`):
compute only, weight reads only, and their sum, averaged over the test images.

Run: .venv/bin/python bench/energy_table.py [--limit N] [MODEL ...]
"""

import argparse

from spikewright.energy import SOURCE
from shipped_stream import modelled
from spikewright.shipped import shipped_models

ROWS = (("snn", "SNN (this design)", "synaptic_ops", "synaptic ops"),
        ("ann_int8", "ANN, int8", "macs", "MACs"),
        ("ann_float32", "ANN, float32", "macs", "MACs"),
        ("quantized_ann", "quantized ANN", "macs", "MACs"))


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", default=["mnist_mlp_t1", "mnist_cnn_t1"],
                        help="shipped models (default: mnist_mlp_t1 mnist_cnn_t1)")
    parser.add_argument("--limit", type=int, default=None,
                        help="only the first N test images (default: all)")
    args = parser.parse_args()
    print("| model | network | operations / image | compute nJ | weight reads nJ | total nJ |")
    print("|---|---|---|---|---|---|")
    for name in args.models:
        if name not in shipped_models():
            parser.error(f"{name} is not a shipped model ({', '.join(shipped_models())})")
        build = modelled(name, args.limit)
        energy = build.results["energy"]
        for key, label, count, unit in ROWS:
            row = energy[key]
            if key == "quantized_ann":
                label += f", {row['activation_bits']}-bit activations"
            print(f"| {name} | {label} | {row[count]:,.0f} {unit} | "
                  f"{row['compute_pj'] / 1e3:,.1f} | {row['memory_pj'] / 1e3:,.1f} | "
                  f"{row['total_pj'] / 1e3:,.1f} |")
    print(f"\nper-operation energies: {SOURCE}; {len(build.images.pixels):,} test images "
          f"of the last model")


if __name__ == "__main__":
    main()
