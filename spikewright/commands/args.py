"""Arguments and progress shared by the commands (no command imports another)."""

from __future__ import annotations

import argparse
import sys

__all__ = ["HW_DEFAULTS", "parse_lanes", "add_hw_arguments", "add_parallel_arguments",
           "add_data_root_argument",
           "hw_config_from_args", "progress_bar",
           "at_least", "positive_number", "non_negative_number", "fraction", "number_list",
           "weight_width"]


def at_least(minimum: int, maximum: int | None = None):
    """An argparse type: an integer of at least ``minimum`` (and at most ``maximum``)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer, not {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {value}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum}, not {value}")
        return value
    parse.__name__ = f"integer >= {minimum}"
    return parse


def weight_width(text: str) -> int:
    """An argparse type: a weight width in bits, 2 to the IR's
    :data:`spikewright.golden.widths.MAX_WEIGHT_WIDTH`."""
    from spikewright.golden.widths import MAX_WEIGHT_WIDTH
    return at_least(2, MAX_WEIGHT_WIDTH)(text)


def _number(text: str, within, wanted: str) -> float:
    """``text`` as a number for which ``within(value)`` holds, else "must be ``wanted``"."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, not {text!r}") from None
    if not within(value):
        raise argparse.ArgumentTypeError(f"must be {wanted}, not {text}")
    return value


def non_negative_number(text: str) -> float:
    """An argparse type: a finite number of at least zero."""
    return _number(text, lambda value: 0 <= value < float("inf"),
                   "a finite number of at least 0")


def positive_number(text: str) -> float:
    """An argparse type: a finite number above zero."""
    return _number(text, lambda value: 0 < value < float("inf"), "a positive number")


def fraction(text: str) -> float:
    """An argparse type: a number from 0 to 1."""
    return _number(text, lambda value: 0 <= value <= 1, "a number from 0 to 1")


def number_list(text: str, option: str, parse) -> list:
    """The comma-separated values of ``option``, each read by the argparse type ``parse``
    (:func:`at_least`, :func:`positive_number`); one line naming the option and the value
    for anything else, an empty item included."""
    values = []
    for item in text.split(","):
        try:
            values.append(parse(item.strip()))
        except argparse.ArgumentTypeError as error:
            raise ValueError(f"{option} {text!r}: item {item.strip()!r} {error}; give "
                             f"comma-separated values") from None
    return values


def parse_lanes(text: str, option: str = "--lanes"):
    """``8`` (every layer) or ``fc1=8,fc2=2`` (per layer; others 1)."""
    try:
        if "=" not in text:
            return int(text)
        return {name: int(value) for name, value in
                (item.split("=", 1) for item in text.split(",") if item)}
    except ValueError:
        raise ValueError(f"{option} must be a number or NAME=P[,NAME=P...], "
                         f"not {text!r}") from None


#: The HwConfig options' defaults (``generate``); ``run`` takes its model's instead.
HW_DEFAULTS = {"lanes": "1", "memory_style": "auto", "clock_mhz": 50.0, "target": "ecp5-85k",
               "pixels_per_beat": 1, "kernel_lanes": "1",
               "input_buffers": 2, "events": "1"}


