"""`spikewright verify`: the generated RTL against golden in a real simulator."""

from __future__ import annotations

import json

from spikewright.commands.args import (add_data_root_argument, add_parallel_arguments,
                                       at_least, progress_bar)

__all__ = ["add_parser"]


def add_parser(sub):
    p = sub.add_parser("verify", help="simulate the RTL and compare it with golden",
                       description="Run images through the generated RTL on Icarus or "
                                   "Verilator; every class, logit, spike and (with no gaps or "
                                   "backpressure) result cycle must equal golden and the "
                                   "stream model. The RTL must have been generated from NETWORK.")
    p.add_argument("network", help="IR directory, or the name of a shipped model")
    p.add_argument("rtl", help="directory written by `spikewright generate`")
    p.add_argument("--simulator", choices=["icarus", "verilator"], default="verilator",
                   help="HDL simulator")
    p.add_argument("--images", type=at_least(1), default=100, help="number of images")
    p.add_argument("--first", type=at_least(0), default=0,
                   help="index of the first image, to split a long run")
    p.add_argument("--bench", choices=["cocotb", "axis", "harness", "amaranth"],
                   default="cocotb",
                   help="cocotb: the cocotb testbench; axis: the same through the AXI4-Stream "
                        "top (spikewright_axis.v); harness: stimulus and logging inside "
                        "the simulator, ~10x faster on Verilator; amaranth: Amaranth's own "
                        "simulator (no HDL simulator; small networks)")
    p.add_argument("--dataset", default=None,
                   help="dataset, or a .npy file of your own uint8 images [N, C, H, W] "
                        "(labels, where known, in NAME.labels.npy beside it) (default: the "
                        "IR's)")
    p.add_argument("--split", choices=["train", "test", "validation"], default="test",
                   help="dataset split (validation: the end of train that `train` holds "
                        "out) (default: test)")
    add_data_root_argument(p)
    p.add_argument("--seed", type=int, default=0, help="seed of the gaps and stalls")
    p.add_argument("--input-gaps", type=float, default=0.0,
                   help="probability of an idle cycle before each pixel")
    p.add_argument("--backpressure", type=float, default=0.0,
                   help="probability of holding result ready low each cycle")
    p.add_argument("--batch-size", type=at_least(1), default=500, help="images per simulator run")
    p.add_argument("--build-root", default=None,
                   help="where simulator builds are kept (default: ~/.cache/spikewright/sim)")
    add_parallel_arguments(p, "batches")
    p.add_argument("--json", dest="json_path", default=None,
                   help="also write the report here; each batch's report is kept in "
                        "JSON.batches/ for --resume")
    p.add_argument("--resume", action="store_true",
                   help="take the batches already verified from JSON.batches/ (same design, "
                        "images and options) and run only the others")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    from spikewright import flow
    if args.images < 1:
        raise ValueError(f"--images must be at least 1, not {args.images}")
    if args.resume and not args.json_path:
        raise ValueError("--resume continues the run whose report --json names (its batches "
                         "are kept in JSON.batches/); give --json")
    if args.json_path:
        flow.prepare_output_file(args.json_path)
    build = flow.load(args.network)
    from spikewright.sim.verify import check_design
    check_design(args.rtl, build.network)
    flow.images(build, dataset=args.dataset, split=args.split, limit=args.images,
                first=args.first, data_root=args.data_root)
    count = len(build.images.pixels)
    # the simulator builds while golden runs; batches on a Dask cluster build on its workers
    building = None if args.scheduler else flow.start_simulator_build(
        args.rtl, bench=args.bench, simulator=args.simulator, build_root=args.build_root)
    flow.golden(build, traced=count)
    built = building.result() if building is not None else None
    with progress_bar(count, f"verify {args.bench} {args.simulator}", quiet=args.quiet) as bar:
        flow.verify(build, args.rtl, simulator=args.simulator, bench=args.bench, seed=args.seed,
                    input_gaps=args.input_gaps, backpressure=args.backpressure,
                    batch_size=args.batch_size, build_root=args.build_root, progress=bar,
                    jobs=args.jobs, scheduler=args.scheduler, resume=args.resume,
                    build_s=built.seconds if built is not None else 0.0,
                    batch_dir=f"{args.json_path}.batches" if args.json_path else None,
                    partial=(lambda report: flow.write_json(args.json_path, report))
                    if args.json_path else None)
    report = build.results["verify"]
    if args.json_path:
        flow.write_json(args.json_path, report)
    print(json.dumps(report, indent=2))
    return 0 if report["mismatches"] == 0 and not report["cycle_mismatches"] else 1
