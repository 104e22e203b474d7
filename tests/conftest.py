"""Fixtures shared by several test modules."""

import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(scope="module")
def small_rtl(tmp_path_factory):
    """A small random dense network saved as ``ir/`` and generated (3 lanes) as ``rtl/``."""
    from spikewright.golden import save
    from spikewright.golden.random_network import random_dense_network
    from spikewright.hdl_gen.config import HwConfig
    from spikewright.hdl_gen.emit import generate, write_files
    net = random_dense_network(np.random.default_rng(11), max_width=10, depth=2, timesteps=3)
    directory = tmp_path_factory.mktemp("small")
    save(net, directory / "ir")
    write_files(generate(net, HwConfig(lanes=3)), directory / "rtl")
    return directory


@pytest.fixture(scope="module")
def digits():
    """scikit-learn's digits: ``((train pixels, labels), (test pixels, labels))``."""
    from spikewright.golden.datasets import load_dataset
    return load_dataset("digits", "train"), load_dataset("digits", "test")
