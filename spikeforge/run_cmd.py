"""`spikeforge run`: the main job on a shipped model (default: the MNIST MLP).

Loads the shipped checkpoint, converts it again (and checks that the result is the shipped
IR, bit for bit), evaluates the golden model on the whole test set, and writes a run
directory with the IR and ``eval.json``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from spikeforge.shipped import DEFAULT_MODEL, model_dir, shipped_models

__all__ = ["add_parser"]


def add_parser(sub):
    p = sub.add_parser("run", help="the whole flow on a shipped model (the main job)",
                       description="Load a shipped model, convert it, evaluate it with the "
                                   "golden model on the full test set and write a run "
                                   "directory.")
    p.add_argument("--model", default=DEFAULT_MODEL,
                   help=f"shipped model (default: {DEFAULT_MODEL}); one of: "
                        f"{', '.join(shipped_models())}")
    p.add_argument("--out", "-o", default="runs/default", help="run directory (default: runs/default)")
    p.add_argument("--limit", type=int, default=None, help="only the first N test images")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def _log(message):
    print(f"[spikeforge] {message}", file=sys.stderr, flush=True)


def run(args) -> int:
    from spikeforge.convert_cmd import convert_checkpoint
    from spikeforge.evaluation import evaluate_network
    from spikeforge.golden import load
    start = time.time()
    source = model_dir(args.model)
    shipped = load(source / "ir")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    _log(f"converting {source / 'checkpoint.pt'} (weight width "
         f"{shipped.metadata['weight_width']}, neuron {shipped.metadata['hidden_neuron']})")
    network = convert_checkpoint(source / "checkpoint.pt", out / "ir",
                                 weight_width=shipped.metadata["weight_width"],
                                 neuron=shipped.metadata["hidden_neuron"],
                                 calibration_images=(shipped.metadata.get("ctt") or {}).get("images", 0),
                                 ctt_epochs=(shipped.metadata.get("ctt") or {}).get("epochs", 3))
    if network.digest() != shipped.digest():
        raise SystemExit(f"error: converting {source / 'checkpoint.pt'} gave an IR that differs "
                         f"from the shipped {source / 'ir'}; the conversion is not reproducible")
    _log(f"IR {network.digest()[:16]} equals the shipped one; evaluating on "
         f"{network.metadata['dataset']} test")
    report, _, _ = evaluate_network(network, dataset=network.metadata["dataset"], split="test",
                                    limit=args.limit, checkpoint=source / "checkpoint.pt",
                                    progress=not args.quiet)
    report["model"] = args.model
    report["wall_time_s"] = round(time.time() - start, 1)
    (out / "eval.json").write_text(json.dumps(report, indent=2) + "\n")
    acc = report["accuracy"]
    rows = [("model", args.model), ("images", report["images"]),
            ("timesteps", report["timesteps"]),
            ("float ANN", f"{acc['ann_float']:.4f}"), ("quantized ANN", f"{acc['ann_quant']:.4f}"),
            ("integer SNN (golden)", f"{acc['snn_golden']:.4f}"),
            ("spikes / image", f"{report['spikes_per_image']['total']:.1f}"),
            ("synaptic ops / image", f"{report['synops_per_image']['total']:.1f}"),
            ("run directory", str(out))]
    width = max(len(k) for k, _ in rows)
    print("\n".join(f"{k:<{width}}  {v}" for k, v in rows))
    return 0
