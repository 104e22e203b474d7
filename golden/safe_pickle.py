"""Reading dataset pickles without running what they name.

A pickle names the functions that rebuild its objects, and ``pickle.load`` calls them: a
crafted "dataset batch" can run any code. :func:`load_data_pickle` admits only what the
official dataset files hold (dicts, lists, tuples, bytes, strings, numbers and numpy
arrays); anything else is refused by name before it is called.
"""

from __future__ import annotations

import pickle

from .errors import DatasetError

__all__ = ["load_data_pickle", "ALLOWED"]

#: the callables a dataset pickle may name: numpy's array and dtype reconstruction (the
#: module is ``numpy.core`` in files written before numpy 2, ``numpy._core`` after) and
#: the ``bytes`` that Python 3 writes through ``_codecs.encode`` at protocol 2
ALLOWED = frozenset({
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"),
})


class _DataUnpickler(pickle.Unpickler):
    def __init__(self, file, source: str, **options):
        super().__init__(file, **options)
        self._source = source

    def find_class(self, module, name):
        if (module, name) not in ALLOWED:
            raise DatasetError(
                f"{self._source} names {module}.{name}, which a dataset file does not hold "
                f"(only dicts, lists, bytes, strings, numbers and numpy arrays are read); it "
                f"was not loaded and nothing in it was run")
        return super().find_class(module, name)


def load_data_pickle(file, source: str, *, encoding: str = "ASCII"):
    """The object pickled in the open binary ``file`` (read from ``source``, named in
    errors), built only from :data:`ALLOWED` callables; :class:`~.errors.DatasetError`
    for anything else, or for a file that is not a pickle."""
    try:
        return _DataUnpickler(file, source, encoding=encoding).load()
    except DatasetError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            IndexError, KeyError, UnicodeDecodeError, OSError) as error:
        raise DatasetError(f"{source} is not a readable dataset pickle "
                           f"({type(error).__name__}: {error})") from None
