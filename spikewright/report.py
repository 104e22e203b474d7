"""The run report: every figure with its source, as JSON (stable keys) and HTML."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from spikewright import __version__, svg
from spikewright.templates import render

__all__ = ["build_report", "write_report", "cycle_summary", "folded_sweep_chart"]

TARGET_ORDER = ("ecp5-85k", "ice40-up5k", "xc7a35t")


def _read(path: Path):
    return json.loads(path.read_text()) if path.is_file() else None


def cycle_summary(cycles) -> dict:
    cycles = np.asarray(cycles, dtype=float)
    return {"mean": float(cycles.mean()), "p50": float(np.percentile(cycles, 50)),
            "p99": float(np.percentile(cycles, 99)), "max": float(cycles.max()),
            "min": float(cycles.min()), "images": int(len(cycles))}


def _figure(value, source):
    return {"value": value, "source": source}


def build_report(run_dir) -> dict:
    """Collect a run directory's results into the report dictionary."""
    run = Path(run_dir)
    evaluation = _read(run / "eval.json")
    if evaluation is None:
        raise FileNotFoundError(f"{run / 'eval.json'} does not exist; is {run} a run directory "
                                f"written by `spikewright run`?")
    verify = _read(run / "verify.json")
    energy = _read(run / "energy.json")
    sweep = _read(run / "sweep.json")
    manifest = _read(run / "rtl" / "manifest.json")
    images = evaluation["images"]
    golden = f"golden model, {images} {evaluation['dataset']} {evaluation['split']} images"
    acc = evaluation["accuracy"]
    accuracy = {
        "ann_float": _figure(acc["ann_float"], f"torch, float relaxation, {images} images"),
        "ann_quant": _figure(acc["ann_quant"], f"torch, quantized ANN, {images} images"),
        "snn_golden": _figure(acc["snn_golden"], golden),
    }
    if verify:
        same = verify.get("golden_accuracy_same_images")
        accuracy["rtl"] = _figure(verify["rtl_accuracy"],
                                  f"{verify['simulator']} {verify['simulator_version']} "
                                  f"({verify.get('bench', 'cocotb')} bench), "
                                  f"{verify['images']} images"
                                  + (f"; golden on the same images {same:.4f}" if same is not None
                                     else ""))
    synthesis = {}
    for target in TARGET_ORDER:
        result = _read(run / f"synth_{target}.json")
        if result is not None:
            synthesis[target] = result
    report = {
        "format": "spikewright-report", "format_version": 1, "generator": f"spikewright {__version__}",
        "model": evaluation.get("model"), "ir_digest": evaluation["network_digest"],
        "timesteps": evaluation["timesteps"], "dataset": evaluation["dataset"],
        "hw_config": manifest["hw_config"] if manifest else None,
        "lanes_used": manifest.get("lanes_used") if manifest else None,
        "accuracy": accuracy,
        "activity": {
            "spikes_per_image": _figure(evaluation["spikes_per_image"]["total"], golden),
            "synaptic_ops_per_image": _figure(evaluation["synops_per_image"]["total"], golden)},
        "synthesis": synthesis,
        "verification": verify,
        "energy": energy,
        "sweep": sweep,
        "run_times": _read(run / "run_times.json"),
    }
    stream = _read(run / "stream.json")
    if stream is not None:
        # with each image's latency; the cycle of each result stays in stream.json
        report["stream"] = {key: value for key, value in stream.items()
                            if key != "result_cycles"}
    if stream is not None:
        summary = cycle_summary(stream["latency_cycles"])
        interval = stream["interval_cycles"]
        timing = {}
        for target, result in synthesis.items():
            pnr = result.get("place_and_route") or {}
            if pnr.get("fmax_mhz"):
                fmax, source = pnr["fmax_mhz"], f"{pnr['tool']} (achieved Fmax)"
            else:
                continue
            timing[target] = {
                "fmax_mhz": _figure(round(fmax, 2), source),
                "latency_us": {k: round(summary[k] / fmax, 2) for k in ("mean", "p50", "p99", "max")},
                "interval_cycles": round(interval, 2),
                "images_per_s": _figure(round(fmax * 1e6 / interval, 1),
                                        "stream model: mean cycles between results, images "
                                        "back to back, at the achieved Fmax"),
            }
        report["latency"] = {"cycles": _figure(summary, f"stream model on {golden}: each "
                                                        f"image's latency (RTL matches every "
                                                        f"result's cycle)"),
                             "by_target": timing}
    return report


