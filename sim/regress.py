"""Seeded random-network regression: random IRs and HwConfigs, RTL against golden. Even
seeds are dense designs, odd seeds conv designs (grouped convolutions and average pooling
among them); IF and ASG neurons mixed, T from 1 to 8; the cases run in this process, over
local processes, or on a Dask cluster."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from spikewright.golden import save
from spikewright.golden.random_network import (random_conv_network, random_dense_network,
                                               random_pixels)
from spikewright.hdl_gen.config import HwConfig
from spikewright.hdl_gen.emit import generate, write_files
from spikewright.hdl_gen.plan import make_plan

from .batches import run_batches
from .expected import expected_for
from .verify import run_images

__all__ = ["random_case", "regress", "RegressJob", "run_case"]


def random_case(seed: int):
    """The network, HwConfig and pixels of regression case ``seed``."""
    rng = np.random.default_rng(seed)
    events = int(np.random.default_rng([seed, 1]).choice([1, 1, 2, 4, 8]))  # dense layers
    timesteps = int(rng.integers(1, 9))
    if seed % 2 == 0:
        network = random_dense_network(rng, max_width=12, timesteps=timesteps)
        positions = network.input.shape[1] * network.input.shape[2]
        beat = int(rng.choice([b for b in (1, 2, 4) if positions % b == 0]))
        config = HwConfig(lanes=int(rng.integers(1, 6)), pixels_per_beat=beat, events=events)
        return network, config, random_pixels(rng, network, int(rng.integers(2, 6)))
    network = random_conv_network(rng, timesteps=timesteps, grouped=True, pooling=True)
    names = [layer.name for layer in network.weighted_layers]
    dense = [layer.name for layer in network.weighted_layers if layer.kind == "dense"]
    config = HwConfig(lanes={n: int(rng.integers(1, 5)) for n in names},
                      kernel_lanes={n: int(rng.integers(1, 5)) for n in names[:-1]},
                      events={n: events for n in dense})
    return network, config, random_pixels(rng, network, int(rng.integers(2, 5)))


@dataclass(frozen=True)
class RegressJob:
    """One case: what a worker process needs to run it."""
    seed: int
    simulators: tuple
    work_dir: str
    build_root: str | None


def run_case(job: RegressJob) -> dict:
    """Run case ``job.seed`` on every simulator, without and with gaps and backpressure:
    ``{"images", "failures"}`` (module level, so that it can be pickled)."""
    network, config, pixels = random_case(job.seed)
    case = Path(job.work_dir) / f"case{job.seed}"
    plan = make_plan(network, config)
    expected = expected_for(plan, pixels)
    save(network, case / "ir")
    write_files(generate(network, plan=plan), case / "rtl")
    images, failures = 0, []
    for simulator in job.simulators:
        for gaps in (0.0, 0.3):
            report = run_images(case / "rtl", plan, pixels, simulator=simulator,
                                expected=expected, seed=job.seed, input_gaps=gaps,
                                backpressure=gaps, build_root=job.build_root)
            images += report["images"]
            if report["mismatches"] or report["cycle_mismatches"]:
                failures.append({"seed": job.seed, "simulator": simulator, "gaps": gaps,
                                 "first_mismatch": report["first_mismatch"]})
    return {"images": images, "failures": failures}


def regress(seeds, simulators, *, work_dir=None, build_root=None, progress=None,
            jobs: int = 1, scheduler: str | None = None) -> dict:
    """Run every case on every simulator, ``jobs`` cases at a time in local processes (or
    on the Dask cluster at ``scheduler``); return the failures and the counts.
    ``progress(done, failures=F)`` is called as each case finishes."""
    work = Path(work_dir or tempfile.mkdtemp(prefix="spikewright-regress-"))
    cases = [RegressJob(seed, tuple(simulators), str(work),
                        None if build_root is None else str(build_root)) for seed in seeds]
    results = [None] * len(cases)
    failed = 0
    for done, (index, result) in enumerate(run_batches(run_case, cases, processes=jobs,
                                                       scheduler=scheduler), 1):
        results[index] = result
        failed += len(result["failures"])
        if progress is not None:
            progress(done, failures=failed)
    return {"cases": len(cases), "simulators": list(simulators),
            "images": sum(r["images"] for r in results),
            "failures": [f for r in results for f in r["failures"]]}
