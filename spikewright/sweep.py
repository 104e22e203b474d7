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
          progress=None, fps_list=None, clock_mhz: float = 100.0, place: bool = False) -> dict:
    """For each lane count (sequential designs), or each frame rate ``fps_list`` (dataflow
    designs folded for it at ``clock_mhz``): the mean cycles per result of the build's
    images (``mean_cycles``: the cycle model's cycles per image plus one, or the stream
    model's interval) and, with ``synthesize``, Yosys resources (and with ``place`` the
    placed Fmax and images/s). Golden runs once."""
    if build.images.golden is None or build.images.traced < len(build.images.pixels):
        flow.golden(build, traced=len(build.images.pixels), scans=bool(fps_list))
    result = build.images.golden
    points = []
    designs = ([("fps", f) for f in fps_list] if fps_list else [("lanes", p) for p in lanes_list])
    for done, (kind, value) in enumerate(designs, 1):
        if kind == "fps":
            flow.fold(build, fps=value, config=HwConfig(target=target, clock_mhz=clock_mhz))
            interval = build.results["folding"]["predicted_interval_cycles"]
            point = {"fps_target": value, "lanes": build.plan.config.to_json()["lanes"],
                     "pixels_per_beat": build.plan.config.pixels_per_beat,
                     "mean_cycles": interval}
            name = f"rtl_fps{int(value)}"
        else:
            flow.plan(build, HwConfig(lanes=value, target=target))
            breakdown = cycles_for_result(build.plan, result)
            point = {"lanes": value,
                     "mean_cycles": float(np.mean([b.total for b in breakdown])) + 1,
                     "lower_bound": float(np.mean([b.lower_bound for b in breakdown]))}
            name = f"rtl_p{value}"
        point.update(luts=None, ffs=None, brams=None)
        if synthesize:
            flow.generate(build, Path(out) / name, force=True)
            synth = flow.synthesize_rtl(build.rtl_dir, target, place=place,
                                        clock_mhz=clock_mhz if kind == "fps" else None)
            if synth.get("fits"):
                point.update({k: synth["resources"][k] for k in ("luts", "ffs", "brams")})
                fmax = (synth.get("place_and_route") or {}).get("fmax_mhz")
                if fmax:
                    point.update(fmax_mhz=fmax,
                                 images_per_s=round(fmax * 1e6 / point["mean_cycles"], 1))
            point["synth_tool"] = synth.get("synth_tool")
        points.append(point)
        if progress is not None:
            progress(done)
    pareto_front(points)
    return {"target": target, "images": int(len(build.images.pixels)),
            "source": "cycle or stream model (exact) and Yosys synthesis"
                      + (" and nextpnr" if place else ""), "points": points}
