"""A design-space sweep: the exact stream model and synthesis for each lane count or frame
rate, and the Pareto front of resources against cycles."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from spikewright import flow
from spikewright.hdl_gen.config import HwConfig
from spikewright.sim.batches import run_batches

__all__ = ["pareto_front", "sweep", "SynthJob", "run_synth_job", "FOLD_KEYS", "FOLD_CLOCK_MHZ"]

FOLD_KEYS = ("lanes", "kernel_lanes", "events", "pixels_per_beat", "input_buffers")
"""What a folded sweep point records of its design's HwConfig."""

FOLD_CLOCK_MHZ = 100.0
"""The clock a frame-rate sweep folds for unless told (a lane sweep takes HwConfig's)."""


@dataclass(frozen=True)
class SynthJob:
    """One sweep point's synthesis (and place and route): what a worker process needs."""
    rtl_dir: str
    target: str
    place: bool
    clock_mhz: float | None


def run_synth_job(job: SynthJob) -> dict:
    """The synthesis result of one point (module level, so that it can be pickled)."""
    return flow.synthesize_rtl(job.rtl_dir, job.target, place=job.place,
                               clock_mhz=job.clock_mhz)


def pareto_front(points: list[dict]) -> None:
    """Mark ``pareto`` on points not dominated in (mean_cycles, luts)."""
    for p in points:
        p["pareto"] = p.get("luts") is not None and not any(
            q is not p and q.get("luts") is not None and q["mean_cycles"] <= p["mean_cycles"]
            and q["luts"] <= p["luts"] and (q["mean_cycles"], q["luts"]) != (p["mean_cycles"], p["luts"])
            for q in points)


def sweep(build: flow.Build, lanes_list, *, target: str, out, synthesize: bool = True,
          progress=None, fps_list=None, clock_mhz: float | None = None, place: bool = False,
          jobs: int = 1, scheduler: str | None = None) -> dict:
    """For each lane count (every layer), or each frame rate ``fps_list`` (designs folded for
    it at ``clock_mhz``): the mean cycles between results of the build's images streamed
    back to back (``mean_cycles``: the stream model's interval) and, with ``synthesize``, Yosys resources (and with ``place`` the
    placed Fmax and images/s). Golden runs once; the designs are generated here, then
    synthesized ``jobs`` at a time in local processes (or on the Dask cluster at
    ``scheduler``); ``progress(done)`` counts the points finished."""
    if build.images.golden is None or build.images.traced < len(build.images.pixels):
        flow.golden(build, traced=len(build.images.pixels), scans=bool(fps_list))
    points, synth_jobs = [], []
    designs = ([("fps", f) for f in fps_list] if fps_list else [("lanes", p) for p in lanes_list])
    if clock_mhz is None:
        clock_mhz = FOLD_CLOCK_MHZ if fps_list else HwConfig().clock_mhz
    for kind, value in designs:
        if kind == "fps":
            flow.fold(build, fps=value, config=HwConfig(target=target, clock_mhz=clock_mhz))
            interval = build.results["folding"]["predicted_interval_cycles"]
            folded = build.plan.config.to_json()
            point = {"fps_target": value, **{key: folded[key] for key in FOLD_KEYS},
                     "mean_cycles": interval}
            name = f"rtl_fps{int(value)}"
        else:
            flow.plan(build, HwConfig(lanes=value, target=target, clock_mhz=clock_mhz))
            point = {"lanes": value, "mean_cycles": flow.stream_timing(build).interval}
            name = f"rtl_p{value}"
        point.update(luts=None, ffs=None, brams=None)
        if synthesize:
            flow.generate(build, Path(out) / name, force=True)
            synth_jobs.append(SynthJob(str(build.rtl_dir), target, place,
                                       clock_mhz))
        points.append(point)
        if progress is not None and not synthesize:
            progress(len(points))
    for done, (index, synth) in enumerate(run_batches(run_synth_job, synth_jobs,
                                                      processes=jobs, scheduler=scheduler), 1):
        point = points[index]
        if synth.get("fits"):
            point.update({k: synth["resources"][k] for k in ("luts", "ffs", "brams")})
            fmax = (synth.get("place_and_route") or {}).get("fmax_mhz")
            if fmax:
                point.update(fmax_mhz=fmax,
                             images_per_s=round(fmax * 1e6 / point["mean_cycles"], 1))
        point["synth_tool"] = synth.get("synth_tool")
        point["synth_s"] = synth.get("synth_s")
        point["pnr_s"] = (synth.get("place_and_route") or {}).get("pnr_s")
        if progress is not None:
            progress(done)
    pareto_front(points)
    return {"target": target, "images": int(len(build.images.pixels)),
            "source": "stream model (exact) and Yosys synthesis"
                      + (" and nextpnr" if place else ""), "points": points}
