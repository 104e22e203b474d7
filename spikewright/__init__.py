"""spikewright: from a PyTorch network to a verified, accumulator-only spiking FPGA core."""

__version__ = "0.1.0"
