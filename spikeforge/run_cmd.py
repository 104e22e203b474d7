"""`spikeforge run`: the main job on a shipped model (default: the MNIST MLP).

Loads the shipped checkpoint and converts it again (checking that the result is the
shipped IR, bit for bit); evaluates golden and the ANN on the whole test set; computes the
exact cycles and the energy estimate of every image; generates the RTL; verifies a sample
of images on Verilator; synthesizes and places for the targets; writes the run directory
with ``report.json`` and ``report.html``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from spikeforge.shipped import DEFAULT_MODEL, model_dir, shipped_models

__all__ = ["add_parser"]


def add_parser(sub):
    p = sub.add_parser("run", help="the whole flow on a shipped model (the main job)",
                       description=__doc__.split("\n\n", 1)[1])
    p.add_argument("--model", default=DEFAULT_MODEL,
                   help=f"shipped model (default: {DEFAULT_MODEL}); one of: "
                        f"{', '.join(shipped_models())}")
    p.add_argument("--out", "-o", default="runs/default", help="run directory (default: runs/default)")
    p.add_argument("--limit", type=int, default=None, help="only the first N test images")
    p.add_argument("--lanes", "-P", default="32", help="lanes per layer (default: 32)")
    p.add_argument("--verify-images", type=int, default=200,
                   help="test images simulated on Verilator (default: 200; 0 skips)")
    p.add_argument("--bench", choices=["cocotb", "harness"], default="cocotb",
                   help="verification bench (see `spikeforge verify --help`)")
    p.add_argument("--lutram-max-bits", type=int, default=0,
                   help="synthesis: memories of at most this many bits in LUT RAM (see "
                        "`spikeforge synth --help`)")
    p.add_argument("--targets", default="ecp5-85k,ice40-up5k,xc7a35t",
                   help="synthesis targets, comma-separated ('' skips synthesis)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def _log(message):
    print(f"[spikeforge] {message}", file=sys.stderr, flush=True)


def _cycles_and_energy(plan, pixels, batch_size=500):
    import numpy as np

    from spikeforge.energy import energy_report
    from spikeforge.golden import model
    from spikeforge.hdl_gen.cycle_model import cycles_for_result
    breakdowns, synops = [], {}
    for start in range(0, len(pixels), batch_size):
        result = model.run(plan.network, pixels[start:start + batch_size], trace=True)
        breakdowns += cycles_for_result(plan, result)
        for name, ops in result.synops.items():
            synops.setdefault(name, []).append(ops)
    synops = {name: np.concatenate(parts) for name, parts in synops.items()}
    cycles = {"cycles": [b.total for b in breakdowns],
              "lower_bounds": [b.lower_bound for b in breakdowns],
              "per_layer_mean": {name: float(np.mean([b.per_layer()[name] for b in breakdowns]))
                                 for name in breakdowns[0].per_layer()},
              "load_cycles": breakdowns[0].load, "argmax_cycles": breakdowns[0].argmax,
              "source": "cycle model (hdl_gen.cycle_model) on the golden trace"}
    return cycles, energy_report(plan, synops, breakdowns)


def run(args) -> int:
    from spikeforge.convert_cmd import convert_checkpoint
    from spikeforge.evaluation import evaluate_network
    from spikeforge.generate_cmd import parse_lanes
    from spikeforge.golden import load
    from spikeforge.golden.datasets import load_dataset
    from spikeforge.hdl_gen.config import HwConfig
    from spikeforge.hdl_gen.emit import generate, write_files
    from spikeforge.hdl_gen.plan import make_plan
    from spikeforge.report import write_report
    start = time.time()
    source = model_dir(args.model)
    shipped = load(source / "ir")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ctt = shipped.metadata.get("ctt") or {}
    _log(f"1/6 converting {source / 'checkpoint.pt'}")
    network = convert_checkpoint(source / "checkpoint.pt", out / "ir",
                                 weight_width=shipped.metadata["weight_width"],
                                 neuron=shipped.metadata["hidden_neuron"],
                                 calibration_images=ctt.get("images", 0),
                                 ctt_epochs=ctt.get("epochs", 3),
                                 exact_thresholds=shipped.metadata.get("exact_thresholds", False))
    if network.digest() != shipped.digest():
        raise SystemExit(f"error: converting {source / 'checkpoint.pt'} gave an IR that differs "
                         f"from the shipped {source / 'ir'}; the conversion is not reproducible")
    dataset = network.metadata["dataset"]
    _log(f"2/6 golden and ANN on the {dataset} test set")
    report, _, _ = evaluate_network(network, dataset=dataset, split="test", limit=args.limit,
                                    checkpoint=source / "checkpoint.pt", progress=not args.quiet)
    report["model"] = args.model
    (out / "eval.json").write_text(json.dumps(report, indent=2) + "\n")
    config = HwConfig(lanes=parse_lanes(args.lanes))
    plan = make_plan(network, config)
    pixels, _ = load_dataset(dataset, "test", limit=args.limit)
    _log(f"3/6 exact cycles and energy of {len(pixels)} images")
    cycles, energy = _cycles_and_energy(plan, pixels)
    (out / "cycles.json").write_text(json.dumps(cycles) + "\n")
    (out / "energy.json").write_text(json.dumps(energy, indent=2) + "\n")
    _log(f"4/6 generating RTL (lanes {args.lanes})")
    write_files(generate(network, config), out / "rtl")
    if args.verify_images:
        from spikeforge.sim.verify import verify
        _log(f"5/6 verifying {args.verify_images} images on Verilator")
        vpixels, vlabels = load_dataset(dataset, "test", limit=args.verify_images)
        result = verify(out / "rtl", out / "ir", vpixels, simulator="verilator",
                        bench=args.bench)
        classes, golden = result.pop("classes"), result.pop("golden_classes")
        result["rtl_accuracy"] = float((vlabels == classes).mean())
        result["golden_accuracy_same_images"] = float((vlabels == golden).mean())
        (out / "verify.json").write_text(json.dumps(result, indent=2) + "\n")
        if result["mismatches"] or result["cycle_mismatches"]:
            raise SystemExit(f"error: RTL differs from golden: {result['first_mismatch']}")
    from spikeforge.synth import synthesize
    for target in [t for t in args.targets.split(",") if t]:
        _log(f"6/6 synthesis for {target} (YoWASP tools; the first call compiles them)")
        result = synthesize(out / "rtl", target, out / "synth" / target,
                            clock_mhz=config.clock_mhz, lutram_max_bits=args.lutram_max_bits)
        (out / f"synth_{target}.json").write_text(json.dumps(result, indent=2) + "\n")
    json_path, html_path = write_report(out)
    _summary(json.loads(json_path.read_text()), out, time.time() - start)
    return 0


def _summary(report, out, seconds):
    acc = report["accuracy"]
    rows = [("model", report["model"]), ("timesteps", report["timesteps"]),
            ("float ANN / quantized ANN", f"{acc['ann_float']['value']:.4f} / "
                                          f"{acc['ann_quant']['value']:.4f}"),
            ("integer SNN (golden)", f"{acc['snn_golden']['value']:.4f}")]
    if "rtl" in acc:
        verification = report["verification"]
        rows.append(("RTL (Verilator)", f"{acc['rtl']['value']:.4f} on {verification['images']} "
                                        f"images, {verification['mismatches']} mismatches"))
    cycles = report.get("latency", {}).get("cycles", {}).get("value")
    if cycles:
        rows.append(("cycles / image", f"mean {cycles['mean']:.0f}, p99 {cycles['p99']:.0f} "
                                       f"(bound {cycles['lower_bound_mean']:.0f})"))
    for target, synth in report["synthesis"].items():
        if not synth.get("fits"):
            rows.append((target, f"does not fit: {synth.get('reason')}"))
            continue
        r = synth["resources"]
        pnr = synth.get("place_and_route") or {}
        fmax = f", Fmax {pnr['fmax_mhz']:.1f} MHz" if pnr.get("fmax_mhz") else ""
        rows.append((target, f"{r['luts']} LUTs, {r['ffs']} FFs, {r['brams']} BRAMs, "
                             f"{r['dsps']} DSPs{fmax}"))
    for target, timing in report.get("latency", {}).get("by_target", {}).items():
        rows.append((f"{target} latency", f"{timing['latency_us']['mean']} us/image, "
                                          f"{timing['images_per_s']['value']} images/s"))
    energy = report.get("energy")
    if energy:
        rows.append(("energy / image", f"SNN {energy['snn']['total_pj'] / 1e3:.1f} nJ; ANN int8 "
                                       f"{energy['ann_int8']['total_pj'] / 1e3:.1f} nJ; quantized "
                                       f"ANN {energy['quantized_ann']['total_pj'] / 1e3:.1f} nJ "
                                       f"(estimates)"))
    rows += [("report", str(out / "report.html")), ("wall time", f"{seconds:.0f} s")]
    width = max(len(k) for k, _ in rows)
    print("\n".join(f"{k:<{width}}  {v}" for k, v in rows))
