"""Cells per stage of each shipped design, so that a change that grows a stage shows in
review: every shipped model generated from its hw_config.json, synthesized once with its
hierarchy kept (:func:`spikewright.synth.stage_cells`), printed as a table and written to
docs/stage_cells.json and docs/stage-cells.md. tests/test_board_fit.py compares the
iCEBreaker design's stages with the committed table on every run.

Run: .venv/bin/python bench/stage_cells.py [--model M ...] (default: every shipped model;
the seed CNN takes several minutes)
"""

import argparse
import json
import tempfile
from pathlib import Path

from spikewright.golden import load
from spikewright.hdl_gen.config import HwConfig
from spikewright.hdl_gen.emit import generate, write_files
from spikewright.hdl_gen.plan import make_plan
from spikewright.shipped import model_dir, shipped_hw_config, shipped_models
from spikewright.synth import STAGE_SCRIPTS, stage_cells

DOCS = Path(__file__).resolve().parent.parent / "docs"
TABLE_JSON, TABLE_MD = DOCS / "stage_cells.json", DOCS / "stage-cells.md"
COLUMNS = ("luts", "ffs", "carry_cells", "brams", "sprams")


def cells_of_shipped(name: str, work: Path) -> dict:
    """``{"target", "stages": stage_cells(...)}`` of a shipped model's own design."""
    config = HwConfig.from_json(shipped_hw_config(name))
    network = load(model_dir(name) / "ir")
    rtl = write_files(generate(network, plan=make_plan(network, config)), work / "rtl")
    return {"target": config.target,
            "stages": stage_cells(rtl, config.target, work / "stages")}


def markdown(table: dict) -> str:
    lines = ["# Cells per stage of the shipped designs", "",
             "Written by `bench/stage_cells.py` (do not edit): each shipped model's own design",
             "(its `hw_config.json`), synthesized once with its hierarchy kept. The mapping is",
             "not the one synthesis uses (`spikewright.synth.STAGE_SCRIPTS`: on the iCE40, Yosys's",
             "built-in LUT mapping, about 30% more LUT4 than abc9), so compare the rows with",
             "each other and with earlier tables, not with placed figures.", ""]
    for name, entry in table.items():
        lines += [f"## {name} ({entry['target']})", "",
                  "| stage | " + " | ".join(COLUMNS) + " |",
                  "|---|" + "---|" * len(COLUMNS)]
        stages = entry["stages"]
        for stage, counts in stages.items():
            lines.append(f"| {stage} | " + " | ".join(str(counts.get(c, "")) for c in COLUMNS)
                         + " |")
        lines.append("| **total** | " + " | ".join(
            str(sum(s.get(c, 0) for s in stages.values())) for c in COLUMNS) + " |")
        lines.append("")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", default=None,
                        help="a shipped model (repeatable; default: every one)")
    args = parser.parse_args()
    table = json.loads(TABLE_JSON.read_text()) if TABLE_JSON.is_file() else {}
    for name in args.model or shipped_models():
        if HwConfig.from_json(shipped_hw_config(name)).target not in STAGE_SCRIPTS:
            continue
        with tempfile.TemporaryDirectory() as work:
            table[name] = cells_of_shipped(name, Path(work))
        print(f"{name}:")
        for stage, counts in table[name]["stages"].items():
            print(f"  {stage:12s} " + "  ".join(f"{c} {counts.get(c, 0):6d}" for c in COLUMNS))
    table = dict(sorted(table.items()))
    TABLE_JSON.write_text(json.dumps(table, indent=2) + "\n")
    TABLE_MD.write_text(markdown(table))


if __name__ == "__main__":
    main()
