"""Verification batches run in this process, over local processes, or on a Dask cluster;
each batch's report kept on disk, so that a stopped run resumes where it stopped.

A batch is one bench run of consecutive images (:func:`.verify.run_images`); its report
does not depend on where it ran, so the merged report of a run is the same whichever
executor ran its batches, and in whichever order they finished.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np

__all__ = ["BatchJob", "BatchStore", "default_jobs", "run_batches"]


def default_jobs() -> int:
    """Local processes by default: the cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class BatchJob:
    """Images ``first`` to ``stop`` (exclusive) of a run: what one batch's run needs."""
    first: int
    stop: int
    rtl_dir: str
    plan: object
    pixels: np.ndarray
    expected: object
    options: dict  # simulator, bench, seed, input_gaps, backpressure, build_root

    def key(self) -> str:
        """What the batch's report depends on: the design's manifest, the images' pixels,
        the images' place in the run and the options (not where or when it runs)."""
        digest = hashlib.sha256()
        manifest = Path(self.rtl_dir) / "manifest.json"
        digest.update(manifest.read_bytes() if manifest.is_file() else b"")
        digest.update(json.dumps([self.plan.network.digest(), self.plan.config.to_json()],
                                 sort_keys=True).encode())
        digest.update(np.ascontiguousarray(self.pixels).tobytes())
        options = {k: v for k, v in self.options.items() if k != "build_root"}
        digest.update(json.dumps([self.first, self.stop, options], sort_keys=True).encode())
        return digest.hexdigest()


class BatchStore:
    """Batch reports in a directory, one JSON file per batch, each with the key of the
    batch it answers (:meth:`BatchJob.key`); a file whose key differs is not used."""

    def __init__(self, directory):
        self.directory = Path(directory)

    def _path(self, job: BatchJob) -> Path:
        return self.directory / f"batch_{job.first:07d}_{job.stop:07d}.json"

    def load(self, job: BatchJob) -> dict | None:
        path = self._path(job)
        try:
            saved = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            return None
        return saved.get("report") if saved.get("key") == job.key() else None

    def save(self, job: BatchJob, report: dict) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self._path(job)
        with tempfile.NamedTemporaryFile("w", dir=self.directory, delete=False,
                                         suffix=".tmp") as handle:
            json.dump({"key": job.key(), "report": report}, handle)
        os.replace(handle.name, path)


#: seconds to wait for a Dask scheduler to answer
CONNECT_TIMEOUT_S = 20


def _connect(scheduler: str):
    try:
        from distributed import Client
    except ImportError:
        raise ValueError("a Dask scheduler needs the 'distributed' package "
                         "(pip install dask distributed)") from None
    try:
        return Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s")
    except (OSError, TimeoutError) as error:
        raise ValueError(f"no Dask scheduler answers at {scheduler} ({error}); start one "
                         f"(dask scheduler, a LocalCluster, dask-jobqueue) and give its "
                         f"address as tcp://HOST:PORT") from None


def run_batches(function, jobs: list, *, processes: int = 1,
                scheduler: str | None = None, store: BatchStore | None = None,
                resume: bool = False):
    """Yield ``(index, report)`` for every job in ``jobs`` as each finishes, the
    report being ``function(job)`` (a module-level function, so that it can be pickled):
    in this process where ``processes`` is 1 (or there is one job to run), else over that
    many local processes, or on the Dask cluster at ``scheduler``. With ``resume``, a
    batch already in ``store`` is taken from it; every batch run is saved there."""
    pending = []
    for index, job in enumerate(jobs):
        saved = store.load(job) if store is not None and resume else None
        if saved is not None:
            yield index, saved
        else:
            pending.append(index)

    def finished(index, report):
        if store is not None:
            store.save(jobs[index], report)
        return index, report

    if not pending:
        return
    if scheduler is not None:
        from distributed import as_completed as dask_completed
        client = _connect(scheduler)
        try:
            futures = {client.submit(function, jobs[i], pure=False): i for i in pending}
            for future in dask_completed(futures):
                yield finished(futures[future], future.result())
        finally:
            client.close()
    elif processes == 1 or len(pending) == 1:
        for index in pending:
            yield finished(index, function(jobs[index]))
    else:
        with ProcessPoolExecutor(max_workers=min(processes, len(pending)),
                                 mp_context=get_context("spawn")) as pool:
            futures = {pool.submit(function, jobs[i]): i for i in pending}
            for future in as_completed(futures):
                yield finished(futures[future], future.result())
