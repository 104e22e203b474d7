"""`spikewright regress`: random networks and HwConfigs, RTL against golden, for as long as
you like."""

from __future__ import annotations

import json

from spikewright.commands.args import add_parallel_arguments, progress_bar

__all__ = ["add_parser"]


def add_parser(sub):
    p = sub.add_parser("regress", help="random-network regression on the simulators",
                       description="Generate seeded random networks and HwConfigs (even seeds: "
                                   "dense, odd seeds: conv with grouped convolutions and "
                                   "average pooling; IF and ASG neurons, T from 1 to 8; 1 to 8 "
                                   "events per cycle in dense layers), "
                                   "simulate each on the chosen simulators (with and without "
                                   "gaps and backpressure) and compare with golden.")
    p.add_argument("--seeds", default="0:10", help="START:STOP range of seeds")
    p.add_argument("--simulator", choices=["icarus", "verilator", "both"], default="both",
                   help="HDL simulator(s)")
    p.add_argument("--work-dir", default=None, help="where the cases are written "
                   "(default: a new temporary directory)")
    add_parallel_arguments(p, "cases")
    p.add_argument("--json", dest="json_path", default=None, help="also write the report here")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    from spikewright.flow import prepare_output_file, write_json
    from spikewright.sim.regress import regress
    if args.json_path:
        prepare_output_file(args.json_path)
    try:
        start, stop = (int(v) for v in args.seeds.split(":"))
    except ValueError:
        raise ValueError(f"--seeds must be START:STOP with two integers, "
                         f"not {args.seeds!r}") from None
    if stop <= start:
        raise ValueError(f"--seeds {args.seeds} is empty: STOP must be greater than START")
    simulators = ["icarus", "verilator"] if args.simulator == "both" else [args.simulator]
    with progress_bar(stop - start, "regress", unit="case", quiet=args.quiet) as bar:
        result = regress(range(start, stop), simulators, work_dir=args.work_dir,
                         progress=bar, jobs=args.jobs, scheduler=args.scheduler)
    if args.json_path:
        write_json(args.json_path, result)
    print(json.dumps(result, indent=2))
    return 1 if result["failures"] else 0
