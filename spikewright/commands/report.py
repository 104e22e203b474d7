"""`spikewright report`: report.json and report.html of a run directory."""

from __future__ import annotations

import json

__all__ = ["add_parser"]


def add_parser(sub):
    p = sub.add_parser("report", help="write report.json and report.html of a run directory",
                       description="Collect the JSON results of a run directory (eval.json, "
                                   "stream.json, verify.json, synth_*.json, ...) into "
                                   "report.json and a self-contained report.html.")
    p.add_argument("run_dir", help="directory written by `spikewright run`")
    p.set_defaults(func=run)


def run(args) -> int:
    from spikewright.report import write_report
    json_path, html_path = write_report(args.run_dir)
    print(json.dumps({"json": str(json_path), "html": str(html_path)}))
    return 0
