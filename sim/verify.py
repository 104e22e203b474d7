"""RTL against golden on many images: batches through one build, with progress."""

from __future__ import annotations

import time

import numpy as np

from .runner import build, run_images

__all__ = ["verify"]


def verify(rtl_dir, ir_dir, pixels: np.ndarray, *, simulator: str, seed: int = 0,
           input_gaps: float = 0.0, backpressure: float = 0.0, batch_size: int = 500,
           build_root=None, progress=None, bench: str = "cocotb") -> dict:
    """Run ``pixels`` through the RTL in batches; return the merged report.

    ``progress(done, total)`` is called after each batch.
    """
    start = time.time()
    if bench == "harness":
        from .harness import build_harness
        built = build_harness(rtl_dir, simulator, build_root)
    else:
        built = build(rtl_dir, simulator, build_root)
    reports = []
    for first in range(0, len(pixels), batch_size):
        batch = pixels[first:first + batch_size]
        report = run_images(rtl_dir, ir_dir, batch, simulator=simulator, seed=seed + first,
                            input_gaps=input_gaps, backpressure=backpressure,
                            build_root=build_root, bench=bench)
        if report["first_mismatch"] is not None:
            report["first_mismatch"]["image"] += first
        reports.append(report)
        if progress is not None:
            progress(min(first + batch_size, len(pixels)), len(pixels))
    cycles = np.concatenate([r["cycles_per_image"] for r in reports])
    model = np.concatenate([r["model_cycles"] for r in reports])
    checked = reports[0]["cycle_mismatches"] is not None
    simulated = sum(r["simulated_cycles"] for r in reports)
    sim_seconds = sum(r["run_wall_s"] for r in reports)
    return {
        "images": int(len(pixels)),
        "mismatches": sum(r["mismatches"] for r in reports),
        "cycle_mismatches": sum(r["cycle_mismatches"] for r in reports) if checked else None,
        "first_mismatch": next((r["first_mismatch"] for r in reports if r["first_mismatch"]),
                               None),
        "cycles": {"mean": float(cycles.mean()), "min": int(cycles.min()),
                   "max": int(cycles.max()), "model_mean": float(model.mean())},
        "lower_bound_mean": float(np.mean([r["lower_bound_mean"] for r in reports])),
        "classes": [c for r in reports for c in r["classes"]],
        "golden_classes": [c for r in reports for c in r["golden_classes"]],
        "simulator": simulator,
        "bench": bench,
        "simulator_version": built.simulator.version,
        "build_s": round(built.seconds, 1),
        "simulated_cycles": simulated,
        "simulated_cycles_per_s": round(simulated / sim_seconds, 1) if sim_seconds else None,
        "input_gaps": input_gaps,
        "backpressure": backpressure,
        "wall_time_s": round(time.time() - start, 1),
    }
