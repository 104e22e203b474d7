"""`spikewright eval`: accuracy, spikes and synaptic operations of an IR on a dataset."""

from __future__ import annotations

import json
from pathlib import Path

from spikewright.commands.args import add_data_root_argument, at_least, progress_bar

__all__ = ["add_parser"]


def add_parser(sub):
    p = sub.add_parser("eval", help="evaluate an IR with the golden model",
                       description="Run the bit-exact golden model on a dataset split and "
                                   "report accuracy (and the ANN's, where the checkpoint is "
                                   "known), spikes and synaptic operations per image.")
    p.add_argument("network", help="IR directory, or the name of a shipped model")
    p.add_argument("--dataset", default=None,
                   help="dataset, or a .npy file of your own uint8 images [N, C, H, W] "
                        "(labels, where known, in NAME.labels.npy beside it) (default: the "
                        "IR's)")
    p.add_argument("--split", choices=["train", "test", "validation"], default="test",
                   help="dataset split (validation: the end of train that `train` holds "
                        "out) (default: test)")
    p.add_argument("--limit", type=at_least(1), default=None, help="only the first N images")
    add_data_root_argument(p)
    p.add_argument("--checkpoint", default=None,
                   help="ANN checkpoint (default: the one named in the IR's metadata)")
    p.add_argument("--json", dest="json_path", default=None, help="also write the report here")
    p.add_argument("--dump", default=None, help="write logits.npy and labels.npy here")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    import numpy as np

    from spikewright import flow
    if args.json_path:
        flow.prepare_output_file(args.json_path)
    if args.dump:
        flow.prepare_output_file(Path(args.dump) / "logits.npy")
    build = flow.load(args.network)
    if args.checkpoint:
        flow.use_checkpoint(build, args.checkpoint)
    flow.images(build, dataset=args.dataset, split=args.split, limit=args.limit,
                data_root=args.data_root)
    with progress_bar(len(build.images.pixels), "golden", quiet=args.quiet) as bar:
        flow.golden(build, progress=bar)
    flow.evaluate(build)
    report = build.results["eval"]
    if args.json_path:
        flow.write_json(args.json_path, report)
    if args.dump:
        dump = Path(args.dump)
        dump.mkdir(parents=True, exist_ok=True)
        np.save(dump / "logits.npy", build.images.golden.logits.astype(np.int64))
        if build.images.labels is not None:
            np.save(dump / "labels.npy", np.asarray(build.images.labels, dtype=np.int64))
    print(json.dumps(report, indent=2))
    return 0
