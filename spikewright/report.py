"""The run report: every figure with its source, as JSON (stable keys) and HTML."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from spikewright import __version__, svg
from spikewright.templates import render

__all__ = ["build_report", "write_report", "cycle_summary", "folded_sweep_chart", "RunFileError"]

TARGET_ORDER = ("ecp5-85k", "ice40-up5k", "xc7a35t")


class RunFileError(ValueError):
    """A file of a run directory that is not as the flow writes it."""


def _read(path: Path, shape: type = dict):
    """The JSON value of ``path`` (a ``shape``: a dict, or for a few files a list), or None
    where there is no such file."""
    if not path.is_file():
        return None
    try:
        value = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as error:
        raise RunFileError(f"{path} is not JSON ({error}); {_REWRITE}") from None
    if not isinstance(value, shape):
        raise RunFileError(f"{path} holds a JSON {type(value).__name__}, not the "
                           f"{'object' if shape is dict else 'array'} that `spikewright run` "
                           f"writes there; {_REWRITE}")
    return value


_REWRITE = "write it again with the command that makes it, or remove it"


@contextmanager
def _fields_of(path: Path):
    """Name ``path`` in one line where the report does not find in it what the flow writes
    (a missing key, a value of another type)."""
    try:
        yield
    except (KeyError, TypeError, IndexError, AttributeError, ValueError) as error:
        if isinstance(error, RunFileError):
            raise
        what = (f"it lacks the key {error.args[0]!r}" if isinstance(error, KeyError)
                else f"a value of the wrong kind: {error}")
        raise RunFileError(f"{path} is not as `spikewright run` writes it ({what}); "
                           f"{_REWRITE}") from None


def cycle_summary(cycles) -> dict:
    cycles = np.asarray(cycles, dtype=float)
    return {"mean": float(cycles.mean()), "p50": float(np.percentile(cycles, 50)),
            "p99": float(np.percentile(cycles, 99)), "max": float(cycles.max()),
            "min": float(cycles.min()), "images": int(len(cycles))}


def _fraction(value):
    """``value`` where it is an accuracy (None, or a number from 0 to 1)."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                              or not 0 <= value <= 1):
        raise ValueError(f"accuracy {value!r} is not a number from 0 to 1")
    return value


def _figure(value, source):
    return {"value": value, "source": source}


def build_report(run_dir) -> dict:
    """Collect a run directory's results into the report dictionary; a file that is not as
    the flow writes it is refused in one line naming it (:class:`RunFileError`)."""
    run = Path(run_dir)
    evaluation = _read(run / "eval.json")
    if evaluation is None:
        raise FileNotFoundError(f"{run / 'eval.json'} does not exist; is {run} a run directory "
                                f"written by `spikewright run`?")
    verify = _read(run / "verify.json")
    manifest = _read(run / "rtl" / "manifest.json")
    with _fields_of(run / "eval.json"):
        images = evaluation["images"]
        golden = f"golden model, {images} {evaluation['dataset']} {evaluation['split']} images"
        acc = evaluation["accuracy"]
        accuracy = {
            "ann_float": _figure(_fraction(acc["ann_float"]),
                                 f"torch, float relaxation, {images} images"),
            "ann_quant": _figure(_fraction(acc["ann_quant"]),
                                 f"torch, quantized ANN, {images} images"),
            "snn_golden": _figure(_fraction(acc["snn_golden"]), golden),
        }
        head = {"model": evaluation.get("model"), "ir_digest": evaluation["network_digest"],
                "timesteps": evaluation["timesteps"], "dataset": evaluation["dataset"]}
        activity = {
            "spikes_per_image": _figure(evaluation["spikes_per_image"]["total"], golden),
            "synaptic_ops_per_image": _figure(evaluation["synops_per_image"]["total"], golden)}
    if verify:
        with _fields_of(run / "verify.json"):
            same = verify.get("golden_accuracy_same_images")
            accuracy["rtl"] = _figure(_fraction(verify["rtl_accuracy"]),
                                      f"{verify['simulator']} {verify['simulator_version']} "
                                      f"({verify.get('bench', 'cocotb')} bench), "
                                      f"{verify['images']} images"
                                      + (f"; golden on the same images {same:.4f}"
                                         if same is not None else ""))
    synthesis = {}
    for target in TARGET_ORDER:
        result = _read(run / f"synth_{target}.json")
        if result is not None:
            synthesis[target] = result
    with _fields_of(run / "rtl" / "manifest.json"):
        hardware = {"hw_config": manifest["hw_config"] if manifest else None,
                    "lanes_used": manifest.get("lanes_used") if manifest else None}
    report = {
        "format": "spikewright-report", "format_version": 1, "generator": f"spikewright {__version__}",
        **head, **hardware,
        "accuracy": accuracy,
        "activity": activity,
        "synthesis": synthesis,
        "verification": verify,
        "energy": _read(run / "energy.json"),
        "sweep": _read(run / "sweep.json"),
        "run_times": _read(run / "run_times.json"),
    }
    stream = _read(run / "stream.json")
    if stream is not None:
        with _fields_of(run / "stream.json"):
            # with each image's latency; the cycle of each result stays in stream.json
            report["stream"] = {key: value for key, value in stream.items()
                                if key != "result_cycles"}
            summary = cycle_summary(stream["latency_cycles"])
            interval = float(stream["interval_cycles"])
            report["latency"] = {"cycles": _figure(summary, f"stream model on {golden}: each "
                                                            f"image's latency (RTL matches every "
                                                            f"result's cycle)"),
                                 "by_target": _timing(run, synthesis, summary, interval)}
    return report


