"""Long tool runs (Yosys, nextpnr) remembered beside their outputs, keyed by everything that
went into them, so that a synthesis asked again on the same inputs (a sweep started again
after it was stopped, a run repeated) takes the result on disk instead of running the tool.

A step's record, ``<work>/<step>.done.json``, is written only after the tool finished and
its outputs were read; a step stopped or failed leaves none and runs again. Delete the
record to run a step again on the same inputs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

__all__ = ["step_key", "finished_step", "record_step"]


def step_key(*parts) -> str:
    """sha256 over ``parts``: a :class:`~pathlib.Path` counts by its file's bytes, anything
    else by its JSON text."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, Path):
            digest.update(b"file:" + hashlib.sha256(part.read_bytes()).digest())
        else:
            digest.update(b"json:" + json.dumps(part, sort_keys=True).encode())
    return digest.hexdigest()


def _record_path(work, step: str) -> Path:
    return Path(work) / f"{step}.done.json"


def finished_step(work, step: str, key: str, outputs) -> dict | None:
    """The record of ``step`` in ``work`` if it finished on inputs of ``key`` and each of
    ``outputs`` (file names in ``work``) is still there, else None."""
    path = _record_path(work, step)
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("key") != key:
        return None
    if not all((Path(work) / name).is_file() for name in outputs):
        return None
    return record


def record_step(work, step: str, key: str, **facts) -> None:
    """Remember that ``step`` finished on inputs of ``key``, with ``facts`` (JSON-able)."""
    _record_path(work, step).write_text(json.dumps({"key": key, **facts}, indent=1) + "\n")
