"""`spikeforge verify`: the generated RTL against golden in a real simulator (cocotb)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from spikeforge.shipped import resolve_network

__all__ = ["add_parser"]


def add_parser(sub):
    p = sub.add_parser("verify", help="simulate the RTL and compare it with golden",
                       description="Run images through the generated RTL with cocotb on Icarus "
                                   "or Verilator; every class, logit, spike and (with no gaps "
                                   "or backpressure) cycle count must equal golden and the "
                                   "cycle model.")
    p.add_argument("network", help="IR directory, or the name of a shipped model")
    p.add_argument("rtl", help="directory written by `spikeforge generate`")
    p.add_argument("--simulator", choices=["icarus", "verilator"], default="verilator")
    p.add_argument("--images", type=int, default=100, help="number of test images (default 100)")
    p.add_argument("--first", type=int, default=0,
                   help="index of the first image (default 0), to split a long run")
    p.add_argument("--bench", choices=["cocotb", "harness"], default="cocotb",
                   help="cocotb: the cocotb testbench (default); harness: the same checks "
                        "with stimulus and logging inside the simulator, ~10x faster on "
                        "Verilator (see sim/harness.py)")
    p.add_argument("--dataset", default=None, help="default: the IR's dataset")
    p.add_argument("--split", choices=["train", "test"], default="test")
    p.add_argument("--data-root", default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--input-gaps", type=float, default=0.0,
                   help="probability of an idle cycle before each pixel (default 0)")
    p.add_argument("--backpressure", type=float, default=0.0,
                   help="probability of holding result ready low each cycle (default 0)")
    p.add_argument("--batch-size", type=int, default=500, help="images per simulator run")
    p.add_argument("--build-root", default=None, help="where builds are kept "
                   "(default: ~/.cache/spikeforge/sim)")
    p.add_argument("--json", dest="json_path", default=None, help="write the report here")
    p.add_argument("--quiet", "-q", action="store_true")
    p.set_defaults(func=run)


def run(args) -> int:
    from tqdm import tqdm

    from spikeforge.golden import load
    from spikeforge.golden.datasets import load_dataset
    from spikeforge.sim.verify import verify
    ir_dir = resolve_network(args.network)
    network = load(ir_dir)
    manifest = json.loads((Path(args.rtl) / "manifest.json").read_text())
    if manifest["ir_digest"] != network.digest():
        raise SystemExit(f"error: {args.rtl} was generated from another IR (digest "
                         f"{manifest['ir_digest'][:16]}, this IR {network.digest()[:16]})")
    dataset = args.dataset or network.metadata.get("dataset")
    if args.first < 0 or args.images < 1:
        raise SystemExit(f"error: --first must be >= 0 and --images >= 1, not {args.first} "
                         f"and {args.images}")
    pixels, labels = load_dataset(dataset, args.split, args.data_root, args.first + args.images)
    pixels, labels = pixels[args.first:], labels[args.first:]
    if len(pixels) == 0:
        raise SystemExit(f"error: --first {args.first} is past the end of the {args.split} "
                         f"split")
    bar = tqdm(total=len(pixels), unit="img", desc=f"verify {args.simulator}",
               file=sys.stderr, disable=args.quiet)
    report = verify(args.rtl, ir_dir, pixels, simulator=args.simulator, seed=args.seed,
                    input_gaps=args.input_gaps, backpressure=args.backpressure,
                    batch_size=args.batch_size, build_root=args.build_root, bench=args.bench,
                    progress=lambda done, total: bar.update(done - bar.n))
    bar.close()
    classes, golden = report.pop("classes"), report.pop("golden_classes")
    report["rtl_accuracy"] = float((labels[:len(classes)] == classes).mean())
    report["golden_accuracy"] = float((labels[:len(golden)] == golden).mean())
    report.update(network=str(ir_dir), rtl=str(args.rtl), dataset=dataset, split=args.split,
                  first_image=args.first)
    text = json.dumps(report, indent=2)
    if args.json_path:
        Path(args.json_path).write_text(text + "\n")
    print(text)
    return 0 if report["mismatches"] == 0 and not report["cycle_mismatches"] else 1