def _timing(run: Path, synthesis: dict, summary: dict, interval: float) -> dict:
    """Per placed target: the achieved Fmax, latency in microseconds and images/s."""
    timing = {}
    for target, result in synthesis.items():
        with _fields_of(run / f"synth_{target}.json"):
            pnr = result.get("place_and_route") or {}
            if not pnr.get("fmax_mhz"):
                continue
            fmax, source = float(pnr["fmax_mhz"]), f"{pnr['tool']} (achieved Fmax)"
        timing[target] = {
            "fmax_mhz": _figure(round(fmax, 2), source),
            "latency_us": {k: round(summary[k] / fmax, 2) for k in ("mean", "p50", "p99", "max")},
            "interval_cycles": round(interval, 2),
            "images_per_s": _figure(round(fmax * 1e6 / interval, 1),
                                    "stream model: mean cycles between results, images "
                                    "back to back, at the achieved Fmax"),
        }
    return timing


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
        with _fields_of(run / "verify.json"):
            names.insert(at, f"SNN golden ({verify['images']} img)")
            values.insert(at, _fraction(verify["golden_accuracy_same_images"]))
    plots.append(("Accuracy at each level", svg.bar_chart(
        f"Accuracy at T={report['timesteps']} (axis from 0)", names, values, "accuracy",
        lo=0.0, hi=1.0)))
    by_t = _read(run / "accuracy_vs_t.json", list)
    if by_t:
        with _fields_of(run / "accuracy_vs_t.json"):
            series = {level: [(int(row["timesteps"]), _fraction(row[level])) for row in by_t
                              if row.get(level)]
                      for level in ("ann_quant", "snn_asg", "snn_if_ctt")}
        plots.append(("Accuracy against T", svg.line_chart(
            "Accuracy against T", {k: v for k, v in series.items() if v}, "T", "accuracy")))
    stream = report.get("stream")
    if stream:
        with _fields_of(run / "stream.json"):
            plots += _stream_plots(stream)
    sweep = report.get("sweep")
    if sweep:
        with _fields_of(run / "sweep.json"):
            plots += _sweep_plots(sweep)
    return plots


def _stream_plots(stream: dict) -> list[tuple[str, str]]:
    """The latency histogram and the stages' mean cycles of ``stream.json``."""
    stages = stream["stage_cycles_mean"]
    return [("Latency per image", svg.histogram(
                f"Latency per image (stream model; {stream['interval_cycles']:.1f} cycles "
                f"between results)", stream["latency_cycles"], "cycles")),
            ("Mean cycles per stage", svg.bar_chart(
                "Mean cycles per image of each stage (stream model; the slowest sets the "
                "interval)", list(stages), list(stages.values()), "cycles", lo=0.0,
                fmt="{:.0f}".format))]


def _sweep_plots(sweep: dict) -> list[tuple[str, str]]:
    """The charts of ``sweep.json``: a folded sweep's Pareto front, or a lane sweep's."""
    plots = []
    if sweep.get("points") and any("fps_target" in p for p in sweep["points"]):
        chart = folded_sweep_chart(sweep)
        if chart:
            plots.append(("Pareto front", chart))
    elif sweep.get("points"):
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
