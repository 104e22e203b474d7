"""spikewright: from a PyTorch network to a verified, accumulator-only spiking FPGA core.

The Python API is the flow's steps (:mod:`spikewright.flow`), each taking and returning a
:class:`~spikewright.flow.Build`; the command line is a thin layer over them::

    import spikewright as sw

    build = sw.load("mnist_mlp_t1")                      # a shipped model, or an IR folder
    sw.images(build, limit=1000)                         # its dataset's test images
    sw.plan(build, sw.HwConfig(lanes={"fc1": 384, "fc2": 10}))
    sw.run_golden(build, traced=20)                      # bit-exact integer SNN
    sw.evaluate(build)                                   # build.results["eval"]
    sw.generate(build, "rtl/")                           # Verilog + manifest
    sw.verify(build, images=20, bench="harness")         # RTL == golden, build.results["verify"]

Networks come in by :func:`train` (with the conversion-aware activation), by
:func:`from_torch` (a plain PyTorch ReLU network) or by :func:`nir_import`, and go to the
IR by :func:`convert`. Names are loaded on first use, so ``import spikewright`` is cheap.
``run_golden`` and ``write_report`` are ``flow.golden`` and ``flow.report`` (``golden`` and
``report`` name subpackages of ``spikewright``).
"""

__version__ = "0.1.0"

_FLOW = ("Build", "ImageSet", "load", "train", "from_torch", "convert", "nir_export",
         "to_nir_graph", "nir_import", "images", "plan", "fold", "evaluate",
         "cycles_and_energy", "generate", "verify", "synthesize", "synthesize_rtl",
         "stream_timing")
#: flow steps whose own names are those of subpackages here (spikewright.golden, .report)
_RENAMED = {"run_golden": "golden", "write_report": "report"}
_ELSEWHERE = {"HwConfig": "spikewright.hdl_gen.config", "Network": "spikewright.golden.ir",
              "load_dataset": "spikewright.golden.datasets",
              "load_torch_file": "spikewright.golden.torch_import",
              "load_checkpoint": "spikewright.golden.train",
              "save_checkpoint": "spikewright.golden.train"}

__all__ = ["__version__", *_FLOW, *_RENAMED, *_ELSEWHERE]


def __getattr__(name):
    import importlib
    if name in _FLOW or name in _RENAMED:
        return getattr(importlib.import_module("spikewright.flow"), _RENAMED.get(name, name))
    if name in _ELSEWHERE:
        return getattr(importlib.import_module(_ELSEWHERE[name]), name)
    raise AttributeError(f"module 'spikewright' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
