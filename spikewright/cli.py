"""The `spikewright` command line: thin parsers over :mod:`spikewright.flow`."""

from __future__ import annotations

import argparse
import sys

from spikewright import __version__
from spikewright.commands import (board, build, convert, evaluate, generate, import_torch, nir,
                                  regress, report, run, sweep, synth, train, verify)

__all__ = ["main", "build_parser", "entry", "failure"]

COMMANDS = (train, import_torch, convert, evaluate, generate, verify, synth, report, sweep, regress,
            run, nir, build, board)


class _OneLineParser(argparse.ArgumentParser):
    """A usage error ends in one line, as every other error does (argparse prints the usage
    first): the command, what was wrong, and where the options are listed."""

    def error(self, message):
        command = self.prog.partition(" ")[2]
        where = f"{command}: " if command else ""
        self.exit(2, f"spikewright: error: {where}{message} (see `{self.prog} --help`)\n")


class _DefaultsFormatter(argparse.HelpFormatter):
    """Shows each option's default, unless it is None or its help already says it."""

    def _get_help_string(self, action):
        help_text = action.help or ""
        if ("default" in help_text or action.default is None or action.default is False
                or action.default == argparse.SUPPRESS or not action.option_strings):
            return help_text
        return f"{help_text} (default: %(default)s)"


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog="spikewright",
        description="From a PyTorch network to a bit-exact, verified spiking FPGA core.")
    parser.add_argument("--version", action="version", version=f"spikewright {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub)
    for choice in sub.choices.values():
        choice.formatter_class = _DefaultsFormatter
        for action in choice._actions:
            if isinstance(action, argparse._SubParsersAction):
                for nested in action.choices.values():
                    nested.formatter_class = _DefaultsFormatter
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


def failure(error: BaseException) -> tuple[int, str] | None:
    """The exit status and the one line that ``error`` ends a command with, or None where
    it is a bug (a traceback): domain errors (bad input, missing data or tools, a tool that
    failed or a design that does not fit its part) and OS errors on a path get status 2,
    Ctrl-C status 130."""
    from spikewright.hdl_gen.tools import ToolError
    from spikewright.sim.simulators import SimulatorError
    if isinstance(error, (ValueError, FileNotFoundError, SimulatorError, ToolError)):
        return 2, f"spikewright: error: {error}"
    if isinstance(error, OSError):  # permission, disk full, ... on a path the user gave
        where = f": {error.filename}" if error.filename else ""
        return 2, f"spikewright: error: {error.strerror or error}{where}"
    if isinstance(error, KeyboardInterrupt):
        return 130, ("spikewright: interrupted; results written so far are complete files "
                     "(JSON is written whole or not at all)")
    return None


def entry() -> None:
    """The console script: :func:`failure`'s one line and exit status instead of a
    traceback."""
    try:
        sys.exit(main())
    except (Exception, KeyboardInterrupt) as error:  # noqa: BLE001  re-raised unless known
        ended = failure(error)
        if ended is None:
            raise
        print(ended[1], file=sys.stderr)
        sys.exit(ended[0])


if __name__ == "__main__":
    entry()
