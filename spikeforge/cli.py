"""The `spikeforge` command line."""

from __future__ import annotations

import argparse
import sys

from spikeforge import (__version__, convert_cmd, eval_cmd, generate_cmd, regress_cmd, run_cmd,
                        synth_cmd, train_cmd, verify_cmd)

__all__ = ["main", "build_parser", "entry"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spikeforge",
        description="From a PyTorch network to a bit-exact, verified spiking FPGA core.")
    parser.add_argument("--version", action="version", version=f"spikeforge {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    train_cmd.add_parser(sub)
    convert_cmd.add_parser(sub)
    eval_cmd.add_parser(sub)
    generate_cmd.add_parser(sub)
    verify_cmd.add_parser(sub)
    synth_cmd.add_parsers(sub)
    regress_cmd.add_parser(sub)
    run_cmd.add_parser(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


def entry() -> None:
    """The console script: domain errors (bad input, missing data or tools) become one
    ``spikeforge: error: ...`` line and exit status 2 instead of a traceback."""
    from spikeforge.sim.simulators import SimulatorError
    try:
        sys.exit(main())
    except (ValueError, FileNotFoundError, SimulatorError) as error:
        print(f"spikeforge: error: {error}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    entry()
