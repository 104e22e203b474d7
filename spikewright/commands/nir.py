"""`spikewright nir export|import`: the IR as a NIR graph (golden.nir_io) and back."""

from __future__ import annotations

import json

from spikewright.commands.args import at_least, weight_width

__all__ = ["add_parser"]


def add_parser(sub):
    p = sub.add_parser("nir", help="export an IR as a NIR graph, or import one",
                       description="NIR, the Neuromorphic Intermediate Representation: "
                                   "export an IR as a NIR graph (integers exact, the IR in "
                                   "the graph metadata), or import a graph as an IR "
                                   "(docs/nir.md).")
    commands = p.add_subparsers(dest="nir_command", required=True,
                                               metavar="export|import")
    export = commands.add_parser("export", help="write a network as a NIR file")
    export.add_argument("network", help="IR directory, or the name of a shipped model")
    export.add_argument("file", help="NIR file to write (HDF5, .nir)")
    export.set_defaults(func=run_export)
    imp = commands.add_parser("import", help="read a NIR file into an IR directory")
    imp.add_argument("file", help="NIR file (HDF5)")
    imp.add_argument("--out", "-o", required=True, help="IR directory to write")
    imp.add_argument("--timesteps", "-T", type=at_least(1), default=None,
                     help="window length T of the VR input encoder (needed for graphs "
                          "without spikewright metadata)")
    imp.add_argument("--k", type=at_least(1), default=None,
                     help="VR encoder factor k; pixels saturate at T/k (default: 4 T)")
    imp.add_argument("--weight-width", type=weight_width, default=8,
                     help="signed bits that float weights are quantized to")
    imp.add_argument("--dataset", default=None,
                     help="dataset the network classifies, recorded in its metadata")
    imp.add_argument("--ignore-metadata", action="store_true",
                     help="read a spikewright graph as any other (from its nodes only)")
    imp.add_argument("--force", action="store_true",
                     help="write into a directory that holds other files")
    imp.set_defaults(func=run_import)


def run_export(args) -> int:
    from spikewright import flow
    build = flow.load(args.network)
    path = flow.prepare_output_file(args.file)
    flow.nir_export(build, path)
    print(json.dumps(build.results["nir_export"], indent=2))
    return 0


def run_import(args) -> int:
    from spikewright import flow
    build = flow.nir_import(args.file, args.out, timesteps=args.timesteps, k=args.k,
                            weight_width=args.weight_width, dataset=args.dataset,
                            use_metadata=not args.ignore_metadata, force=args.force)
    print(json.dumps({"ir": str(args.out), "network_digest": build.network.digest(),
                      **build.results["nir_import"]}, indent=2))
    return 0
