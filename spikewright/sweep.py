"""A design-space sweep: the exact cycle model and synthesis for each lane count, and the
Pareto front of resources against cycles."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from spikewright import flow
from spikewright.hdl_gen.config import HwConfig
from spikewright.hdl_gen.cycle_model import cycles_for_result

__all__ = ["pareto_front", "sweep"]


def pareto_front(points: list[dict]) -> None:
    """Mark ``pareto`` on points not dominated in (mean_cycles, luts)."""
    for p in points:
        p["pareto"] = p.get("luts") is not None and not any(
            q is not p and q.get("luts") is not None and q["mean_cycles"] <= p["mean_cycles"]
            and q["luts"] <= p["luts"] and (q["mean_cycles"], q["luts"]) != (p["mean_cycles"], p["luts"])
            for q in points)


def sweep(build: flow.Build, lanes_list, *, target: str, out, synthesize: bool = True,
          progress=None) -> dict:
    """For each lane count: mean cycles of the build's images (cycle model on the golden
    trace of every image) and, with ``synthesize``, Yosys resources. Golden runs once."""
    if build.images.golden is None or build.images.traced < len(build.images.pixels):
        flow.golden(build, traced=len(build.images.pixels))
    result = build.images.golden
    points = []
    for done, lanes in enumerate(lanes_list, 1):
        config = HwConfig(lanes=lanes, target=target)
        flow.plan(build, config)
        breakdown = cycles_for_result(build.plan, result)
        point = {"lanes": lanes,
                 "mean_cycles": float(np.mean([b.total for b in breakdown])),
                 "lower_bound": float(np.mean([b.lower_bound for b in breakdown])),
                 "luts": None, "ffs": None, "brams": None}
        if synthesize:
            flow.generate(build, Path(out) / f"rtl_p{lanes}", force=True)
            synth = flow.synthesize_rtl(build.rtl_dir, target, place=False)
            if synth.get("fits"):
                point.update({k: synth["resources"][k] for k in ("luts", "ffs", "brams")})
            point["synth_tool"] = synth.get("synth_tool")
        points.append(point)
        if progress is not None:
            progress(done)
    pareto_front(points)
    return {"target": target, "images": int(len(build.images.pixels)),
            "source": "cycle model (exact) and Yosys synthesis", "points": points}
