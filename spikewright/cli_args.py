"""Arguments and progress shared by the commands (no command imports another)."""

from __future__ import annotations

import argparse
import sys

__all__ = ["parse_lanes", "add_hw_arguments", "hw_config_from_args", "progress_bar",
           "at_least", "positive_number"]


def at_least(minimum: int):
    """An argparse type: an integer of at least ``minimum``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer, not {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {value}")
        return value
    parse.__name__ = f"integer >= {minimum}"
    return parse


def positive_number(text: str) -> float:
    """An argparse type: a finite number above zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, not {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text}")
    return value


def parse_lanes(text: str):
    """``8`` (every layer) or ``fc1=8,fc2=2`` (per layer; others 1)."""
    try:
        if "=" not in text:
            return int(text)
        return {name: int(value) for name, value in
                (item.split("=", 1) for item in text.split(",") if item)}
    except ValueError:
        raise ValueError(f"--lanes must be a number or NAME=P[,NAME=P...], "
                         f"not {text!r}") from None


def add_hw_arguments(p, lanes_default="1"):
    from spikewright.hdl_gen.config import ARCHITECTURES, TARGETS
    p.add_argument("--lanes", "-P", default=lanes_default,
                   help="neurons per cycle: P for every layer, or NAME=P,... (others 1)")
    p.add_argument("--memory-style", choices=["auto", "block", "distributed"], default="auto",
                   help="where weight memories go")
    p.add_argument("--clock-mhz", type=positive_number, default=50.0, help="clock target in MHz")
    p.add_argument("--target", choices=sorted(TARGETS), default="ecp5-85k",
                   help="FPGA part whose block RAM must hold the weights")
    p.add_argument("--architecture", choices=list(ARCHITECTURES), default="sequential",
                   help="sequential: one image, one layer-step at a time; dataflow: every "
                        "layer a pipeline stage on its own image (dense IF networks)")
    p.add_argument("--pixels-per-beat", type=at_least(1), default=1,
                   help="pixels per beat of the input stream (dataflow; 1 to 16)")


def hw_config_from_args(args):
    from spikewright.hdl_gen.config import HwConfig
    return HwConfig(lanes=parse_lanes(args.lanes), memory_style=args.memory_style,
                    clock_mhz=args.clock_mhz, target=args.target,
                    architecture=args.architecture, pixels_per_beat=args.pixels_per_beat)


class progress_bar:
    """A tqdm bar on stderr as a ``progress(done[, total])`` callback; ``with`` closes it."""

    def __init__(self, total: int, desc: str, unit: str = "img", quiet: bool = False):
        from tqdm import tqdm
        self.bar = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, disable=quiet)

    def __call__(self, done: int, total=None) -> None:
        self.bar.update(done - self.bar.n)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.bar.close()
