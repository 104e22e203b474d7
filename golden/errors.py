"""Domain errors of the integer network.

Each subclasses a built-in, so callers that only know ``ValueError`` or ``TypeError`` still
catch them.
"""


class IRError(ValueError):
    """An IR (in memory or on disk) breaks the integer contract."""


class UnsupportedLayerError(ValueError):
    """A layer kind that the converter or a generator cannot handle."""


class WidthError(ValueError):
    """A value does not fit the bit width it is declared with."""


class DatasetError(FileNotFoundError):
    """A dataset is missing or malformed; the message says how to get it."""


class CheckpointError(ValueError):
    """A checkpoint file is foreign, corrupt, incomplete or holds pickled code."""
