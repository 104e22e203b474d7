"""Writing a file a user named: whole or not at all, and never over a device.

A regular file (or a new one) is written to a temporary file beside it, which then replaces
it, so a failure leaves the old file as it was. A path that exists and is not a regular file
(``/dev/null``, a pipe, a symbolic link such as ``/dev/stdout``) is written into, never
replaced: replacing it would put a file where the device or link was. Any failure to write
is one :class:`ValueError` naming the path.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

__all__ = ["write_output"]


def write_output(path, write) -> Path:
    """Write ``path`` by ``write(target)``, which writes a whole file at ``target``: a
    temporary path beside ``path``, or (``path`` a device or pipe) in a temporary folder,
    whose bytes are then copied into ``path``."""
    path = Path(path)
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as error:
        raise ValueError(f"cannot write {path}: {error.strerror}") from None
    if mode is not None and not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        with tempfile.TemporaryDirectory() as folder:
            staged = Path(folder) / path.name
            try:
                write(staged)
                with open(staged, "rb") as source, open(path, "wb") as out:
                    shutil.copyfileobj(source, out)
            except OSError as error:
                raise ValueError(f"cannot write {path}: {error.strerror or error}") from None
        return path
    partial = path.with_name(f".{path.name}.partial")
    try:
        open(partial, "wb").close()
        write(partial)
        os.replace(partial, path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise ValueError(f"cannot write {path}: {error.strerror or error}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return path
