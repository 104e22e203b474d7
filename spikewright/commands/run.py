"""`spikewright run`: the main job on a shipped model (default: the MNIST MLP).

Converts the shipped checkpoint again (checking that the result is the shipped IR, bit for
bit); runs golden once on the test set (with the spike trace of the images to verify);
reports the accuracy of the ANN and of golden; computes the exact cycles and the energy
estimate of every image; generates the RTL; verifies images on Verilator; synthesizes and
places for the targets; writes the run directory with ``report.json`` and ``report.html``.

The hardware options default to the model's ``hw_config.json`` (each default below names
it; docs/results.md gives the figures each shipped design reaches); any option given
replaces its entry.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path

from spikewright.commands.args import (add_hw_arguments, at_least, hw_config_from_args,
                                  progress_bar)
from spikewright.hdl_gen.parts import TARGETS
from spikewright.shipped import DEFAULT_MODEL, model_dir, shipped_hw_config, shipped_models

__all__ = ["add_parser"]


def add_parser(sub):
    p = sub.add_parser("run", help="the whole flow on a shipped model (the main job)",
                       description=__doc__.split("\n\n", 1)[1])
    p.add_argument("--model", default=DEFAULT_MODEL,
                   help=f"shipped model, one of: {', '.join(shipped_models())}")
    p.add_argument("--out", "-o", default="runs/default", help="run directory")
    p.add_argument("--limit", type=at_least(1), default=None,
                   help="only the first N test images (default: all)")
    add_hw_arguments(p, defaults=None,
                     note=" (default: the model's hw_config.json)")
    p.add_argument("--verify-images", type=at_least(0), default=200,
                   help="test images simulated on the RTL (0 skips)")
    p.add_argument("--simulator", choices=["icarus", "verilator"], default="verilator",
                   help="HDL simulator for verification")
    p.add_argument("--bench", choices=["cocotb", "axis", "harness", "amaranth"],
                   default="cocotb",
                   help="verification bench (see `spikewright verify --help`)")
    p.add_argument("--lutram-max-bits", type=at_least(0), default=0,
                   help="synthesis: written memories of at most this many bits in LUT RAM "
                        "(see `spikewright synth --help`)")
    p.add_argument("--targets", default="ecp5-85k,ice40-up5k,xc7a35t",
                   help="synthesis targets, comma-separated ('' skips synthesis)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    p.add_argument("--force", action="store_true",
                   help="write into OUT even if it holds files that a run does not write")
    p.set_defaults(func=run)


#: what a run writes into its directory: a later run replaces these, and only these
RUN_FILES = frozenset({"ir", "rtl", "report.json", "report.html", "cycles.json",
                       "energy.json", "eval.json", "folding.json", "stream.json",
                       "verify.json", "verify.json.batches", "run_times.json",
                       *(f"synth_{target}.json" for target in TARGETS)})


def run(args) -> int:
    from spikewright import flow
    start = time.time()
    steps = {}

    @contextmanager
    def step(name):  # the wall seconds of each step, for the report's ``run_times``
        begun = time.time()
        yield
        steps[name] = round(time.time() - begun, 1)

    targets = [t for t in args.targets.split(",") if t]
    unknown = [t for t in targets if t not in TARGETS]
    if unknown:
        raise ValueError(f"--targets names {', '.join(map(repr, unknown))}; the targets are "
                         f"{', '.join(TARGETS)} (comma-separated; '' skips synthesis)")
    source = model_dir(args.model)
    out = Path(args.out)
    flow.prepare_output_dir(out, RUN_FILES, force=args.force)
    shipped = flow.load(args.model)
    meta = shipped.network.metadata
    ctt = meta.get("ctt") or {}
    flow.log(f"1/6 converting {source / 'checkpoint.pt'}")
    # the run directory is the run's own: its files are replaced by the next run
    with step("convert"):
        build = flow.convert(source / "checkpoint.pt", out / "ir",
                             weight_width=meta["weight_width"], neuron=meta["hidden_neuron"],
                             calibration_images=ctt.get("images", 0),
                             ctt_epochs=ctt.get("epochs", 3),
                             exact_thresholds=meta.get("exact_thresholds", False), force=True)
    if build.network.digest() != shipped.network.digest():
        raise ValueError(f"converting {source / 'checkpoint.pt'} gave an IR that differs from "
                         f"the shipped {source / 'ir'}: the conversion is not reproducible")
    build.model = args.model
    flow.images(build, limit=args.limit)
    count = len(build.images.pixels)
    verify_images = min(args.verify_images, count)
    flow.plan(build, hw_config_from_args(args, base=shipped_hw_config(args.model)))
    flow.log(f"2/6 golden, stream model and ANN on {count} {build.dataset} test images")
    with step("golden_and_models"), progress_bar(count, "golden", quiet=args.quiet) as bar:
        flow.golden(build, traced=verify_images, progress=bar)
        flow.evaluate(build)
        flow.cycles_and_energy(build)
    events = {stage.layer.name: stage.events for stage in build.plan.stream.stages
              if stage.events > 1}
    flow.log(f"3/6 generating RTL (lanes "
             f"{ {layer.name: layer.lanes for layer in build.plan.layers} }"
             + (f", events per cycle {events}" if events else "") + ")")
    with step("generate"):
        flow.generate(build, out / "rtl", force=True)
    if verify_images:
        flow.log(f"4/6 verifying {verify_images} images on {args.simulator} ({args.bench} bench)")
        with step("verify"), progress_bar(verify_images, f"verify {args.bench}",
                                          quiet=args.quiet) as bar:
            flow.verify(build, images=verify_images, simulator=args.simulator,
                        bench=args.bench, progress=bar)
        result = build.results["verify"]
        if result["mismatches"] or result["cycle_mismatches"]:
            flow.report(build, out)
            raise ValueError(f"the RTL differs from golden: {result['first_mismatch']} "
                             f"(report: {out / 'verify.json'})")
    flow.log(f"5/6 synthesis for {', '.join(targets) or 'no target'}")
    with step("synthesis"):
        flow.synthesize(build, targets, lutram_max_bits=args.lutram_max_bits)
    flow.log(f"6/6 report in {out}")
    build.results["run_times"] = {
        "steps_s": steps, "before_report_s": round(time.time() - start, 1),
        "source": "wall seconds of each step of this run (spikewright run); each target's "
                  "Yosys and nextpnr seconds are its synthesis entry's synth_s and pnr_s"}
    flow.report(build, out)
    _summary(build.results["report"], out, time.time() - start)
    return 0


def _summary(report, out, seconds):
    acc = report["accuracy"]
    rows = [("model", report["model"]), ("timesteps", report["timesteps"]),
            ("float ANN / quantized ANN", f"{acc['ann_float']['value']:.4f} / "
                                          f"{acc['ann_quant']['value']:.4f}"),
            ("integer SNN (golden)", f"{acc['snn_golden']['value']:.4f}")]
    if "rtl" in acc:
        verification = report["verification"]
        rows.append((f"RTL ({verification['simulator']})",
                     f"{acc['rtl']['value']:.4f} on {verification['images']} images, "
                     f"{verification['mismatches']} mismatches"))
    stream = report.get("stream")
    if stream:
        rows.append(("interval", f"{stream['interval_cycles']:.1f} cycles between "
                                            f"results; pixel limit {stream['pixel_limit_cycles']:.0f}, "
                                            f"weight-read limit {stream['weight_limit_cycles']:.0f}"))
    cycles = report.get("latency", {}).get("cycles", {}).get("value")
    if cycles:
        rows.append(("latency / image", f"mean {cycles['mean']:.0f} cycles, "
                                        f"p99 {cycles['p99']:.0f}"))
    for target, synth in report["synthesis"].items():
        if not synth.get("fits"):
            rows.append((target, f"does not fit: {synth.get('reason')}"))
            continue
        r = synth["resources"]
        pnr = synth.get("place_and_route") or {}
        fmax = f", Fmax {pnr['fmax_mhz']:.1f} MHz" if pnr.get("fmax_mhz") else ""
        from spikewright.synth import comparison_text
        estimated = (f" (estimate before synthesis: {comparison_text(synth['estimate'])})"
                     if synth.get("estimate") else "")
        rows.append((target, f"{r['luts']} LUTs, {r['ffs']} FFs, {r['brams']} BRAMs, "
                             f"{r['dsps']} DSPs{fmax}{estimated}"))
    for target, timing in report.get("latency", {}).get("by_target", {}).items():
        rows.append((f"{target} latency", f"{timing['latency_us']['mean']} us/image, "
                                          f"{timing['images_per_s']['value']} images/s"))
    energy = report.get("energy")
    if energy:
        rows.append(("energy / image", "; ".join(
            f"{name} {energy[key]['total_pj'] / 1e3:.1f} nJ "
            f"(compute {energy[key]['compute_pj'] / 1e3:.1f})"
            for key, name in (("snn", "SNN"), ("ann_int8", "ANN int8"),
                              ("quantized_ann", "quantized ANN")))
            + " (estimates, weights read at each use on both sides)"))
    steps = (report.get("run_times") or {}).get("steps_s", {})
    rows += [("report", str(out / "report.html")),
             ("wall time", f"{seconds:.0f} s ("
                           + ", ".join(f"{name} {value:.0f} s" for name, value in steps.items())
                           + ")")]
    width = max(len(k) for k, _ in rows)
    print("\n".join(f"{k:<{width}}  {v}" for k, v in rows))
