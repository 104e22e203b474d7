"""`spikeforge synth`, `spikeforge report` and `spikeforge sweep`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from spikeforge.shipped import resolve_network

__all__ = ["add_parsers", "pareto_front"]


def add_parsers(sub):
    from spikeforge.synth import FLOWS
    p = sub.add_parser("synth", help="synthesize (and place and route) generated RTL",
                       description="Yosys synthesis and, for iCE40 and ECP5, nextpnr place and "
                                   "route; resources from stat -json, Fmax from nextpnr.")
    p.add_argument("rtl", help="directory written by `spikeforge generate`")
    p.add_argument("--target", choices=list(FLOWS), default="ecp5-85k")
    p.add_argument("--work-dir", default=None, help="tool files (default: RTL/synth/TARGET)")
    p.add_argument("--no-place", action="store_true", help="synthesis only")
    p.add_argument("--clock-mhz", type=float, default=None,
                   help="timing target (default: the manifest's)")
    p.add_argument("--lutram-max-bits", type=int, default=0,
                   help="map memories of at most this many bits to LUT RAM instead of block "
                        "RAM (default 0: the tools decide); the Verilog is unchanged")
    p.add_argument("--json", dest="json_path", default=None)
    p.set_defaults(func=run_synth)

    p = sub.add_parser("report", help="write report.json and report.html of a run directory")
    p.add_argument("run_dir")
    p.set_defaults(func=run_report)

    p = sub.add_parser("sweep", help="cycles and synthesis against lanes P (Pareto front)",
                       description="For each lane count: the exact cycle model over test "
                                   "images and Yosys synthesis; marks the Pareto front of LUTs "
                                   "against mean cycles.")
    p.add_argument("network", help="IR directory, or the name of a shipped model")
    p.add_argument("--lanes", default="1,2,4,8,16,32", help="comma-separated lane counts")
    p.add_argument("--target", choices=list(FLOWS), default="ecp5-85k")
    p.add_argument("--images", type=int, default=1000, help="test images for the cycle model")
    p.add_argument("--no-synth", action="store_true", help="cycle model only")
    p.add_argument("--out", "-o", required=True, help="directory for sweep.json and the RTL")
    p.set_defaults(func=run_sweep)


def run_synth(args) -> int:
    from spikeforge.synth import synthesize
    manifest = json.loads((Path(args.rtl) / "manifest.json").read_text())
    work = Path(args.work_dir) if args.work_dir else Path(args.rtl) / "synth" / args.target
    print(f"[spikeforge] synthesizing {args.rtl} for {args.target}", file=sys.stderr, flush=True)
    result = synthesize(args.rtl, args.target, work, place=not args.no_place,
                        clock_mhz=args.clock_mhz or manifest["hw_config"]["clock_mhz"],
                        memory_style=manifest["hw_config"]["memory_style"],
                        lutram_max_bits=args.lutram_max_bits)
    text = json.dumps(result, indent=2)
    if args.json_path:
        Path(args.json_path).write_text(text + "\n")
    print(text)
    return 0


def run_report(args) -> int:
    from spikeforge.report import write_report
    json_path, html_path = write_report(args.run_dir)
    print(json.dumps({"json": str(json_path), "html": str(html_path)}))
    return 0


def pareto_front(points: list[dict]) -> None:
    """Mark ``pareto`` on points not dominated in (mean_cycles, luts)."""
    for p in points:
        p["pareto"] = p.get("luts") is not None and not any(
            q is not p and q.get("luts") is not None and q["mean_cycles"] <= p["mean_cycles"]
            and q["luts"] <= p["luts"] and (q["mean_cycles"], q["luts"]) != (p["mean_cycles"], p["luts"])
            for q in points)


def run_sweep(args) -> int:
    import numpy as np
    from tqdm import tqdm

    from spikeforge.golden import load, model
    from spikeforge.golden.datasets import load_dataset
    from spikeforge.hdl_gen.config import HwConfig
    from spikeforge.hdl_gen.cycle_model import cycles_for_result
    from spikeforge.hdl_gen.emit import generate, write_files
    from spikeforge.hdl_gen.plan import make_plan
    from spikeforge.synth import synthesize
    network = load(resolve_network(args.network))
    pixels, _ = load_dataset(network.metadata["dataset"], "test", limit=args.images)
    result = model.run(network, pixels, trace=True)
    out = Path(args.out)
    points = []
    lanes_list = [int(p) for p in args.lanes.split(",")]
    for lanes in tqdm(lanes_list, desc="sweep", unit="point", file=sys.stderr):
        config = HwConfig(lanes=lanes, target=args.target)
        breakdown = cycles_for_result(make_plan(network, config), result)
        point = {"lanes": lanes,
                 "mean_cycles": float(np.mean([b.total for b in breakdown])),
                 "lower_bound": float(np.mean([b.lower_bound for b in breakdown])),
                 "luts": None, "ffs": None, "brams": None}
        if not args.no_synth:
            rtl = out / f"rtl_p{lanes}"
            write_files(generate(network, config), rtl)
            synth = synthesize(rtl, args.target, rtl / "synth" / args.target, place=False)
            if synth.get("fits"):
                point.update({k: synth["resources"][k] for k in ("luts", "ffs", "brams")})
            point["synth_tool"] = synth.get("synth_tool")
        points.append(point)
    pareto_front(points)
    sweep = {"target": args.target, "images": int(len(pixels)),
             "source": "cycle model (exact) and Yosys synthesis", "points": points}
    out.mkdir(parents=True, exist_ok=True)
    (out / "sweep.json").write_text(json.dumps(sweep, indent=2) + "\n")
    print(json.dumps(sweep, indent=2))
    return 0
