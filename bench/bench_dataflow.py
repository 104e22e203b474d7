"""Designs of a shipped model against the part's own limits: cycles between results (the
interval) of the model's own design (its hw_config.json) and, for dense networks, of
designs folded for several frame rates, beside the weight-read limit (weight bits read per
image over the block RAM's read width per cycle) and the pixel limit (pixels per image over
pixels per beat); then each stage's mean cycles in the model's own design.

The intervals come from the stream model (the RTL matches it cycle for cycle).
Run: .venv/bin/python bench/bench_dataflow.py [--model M] [--limit N]
"""

import argparse

import numpy as np

from spikewright import flow
from spikewright.hdl_gen.config import HwConfig
from spikewright.hdl_gen.fold import fold
from spikewright.hdl_gen.plan import make_plan
from spikewright.hdl_gen.stream_model import stream_timing
from spikewright.hdl_gen.stream_plan import layer_scans
from spikewright.shipped import shipped_hw_config


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="mnist_mlp_t1")
    parser.add_argument("--limit", type=int, default=None, help="test images (default: all)")
    parser.add_argument("--clock-mhz", type=float, default=100.0)
    parser.add_argument("--fps", default="50000,100000,200000,250000,280000")
    args = parser.parse_args()
    build = flow.images(flow.load(args.model), limit=args.limit)
    network = build.network
    from spikewright.golden import model
    result = model.run(network, build.images.pixels, trace=True)
    scans = layer_scans(network, result)
    rows = []
    dense = all(layer.kind == "dense" for layer in network.weighted_layers)
    shipped = make_plan(network, HwConfig(**{**HwConfig().to_json(),
                                             **shipped_hw_config(args.model)}))
    timing = stream_timing(shipped, result)
    rows.append((f"{args.model} hw_config.json", "-", timing.interval,
                 flow.bandwidth_limits(shipped, result)))
    for fps in [float(f) for f in args.fps.split(",")] if dense else []:
        folding = fold(network, scans, interval_cycles=args.clock_mhz * 1e6 / fps,
                       config=HwConfig(clock_mhz=args.clock_mhz))
        plan = make_plan(network, folding.config)
        lanes = ",".join(f"{k}={v}" for k, v in folding.config.lanes.items())
        rows.append((f"dataflow for {fps:,.0f}/s: {lanes}, {folding.config.pixels_per_beat} "
                     f"px/beat", "yes" if folding.met else "no", folding.timing.interval,
                     flow.bandwidth_limits(plan, result)))
    print(f"{len(build.images.pixels)} {network.metadata.get('dataset')} test images; "
          f"intervals in cycles; images/s at {args.clock_mhz:g} MHz\n")
    print(f"| design | target met | interval | images/s | weight-read limit | x | "
          f"pixel limit | x |")
    print("|---|---|---|---|---|---|---|---|")
    for name, met, interval, limit in rows:
        print(f"| {name} | {met} | {interval:.1f} | {args.clock_mhz * 1e6 / interval:,.0f} | "
              f"{limit['weight_limit_cycles']:.1f} | "
              f"{interval / limit['weight_limit_cycles']:.1f} | "
              f"{limit['pixel_limit_cycles']:.0f} | "
              f"{interval / limit['pixel_limit_cycles']:.2f} |")
    print(f"\nStages of {args.model}'s design: mean cycles per image, share of the interval\n")
    print("| stage | lanes | mean cycles | share |")
    print("|---|---|---|---|")
    lanes = {layer.name: layer.lanes for layer in shipped.layers}
    for name, cycles in timing.stages.items():
        print(f"| {name} | {lanes.get(name, '-')} | {np.mean(cycles):,.1f} | "
              f"{np.mean(cycles) / timing.interval:.2f} |")


if __name__ == "__main__":
    main()
