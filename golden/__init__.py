"""spikewright.golden: the integer network (IR) and its bit-exact reference model.

The integer modules (``ir``, ``ir_io``, ``encoding``, ``neurons``, ``synapses``, ``model``,
``quant_ann``, ``widths``, ``ctt``, ``datasets``, ``random_network``, ``nir_io``) import
neither torch nor Amaranth; only ``train``, ``convert`` and ``torch_import`` import torch.
"""

from .errors import CheckpointError, DatasetError, IRError, UnsupportedLayerError, WidthError
from .ir import Conv2d, Dense, Flatten, InputChannel, InputSpec, Network, Neuron
from .ir_io import load, save
from .model import GoldenResult, run

__all__ = ["Conv2d", "Dense", "Flatten", "InputChannel", "InputSpec", "Network", "Neuron",
           "IRError", "UnsupportedLayerError", "WidthError", "DatasetError", "CheckpointError",
           "load", "save", "run", "GoldenResult"]
