import pickle

import numpy as np
import pytest

from spikewright.golden import DatasetError
from spikewright.golden.datasets import load_dataset


@pytest.mark.dataset
def test_mnist_is_the_genuine_set_as_uint8():
    x, y = load_dataset("mnist", "test")
    assert x.shape == (10000, 1, 28, 28) and x.dtype == np.uint8 and y.dtype == np.int64
    assert x.max() == 255 and y[:5].tolist() == [7, 2, 1, 0, 4]
    x, y = load_dataset("mnist", "train", limit=3)
    assert x.shape == (3, 1, 28, 28) and y.tolist() == [5, 0, 4]


@pytest.mark.dataset
def test_fashion_mnist_and_digits():
    x, y = load_dataset("fashion-mnist", "test", limit=4)
    assert x.shape == (4, 1, 28, 28) and y.tolist() == [9, 2, 1, 1]
    x, y = load_dataset("digits", "train")
    assert x.shape == (1437, 1, 8, 8) and x.max() == 255


def write_cifar(folder, files, key, count):
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in files:
        data = rng.integers(0, 256, size=(count, 3072), dtype=np.uint8)
        with open(folder / name, "wb") as f:
            pickle.dump({b"data": data, key: list(range(count))}, f)


def test_cifar10_reads_the_official_pickles(tmp_path):
    write_cifar(tmp_path / "cifar-10-batches-py",
                [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"], b"labels", 4)
    x, y = load_dataset("cifar10", "train", root=tmp_path)
    assert x.shape == (20, 3, 32, 32) and x.dtype == np.uint8 and y.tolist()[:4] == [0, 1, 2, 3]
    with open(tmp_path / "cifar-10-batches-py" / "test_batch", "rb") as f:
        raw = pickle.load(f)[b"data"]
    x, _ = load_dataset("cifar10", "test", root=tmp_path / "cifar-10-batches-py")
    assert np.array_equal(x[1, 2].ravel(), raw[1, 2048:])  # channel-major rows


def test_cifar100_uses_fine_labels(tmp_path):
    write_cifar(tmp_path / "cifar-100-python", ["train", "test"], b"fine_labels", 5)
    x, y = load_dataset("cifar100", "test", root=tmp_path)
    assert x.shape == (5, 3, 32, 32) and y.tolist() == [0, 1, 2, 3, 4]


def test_missing_datasets_say_how_to_get_them(tmp_path):
    with pytest.raises(DatasetError, match=r"^cifar10 is not available offline; pass "
                                           r"--data-root DIR"):
        load_dataset("cifar10", "test")
    with pytest.raises(DatasetError, match=r"test_batch not found; cifar10 needs the official "
                                           r"python pickle files"):
        load_dataset("cifar10", "test", root=tmp_path)
    with pytest.raises(DatasetError, match=r"^Fashion-MNIST not found in .*; install the Debian "
                                           r"package with `apt-get install dataset-fashion-mnist`"):
        load_dataset("fashion-mnist", "test", root=tmp_path)


def test_bad_names_are_refused():
    with pytest.raises(ValueError, match=r"^dataset must be one of mnist, fashion-mnist, digits, "
                                         r"cifar10, cifar100, not 'imagenet'$"):
        load_dataset("imagenet")
    with pytest.raises(ValueError,
                       match=r"^split must be one of train, test, validation, not 'val'$"):
        load_dataset("mnist", "val")


class _Payload:
    """What a crafted batch holds: unpickling it would open (create) ``target``."""

    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        return open, (self.target, "w")


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_a_crafted_cifar_batch_runs_nothing(tmp_path, protocol):
    """A batch whose pickle names a callable (here ``open``, creating a file) is refused by
    that name before anything is called, at every pickle protocol."""
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    target = tmp_path / "pwned"
    with open(folder / "test_batch", "wb") as f:
        pickle.dump({b"data": np.zeros((1, 3072), np.uint8), b"labels": [0],
                     b"extra": _Payload(target)}, f, protocol=protocol)
    with pytest.raises(DatasetError, match=r"^.*test_batch names (builtins|io)\.open, which a "
                                           r"dataset file does not hold \(only dicts, lists, "
                                           r"bytes, strings, numbers and numpy arrays are "
                                           r"read\); it was not loaded and nothing in it was "
                                           r"run$"):
        load_dataset("cifar10", "test", root=tmp_path)
    assert not target.exists()


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_cifar_batches_of_every_protocol_are_read(tmp_path, protocol):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    data = np.arange(2 * 3072, dtype=np.int64).astype(np.uint8).reshape(2, 3072)
    with open(folder / "test", "wb") as f:
        pickle.dump({b"data": data, b"fine_labels": [7, 3]}, f, protocol=protocol)
    x, y = load_dataset("cifar100", "test", root=tmp_path)
    assert np.array_equal(x.reshape(2, -1), data) and y.tolist() == [7, 3]


def test_a_batch_that_is_not_a_pickle_or_not_a_batch_is_named(tmp_path):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    (folder / "test").write_bytes(b"\x89PNG not a pickle")
    with pytest.raises(DatasetError, match=r"test is not a readable dataset pickle"):
        load_dataset("cifar100", "test", root=tmp_path)
    with open(folder / "test", "wb") as f:
        pickle.dump([1, 2, 3], f)
    with pytest.raises(DatasetError, match=r"test is not a cifar100 batch: it must hold a dict "
                                           r"with b'data' and b'fine_labels'$"):
        load_dataset("cifar100", "test", root=tmp_path)


def test_a_users_npy_images_are_read_with_their_labels(tmp_path):
    from spikewright.golden.datasets import load_image_file
    pixels = np.arange(2 * 3 * 4 * 5, dtype=np.uint8).reshape(2, 3, 4, 5)
    np.save(tmp_path / "mine.npy", pixels)
    read, labels = load_image_file(tmp_path / "mine.npy")
    assert (read == pixels).all() and labels is None
    np.save(tmp_path / "mine.labels.npy", np.array([3, 0]))
    read, labels = load_image_file(tmp_path / "mine.npy")
    assert labels.tolist() == [3, 0] and labels.dtype == np.int64


@pytest.mark.parametrize("images, labels, message", [
    (np.zeros((2, 1, 4, 4), np.float32), None, r"holds float32 of shape \[2, 1, 4, 4\]; "
                                               r"images must be uint8"),
    (np.zeros((2, 16), np.uint8), None, r"images must be uint8 \[N, C, H, W\]"),
    (np.zeros((2, 1, 4, 4), np.uint8), np.array([1, 2, 3]), r"labels must be 2 integers"),
    (np.zeros((2, 1, 4, 4), np.uint8), np.array([1, -1]), r"labels must be 2 integers"),
])
def test_a_users_images_of_the_wrong_kind_are_refused(tmp_path, images, labels, message):
    from spikewright.golden.datasets import load_image_file
    from spikewright.golden.errors import DatasetError
    np.save(tmp_path / "mine.npy", images)
    if labels is not None:
        np.save(tmp_path / "mine.labels.npy", labels)
    with pytest.raises(DatasetError, match=message):
        load_image_file(tmp_path / "mine.npy")


class _Payload:
    """Unpickling this would create a file."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_pickled_npy_runs_nothing(tmp_path):
    from spikewright.golden.datasets import load_image_file
    from spikewright.golden.errors import DatasetError
    marker = tmp_path / "ran"
    np.save(tmp_path / "evil.npy", np.array([_Payload(str(marker))], dtype=object),
            allow_pickle=True)
    with pytest.raises(DatasetError, match="is not a plain .npy array"):
        load_image_file(tmp_path / "evil.npy")
    assert not marker.exists()