def add_hw_arguments(p, defaults: dict | None = HW_DEFAULTS, note: str = "",
                     shipped_first: bool = False):
    """The HwConfig options; ``defaults=None`` leaves them unset (``note`` says where
    their defaults come from); ``shipped_first`` leaves them unset too, and each option's
    help names a shipped model's ``hw_config.json``, then its :data:`HW_DEFAULTS` value."""
    from spikewright.hdl_gen.parts import TARGETS
    default = (lambda key: defaults[key]) if defaults and not shipped_first else (lambda key: None)
    if shipped_first:
        add_argument = p.add_argument

        def with_fallback(*names, help, **options):
            key = names[0].lstrip("-").replace("-", "_")
            return add_argument(*names, help=f"{help} (default: a shipped model's "
                                             f"hw_config.json, else {HW_DEFAULTS[key]})",
                                **options)
        p = argparse.Namespace(add_argument=with_fallback)
    p.add_argument("--lanes", "-P", default=default("lanes"),
                   help="neurons per cycle: P for every layer, or NAME=P,... (others 1)" + note)
    p.add_argument("--memory-style", choices=["auto", "block", "distributed", "spram"],
                   default=default("memory_style"),
                   help="where weight memories go (auto: Yosys's choice, which puts a memory "
                        "of a few words in logic; block: every one in block RAM; spram: the "
                        "iCE40 UP5K's single-port RAM, written at run time)" + note)
    p.add_argument("--clock-mhz", type=positive_number, default=default("clock_mhz"),
                   help="clock target in MHz" + note)
    p.add_argument("--target", choices=sorted(TARGETS), default=default("target"),
                   help="FPGA part whose block RAM must hold the weights" + note)
    p.add_argument("--pixels-per-beat", type=at_least(1), default=default("pixels_per_beat"),
                   help="pixels per beat of the input stream (1 to 16)" + note)
    p.add_argument("--input-buffers", type=int, choices=[1, 2],
                   default=default("input_buffers"),
                   help="input bitmaps the encoder holds (1 waits for the first "
                        "layer and saves flip-flops)" + note)
    p.add_argument("--kernel-lanes", default=default("kernel_lanes"),
                   help="conv layers: kernel positions added per cycle, K for every "
                        "conv layer or NAME=K,... (others 1)" + note)
    p.add_argument("--events", "-E", default=default("events"),
                   help="input events taken per cycle (a power of two up to 32 for dense "
                        "layers, 8 for conv layers, where a layer of fewer input channels "
                        "takes the largest power of two below them; weights split into E "
                        "memories), E for every layer or NAME=E,... (others 1)" + note)


def add_parallel_arguments(p, work: str):
    """``--jobs`` and ``--scheduler``: how many of the command's ``work`` (batches, cases,
    syntheses) run at the same time in local processes, or the Dask cluster to run them on
    (:func:`spikewright.sim.batches.run_batches`)."""
    from spikewright.sim.batches import default_jobs
    p.add_argument("--jobs", "-j", type=at_least(1), default=default_jobs(),
                   help=f"{work} run at the same time in local processes (default: "
                        f"%(default)s, the cores)")
    p.add_argument("--scheduler", default=None,
                   help=f"address of a running Dask scheduler (tcp://HOST:PORT) to run the "
                        f"{work} on instead of local processes")


def hw_config_from_args(args, base: dict | None = None):
    """The HwConfig of the options; those left unset take ``base`` (a HwConfig's JSON)."""
    from spikewright.hdl_gen.config import HwConfig, check_architecture
    base = base or {}
    check_architecture(base)

    def pick(key):
        value = getattr(args, key)
        return value if value is not None else base.get(key, HW_DEFAULTS[key])

    lanes = args.lanes
    config = dict(lanes=parse_lanes(lanes) if lanes is not None else
                  base.get("lanes", parse_lanes(HW_DEFAULTS["lanes"])),
                  memory_style=pick("memory_style"), clock_mhz=pick("clock_mhz"),
                  target=pick("target"),
                  pixels_per_beat=pick("pixels_per_beat"),
                  input_buffers=pick("input_buffers") if hasattr(args, "input_buffers")
                  else base.get("input_buffers", 2))
    kernel = getattr(args, "kernel_lanes", None)
    config["kernel_lanes"] = (parse_lanes(kernel, "--kernel-lanes") if kernel is not None
                              else base.get("kernel_lanes", 1))
    events = getattr(args, "events", None)
    config["events"] = (parse_lanes(events, "--events") if events is not None
                        else base.get("events", 1))
    if lanes is None and "default_lanes" in base:
        config["default_lanes"] = base["default_lanes"]
    for placement in ("place_seed", "place_router"):
        if placement in base:
            config[placement] = base[placement]
    return HwConfig(**config)


class progress_bar:
    """A tqdm bar on stderr as a ``progress(done[, total], **counts)`` callback (``counts``,
    such as the mismatches so far, are shown beside it); ``with`` closes it."""

    def __init__(self, total: int, desc: str, unit: str = "img", quiet: bool = False):
        from tqdm import tqdm
        self.bar = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, disable=quiet)

    def __call__(self, done: int, total=None, **counts) -> None:
        if counts:
            self.bar.set_postfix(counts, refresh=False)
        self.bar.update(done - self.bar.n)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.bar.close()


def add_data_root_argument(p):
    """``--data-root``: where a dataset that is not built in lies
    (:func:`spikewright.golden.datasets.load_dataset`)."""
    p.add_argument("--data-root", default=None,
                   help="directory of the CIFAR-10/100 python pickles (needed for them), or of "
                        "the Fashion-MNIST idx files (default: the Debian package's); not for "
                        "mnist or digits")
