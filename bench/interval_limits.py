"""Each shipped design's interval against the part's limits, stage by stage.

Per model: the stream model's interval between results, the weight-read limit (weight bits
read per image over the block RAM's read bits per cycle) and the pixel limit (pixels over
pixels per beat), then per stage its lanes, the input events it can take per cycle (dense
stages' ``events``), the input events per stage cycle it averages, mean cycles and
share of the interval (:func:`spikewright.flow.stage_table`). With ``--synth
MODEL=SYNTH.json`` (written by ``spikewright synth --json``) the placed Fmax and images/s.

Run: .venv/bin/python bench/interval_limits.py [--limit N] [--synth MODEL=FILE ...] [MODEL ...]
"""

import argparse
import json

from shipped_stream import modelled
from spikewright.shipped import shipped_models


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", default=None,
                        help="shipped models (default: all)")
    parser.add_argument("--limit", type=int, default=1000,
                        help="test images the stream model runs (default: 1000)")
    parser.add_argument("--synth", action="append", default=[], metavar="MODEL=FILE",
                        help="a synth result (spikewright synth --json) for a model")
    args = parser.parse_args()
    placed = {}
    for item in args.synth:
        name, _, path = item.partition("=")
        placed[name] = json.loads(open(path).read())["place_and_route"]["fmax_mhz"]
    print("| model | interval cycles | weight-read limit | x | pixel limit | x | placed Fmax "
          "MHz | images/s |")
    print("|---|---|---|---|---|---|---|---|")
    tables = {}
    for name in args.models or shipped_models():
        build = modelled(name, args.limit)
        stream = build.results["stream"]
        fmax = placed.get(name)
        rate = f"{fmax * 1e6 / stream['interval_cycles']:,.0f}" if fmax else "not placed here"
        print(f"| {name} | {stream['interval_cycles']:,.1f} | "
              f"{stream['weight_limit_cycles']:,.1f} | {stream['interval_to_weight_limit']:.2f} | "
              f"{stream['pixel_limit_cycles']:,.0f} | {stream['interval_to_pixel_limit']:.2f} | "
              f"{f'{fmax:.1f}' if fmax else '-'} | {rate} |")
        tables[name] = stream["stages"]
    for name, rows in tables.items():
        print(f"\n{name}\n\n| stage | kind | lanes | kernel lanes | events per cycle (E) | "
              f"input events per cycle (mean) | mean cycles | share of interval |\n"
              f"|---|---|---|---|---|---|---|---|")
        for row in rows:
            per_cycle = row.get("input_spikes_per_cycle")
            print(f"| {row['stage']} | {row['kind']} | {row.get('lanes') or '-'} | "
                  f"{row.get('kernel_lanes') or '-'} | {row.get('events_per_cycle') or '-'} | "
                  f"{'-' if per_cycle is None else f'{per_cycle:.2f}'} | "
                  f"{row['mean_cycles']:,.1f} | {row['share_of_interval']:.2f} |")


if __name__ == "__main__":
    main()
