"""`spikeforge eval`: accuracy, spikes and synaptic operations of an IR on a dataset."""

from __future__ import annotations

import json
from pathlib import Path

from spikeforge.shipped import resolve_network

__all__ = ["add_parser"]


def add_parser(sub):
    p = sub.add_parser("eval", help="evaluate an IR with the golden model",
                       description="Run the bit-exact golden model on a dataset split and "
                                   "report accuracy (and the ANN's, where the checkpoint is "
                                   "known), spikes and synaptic operations per image.")
    p.add_argument("network", help="IR directory, or the name of a shipped model")
    p.add_argument("--dataset", default=None, help="default: the one the IR was trained on")
    p.add_argument("--split", choices=["train", "test"], default="test")
    p.add_argument("--limit", type=int, default=None, help="only the first N images")
    p.add_argument("--data-root", default=None, help="directory of CIFAR pickle files")
    p.add_argument("--checkpoint", default=None,
                   help="ANN checkpoint (default: the one named in the IR's metadata)")
    p.add_argument("--json", dest="json_path", default=None, help="write the report here")
    p.add_argument("--dump", default=None, help="write logits.npy and labels.npy here")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    from spikeforge.evaluation import checkpoint_of, dump, evaluate_network
    from spikeforge.golden import load
    ir_dir = resolve_network(args.network)
    network = load(ir_dir)
    dataset = args.dataset or network.metadata.get("dataset")
    if not dataset:
        raise SystemExit("error: the IR does not name its dataset; pass --dataset")
    checkpoint = Path(args.checkpoint) if args.checkpoint else checkpoint_of(network, ir_dir)
    report, result, labels = evaluate_network(network, dataset=dataset, split=args.split,
                                              limit=args.limit, data_root=args.data_root,
                                              checkpoint=checkpoint, progress=not args.quiet)
    report["network"] = str(ir_dir)
    text = json.dumps(report, indent=2)
    if args.json_path:
        Path(args.json_path).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json_path).write_text(text + "\n")
    if args.dump:
        dump(Path(args.dump), result, labels)
    print(text)
    return 0
