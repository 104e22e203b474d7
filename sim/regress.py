"""Seeded random-network regression: random dense IRs and HwConfigs, RTL against golden."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from spikewright.golden import save
from spikewright.golden.random_network import random_dense_network, random_pixels
from spikewright.hdl_gen.config import HwConfig
from spikewright.hdl_gen.emit import generate, write_files
from spikewright.hdl_gen.plan import make_plan

from .expected import expected_for
from .verify import run_images

__all__ = ["random_case", "regress"]


def random_case(seed: int):
    """The network, HwConfig and pixels of regression case ``seed``."""
    rng = np.random.default_rng(seed)
    network = random_dense_network(rng, max_width=16)
    names = [layer.name for layer in network.weighted_layers]
    if rng.random() < 0.5:
        config = HwConfig(lanes=int(rng.integers(1, 9)))
    else:
        config = HwConfig(lanes={n: int(rng.integers(1, 9)) for n in names},
                          default_lanes=1)
    return network, config, random_pixels(rng, network, int(rng.integers(2, 8)))


def regress(seeds, simulators, *, work_dir=None, build_root=None, progress=None) -> dict:
    """Run every case on every simulator; return the failures and the counts."""
    work = Path(work_dir or tempfile.mkdtemp(prefix="spikewright-regress-"))
    failures, images, cases = [], 0, 0
    for seed in seeds:
        cases += 1
        network, config, pixels = random_case(seed)
        case = work / f"case{seed}"
        plan = make_plan(network, config)
        expected = expected_for(plan, pixels)
        save(network, case / "ir")
        write_files(generate(network, plan=plan), case / "rtl")
        for simulator in simulators:
            for gaps in (0.0, 0.3):
                report = run_images(case / "rtl", plan, pixels, simulator=simulator,
                                    expected=expected, seed=seed, input_gaps=gaps,
                                    backpressure=gaps, build_root=build_root)
                images += report["images"]
                if report["mismatches"] or report["cycle_mismatches"]:
                    failures.append({"seed": seed, "simulator": simulator, "gaps": gaps,
                                     "first_mismatch": report["first_mismatch"]})
        if progress is not None:
            progress(seed)
    return {"cases": cases, "simulators": list(simulators), "images": images,
            "failures": failures}
