"""The resource estimate before synthesis against Yosys, design by design.

Designs: every shipped model at its own hw_config.json, and each point of a folded sweep
(``--sweep MODEL=DIR``: ``spikewright sweep MODEL --fps ... --out DIR``; its points'
``rtl_*/manifest.json`` give their configurations). Yosys's counts come from a synthesis
already run (a sweep point's ``synth/<target>/stat.json``, or ``--stat MODEL=FILE``: a
``stat.json`` of ``spikewright synth`` on the shipped design), else from ``--synth`` (runs
Yosys now, without placing: minutes per design). Prints, per design, the estimate of LUT4,
FF and block RAMs beside Yosys's with the error in percent; ``--fit`` prints the LUT4
weights (:data:`spikewright.hdl_gen.estimate.LUT_MODEL`) of the smallest largest relative
error on these designs (no weight below 0; those of ``LUT_MODEL_HELD`` held) and the errors
under them.

Run: .venv/bin/python bench/estimate_error.py [--sweep MODEL=DIR ...] [--stat MODEL=FILE ...]
     [--synth] [--fit] [MODEL ...]
"""

import argparse
import json
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
from amaranth.back import verilog

from spikewright.golden import load
from spikewright.hdl_gen.config import HwConfig
from spikewright.hdl_gen.estimate import (LUT_MODEL, LUT_MODEL_HELD, RESOURCES,
                                          estimate_from_features, kept_netlist,
                                          netlist_features)
from spikewright.hdl_gen.emit import generate, write_files
from spikewright.hdl_gen.plan import make_plan
from spikewright.hdl_gen.stream_top import StreamTop
from spikewright.shipped import model_dir, shipped_hw_config, shipped_models
from spikewright.synth import FLOWS, against_synthesis, parse_stat, synthesize


def features(network, config: HwConfig) -> dict:
    """:func:`netlist_features` of the design, summed over its stages."""
    kept = []
    with kept_netlist(kept):
        verilog.convert(StreamTop(make_plan(network, config)), name="spikewright_top",
                        emit_src=False, strip_internal_attrs=True)
    return sum(netlist_features(kept[0], config.target).values(), Counter())


def yosys_counts(network, config, stat_file, run_synth: bool) -> dict | None:
    if stat_file is not None and Path(stat_file).exists():
        return parse_stat(json.loads(Path(stat_file).read_text()), FLOWS[config.target])
    if not run_synth:
        return None
    with tempfile.TemporaryDirectory() as work:
        rtl = write_files(generate(network, plan=make_plan(network, config)),
                          Path(work) / "rtl")
        result = synthesize(rtl, config.target, Path(work) / "synth", place=False,
                            clock_mhz=config.clock_mhz, memory_style=config.memory_style.value)
    return result.get("resources")


def designs(args):
    """``(label, network, config, stat file or None)`` of every design to compare."""
    stats = dict(item.split("=", 1) for item in args.stat)
    for name in args.models or shipped_models():
        yield (name, load(model_dir(name) / "ir"),
               HwConfig.from_json(shipped_hw_config(name)), stats.get(name))
    for item in args.sweep:
        name, folder = item.split("=", 1)
        network = load(model_dir(name) / "ir")
        for rtl in sorted(Path(folder).glob("rtl_*"),
                          key=lambda p: int("".join(c for c in p.name if c.isdigit()) or 0)):
            manifest = json.loads((rtl / "manifest.json").read_text())
            config = HwConfig.from_json(manifest["hw_config"])
            yield (f"{name} {rtl.name}", network, config,
                   rtl / "synth" / config.target / "stat.json")


def fit(rows, rounds: int = 2000) -> dict:
    """LUT4 weights, none below 0, that minimize the largest relative error over ``rows``
    (``(features, synthesized LUT4)``), the weights of :data:`LUT_MODEL_HELD` held at their
    :data:`LUT_MODEL` values: the error bound is what the estimate promises, so the fit is
    minimax, not least squares. Lawson's iteration (least squares reweighted by each
    design's error, which tends to the minimax solution), dropping negative weights in
    turn."""
    names = list(LUT_MODEL)
    active = [n for n in names if n not in LUT_MODEL_HELD]
    held = [sum(LUT_MODEL[n] * found.get(n, 0) for n in LUT_MODEL_HELD) for found, _ in rows]
    target = np.array([1 - h / luts for h, (_, luts) in zip(held, rows)])
    while True:
        a = np.array([[found.get(n, 0) / luts for n in active] for found, luts in rows])
        share = np.full(len(rows), 1 / len(rows))
        for _ in range(rounds):
            root = np.sqrt(share)
            weights, *_ = np.linalg.lstsq(a * root[:, None], target * root, rcond=None)
            share = share * np.abs(a @ weights - target)
            share = share / share.sum() if share.sum() > 0 else np.full(len(rows), 1 / len(rows))
        if (weights >= 0).all() or not active:
            return {n: (LUT_MODEL[n] if n in LUT_MODEL_HELD else
                        round(float(weights[active.index(n)]), 4) if n in active else 0.0)
                    for n in names}
        active.pop(int(np.argmin(weights)))


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", help="shipped models (default: all)")
    parser.add_argument("--sweep", action="append", default=[], metavar="MODEL=DIR")
    parser.add_argument("--stat", action="append", default=[], metavar="MODEL=FILE")
    parser.add_argument("--synth", action="store_true",
                        help="run Yosys for designs without a stat.json (default: skip them)")
    parser.add_argument("--fit", action="store_true", help="print the LUT4 weights that "
                                                           "fit the designs best")
    args = parser.parse_args()
    print("| design | target | " + " | ".join(f"{r} estimate / Yosys (error)"
                                              for r in ("LUT4", "FF", "block RAMs")) + " |")
    print("|---|---|---|---|---|")
    rows = []
    for label, network, config, stat in designs(args):
        found = features(network, config)
        counts = yosys_counts(network, config, stat, args.synth)
        if counts is None:
            print(f"| {label} | {config.target} | no synthesis on record | | |")
            continue
        estimated = estimate_from_features({"all": found})["total"]
        compared = against_synthesis(estimated, counts)
        print(f"| {label} | {config.target} | " + " | ".join(
            f"{compared[r]['estimate']:,} / {compared[r]['synthesized']:,} "
            f"({compared[r]['error_percent']:+.1f}%)" for r in RESOURCES[:3]) + " |",
            flush=True)
        if config.target == "ecp5-85k":
            rows.append((found, counts["luts"], label))
    if args.fit and rows:
        weights = fit([(found, luts) for found, luts, _ in rows])
        print("\nLUT4 weights fitted on the ECP5 designs above:", json.dumps(weights))
        print("\n| design | LUT4 estimate with these weights / Yosys (error) |\n|---|---|")
        for found, luts, label in rows:
            luts_now = sum(weight * found.get(name, 0) for name, weight in weights.items())
            print(f"| {label} | {luts_now:,.0f} / {luts:,} ({100 * (luts_now / luts - 1):+.1f}%) |")


if __name__ == "__main__":
    main()
