"""Accuracy at every level on the same images: float ANN, quantized ANN, integer SNN."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from spikeforge.golden import model as golden_model
from spikeforge.golden.datasets import load_dataset

__all__ = ["evaluate_network", "checkpoint_of"]


def checkpoint_of(network, ir_dir: Path) -> Path | None:
    """The checkpoint that ``network`` was converted from, if its metadata names one that
    exists (relative to the IR directory)."""
    name = network.metadata.get("checkpoint")
    if not name:
        return None
    path = (Path(ir_dir) / name).resolve()
    return path if path.is_file() else None


def evaluate_network(network, *, dataset: str, split: str = "test", limit=None, data_root=None,
                     checkpoint=None, progress: bool = True, batch_size: int = 500):
    """Run golden (and the ANN from ``checkpoint``, if given) on a dataset split.

    Returns ``(report, result, labels)``: the JSON-able report, the :class:`GoldenResult`
    and the labels.
    """
    pixels, labels = load_dataset(dataset, split, data_root, limit)
    if pixels.shape[1:] != network.input.shape:
        raise ValueError(f"dataset {dataset!r} has images of shape {list(pixels.shape[1:])}, "
                         f"but the network expects {list(network.input.shape)}")
    start = time.time()
    bar = tqdm(total=len(pixels), unit="img", desc="golden", file=sys.stderr,
               disable=not progress)
    result = golden_model.run(network, pixels, batch_size=batch_size,
                              progress=lambda done: bar.update(done - bar.n))
    bar.close()
    golden_seconds = time.time() - start
    accuracy = {"ann_float": None, "ann_quant": None,
                "snn_golden": float((result.predictions == labels).mean())}
    if checkpoint is not None:
        import torch  # noqa: F401  (only when a checkpoint is evaluated)
        from spikeforge.golden.train import evaluate, load_checkpoint
        ann, _ = load_checkpoint(checkpoint)
        accuracy["ann_float"] = evaluate(ann, pixels, labels, quantized=False)
        accuracy["ann_quant"] = evaluate(ann, pixels, labels, quantized=True)
    spikes = {name: float(c.mean()) for name, c in result.spike_counts.items()}
    synops = {name: float(c.mean()) for name, c in result.synops.items()}
    report = {
        "dataset": dataset, "split": split, "images": int(len(pixels)),
        "timesteps": network.timesteps, "total_timesteps": network.total_timesteps,
        "network_digest": network.digest(),
        "checkpoint": str(checkpoint) if checkpoint else None,
        "accuracy": accuracy,
        "spikes_per_image": {"total": float(sum(spikes.values())), "per_layer": spikes},
        "synops_per_image": {"total": float(sum(synops.values())), "per_layer": synops},
        "golden_wall_time_s": round(golden_seconds, 3),
    }
    return report, result, labels


def dump(directory: Path, result, labels) -> None:
    """Write ``logits.npy`` (int64 [N, classes]) and ``labels.npy`` (int64 [N])."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    np.save(directory / "logits.npy", result.logits.astype(np.int64))
    np.save(directory / "labels.npy", np.asarray(labels, dtype=np.int64))