def _plots(report, run) -> list[tuple[str, str]]:
    plots = []
    acc = report["accuracy"]
    labels = {"ann_float": "float ANN", "ann_quant": "quant ANN", "snn_golden": "SNN golden",
              "rtl": f"RTL ({report['verification']['images']} img)" if report.get("verification")
              else "RTL"}
    keys = [k for k in labels if k in acc and acc[k]["value"] is not None]
    names, values = [labels[k] for k in keys], [acc[k]["value"] for k in keys]
    verify = _read(run / "verify.json") or {}
    if "rtl" in keys and verify.get("golden_accuracy_same_images") is not None:
        # the RTL bar beside golden on the same images, not on the whole evaluation set
        at = names.index(labels["rtl"])
        names.insert(at, f"SNN golden ({verify['images']} img)")
        values.insert(at, verify["golden_accuracy_same_images"])
    plots.append(("Accuracy at each level", svg.bar_chart(
        f"Accuracy at T={report['timesteps']} (axis from 0)", names, values, "accuracy",
        lo=0.0, hi=1.0)))
    by_t = _read(run / "accuracy_vs_t.json")
    if by_t:
        series = {level: [(row["timesteps"], row[level]) for row in by_t if row.get(level)]
                  for level in ("ann_quant", "snn_asg", "snn_if_ctt")}
        plots.append(("Accuracy against T", svg.line_chart(
            "Accuracy against T", {k: v for k, v in series.items() if v}, "T", "accuracy")))
    stream = report.get("stream")
    if stream:
        plots.append(("Latency per image", svg.histogram(
            f"Latency per image (stream model; {stream['interval_cycles']:.1f} cycles "
            f"between results)", stream["latency_cycles"], "cycles")))
        stages = stream["stage_cycles_mean"]
        plots.append(("Mean cycles per stage", svg.bar_chart(
            "Mean cycles per image of each stage (stream model; the slowest sets the "
            "interval)", list(stages), list(stages.values()), "cycles", lo=0.0,
            fmt="{:.0f}".format)))
    sweep = report.get("sweep")
    if sweep and sweep.get("points") and any("fps_target" in p for p in sweep["points"]):
        chart = folded_sweep_chart(sweep)
        if chart:
            plots.append(("Pareto front", chart))
    elif sweep and sweep.get("points"):
        points = sweep["points"]
        plots.append(("Latency against lanes", svg.line_chart(
            "Mean cycles between results against lanes P",
            {"cycles": [(p["lanes"], p["mean_cycles"]) for p in points]},
            "lanes P", "cycles", log_x=True)))
        with_luts = [p for p in points if p.get("luts")]
        if with_luts:
            plots.append(("Resources against lanes", svg.line_chart(
                f"LUTs against lanes P ({sweep['target']})",
                {"LUTs": [(p["lanes"], p["luts"]) for p in with_luts]}, "lanes P", "LUTs",
                log_x=True)))
            plots.append(("Pareto front", svg.line_chart(
                "LUTs against mean cycles (circled: Pareto front)",
                {"design points": [(p["mean_cycles"], p["luts"]) for p in with_luts]},
                "mean cycles per image", "LUTs",
                highlight=[(p["mean_cycles"], p["luts"]) for p in with_luts if p.get("pareto")])))
    return plots


def write_report(run_dir) -> tuple[Path, Path]:
    """Write ``report.json`` and the self-contained ``report.html`` into ``run_dir``."""
    run = Path(run_dir)
    report = build_report(run)
    (run / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    html = render("report.html.j2", report=report, plots=_plots(report, run),
                  json_text=json.dumps(report, indent=2))
    (run / "report.html").write_text(html)
    return run / "report.json", run / "report.html"


def folded_sweep_chart(sweep: dict) -> str | None:
    """The SVG of a folded sweep's placed designs: images/s against LUT4, the Pareto front
    circled (``None`` where no design was placed)."""
    placed = [p for p in sweep["points"] if p.get("luts") and p.get("images_per_s")]
    if not placed:
        return None
    return svg.line_chart(
        f"Images/s against LUT4 ({sweep['target']}, placed; circled: Pareto front)",
        {"design points": [(p["luts"], p["images_per_s"]) for p in placed]},
        "LUT4", "images per second",
        highlight=[(p["luts"], p["images_per_s"]) for p in placed if p.get("pareto")])
