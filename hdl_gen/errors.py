"""Errors of the hardware generator."""

from spikewright.golden.errors import UnsupportedLayerError, WidthError

__all__ = ["UnsupportedLayerError", "WidthError", "CapacityError"]


class CapacityError(ValueError):
    """The design needs more of a resource than the target has."""
