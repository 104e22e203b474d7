"""`spikeforge regress`: random networks and HwConfigs, RTL against golden, for as long as
you like."""

from __future__ import annotations

import json
import sys

__all__ = ["add_parser"]


def add_parser(sub):
    p = sub.add_parser("regress", help="random-network regression on the simulators",
                       description="Generate seeded random dense networks and HwConfigs, "
                                   "simulate each on the chosen simulators (with and without "
                                   "gaps and backpressure) and compare with golden.")
    p.add_argument("--seeds", default="0:10", help="START:STOP range of seeds (default 0:10)")
    p.add_argument("--simulator", choices=["icarus", "verilator", "both"], default="both")
    p.add_argument("--work-dir", default=None)
    p.add_argument("--json", dest="json_path", default=None)
    p.set_defaults(func=run)


def run(args) -> int:
    from tqdm import tqdm

    from spikeforge.sim.regress import regress
    try:
        start, stop = (int(v) for v in args.seeds.split(":"))
    except ValueError:
        raise SystemExit(f"error: --seeds must be START:STOP, not {args.seeds!r}") from None
    simulators = ["icarus", "verilator"] if args.simulator == "both" else [args.simulator]
    bar = tqdm(total=stop - start, unit="case", desc="regress", file=sys.stderr)
    result = regress(range(start, stop), simulators, work_dir=args.work_dir,
                     progress=lambda seed: bar.update(1))
    bar.close()
    text = json.dumps(result, indent=2)
    if args.json_path:
        open(args.json_path, "w").write(text + "\n")
    print(text)
    return 1 if result["failures"] else 0
