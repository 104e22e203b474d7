import json

import numpy as np
import pytest

from spikewright.golden import IRError, UnsupportedLayerError, WidthError, load, model, save
from spikewright.golden.ir import Dense
from spikewright.golden.random_network import random_conv_network, random_dense_network, random_pixels


def dense(**overrides):
    fields = dict(name="fc", in_features=2, out_features=1, neuron="if",
                  weight=np.array([[1, -2]]), bias=np.array([0]), threshold=np.array([3]))
    fields.update(overrides)
    return Dense(**fields)


@pytest.mark.parametrize("seed", range(6))
def test_save_load_round_trip_is_exact(tmp_path, seed):
    rng = np.random.default_rng(seed)
    net = (random_conv_network if seed % 2 else random_dense_network)(rng)
    save(net, tmp_path / "ir")
    loaded = load(tmp_path / "ir")
    assert loaded.to_json() == net.to_json()
    assert loaded.digest() == net.digest()
    px = random_pixels(rng, net, 8)
    assert np.array_equal(model.run(loaded, px).logits, model.run(net, px).logits)
    first = (tmp_path / "ir" / "weights.npz").read_bytes()
    save(loaded, tmp_path / "again")
    assert (tmp_path / "again" / "weights.npz").read_bytes() == first


@pytest.fixture
def saved(tmp_path):
    net = random_dense_network(np.random.default_rng(7), depth=1)
    save(net, tmp_path)
    return tmp_path


def edit_json(directory, change):
    doc = json.loads((directory / "network.json").read_text())
    change(doc)
    (directory / "network.json").write_text(json.dumps(doc))


def test_load_names_a_missing_directory(tmp_path):
    with pytest.raises(IRError, match=r"network\.json does not exist; an IR directory holds "
                                      r"network\.json and weights\.npz"):
        load(tmp_path / "nothing")


def test_load_refuses_an_unknown_layer_kind(saved):
    edit_json(saved, lambda d: d["layers"][1].update(kind="maxpool2d"))
    with pytest.raises(UnsupportedLayerError, match=r"^layer 'fc1' has kind 'maxpool2d'; "
                                                    r"supported kinds: conv2d, dense, flatten$"):
        load(saved)


def test_load_refuses_bad_json_and_versions(saved):
    (saved / "network.json").write_text("{")
    with pytest.raises(IRError, match=r"network\.json is not valid UTF-8 JSON"):
        load(saved)
    (saved / "network.json").write_text(json.dumps({"format": "spikewright-ir",
                                                    "format_version": 2}))
    with pytest.raises(IRError, match=r"has format_version 2; this spikewright reads version 1$"):
        load(saved)


def test_load_names_a_missing_field_and_a_missing_array(saved):
    edit_json(saved, lambda d: d["layers"][1].pop("out_features"))
    with pytest.raises(IRError, match=r"^network\.json layer 1 \('fc1'\) lacks 'out_features'$"):
        load(saved)


def test_load_refuses_a_weight_file_that_disagrees_with_the_structure(saved):
    arrays = dict(np.load(saved / "weights.npz"))
    arrays["fc1.weight"] = arrays["fc1.weight"][:, :-1] if arrays["fc1.weight"].shape[1] > 1 \
        else np.zeros((arrays["fc1.weight"].shape[0], 2), np.int64)
    np.savez(saved / "weights.npz", **arrays)
    with pytest.raises(ValueError, match=r"^network\.json layer 1 \('fc1'\): weight of layer "
                                         r"'fc1' must have shape"):
        load(saved)
    arrays.pop("fc1.weight")
    np.savez(saved / "weights.npz", **arrays)
    with pytest.raises(IRError, match=r"^weights\.npz lacks 'fc1\.weight', needed by layer 'fc1'$"):
        load(saved)


def test_load_refuses_float_weights(saved):
    arrays = dict(np.load(saved / "weights.npz"))
    arrays["fc1.bias"] = arrays["fc1.bias"].astype(np.float64)
    np.savez(saved / "weights.npz", **arrays)
    with pytest.raises(IRError, match=r"^network.json layer 1 \(.fc1.\): bias of layer 'fc1' must be an integer array, "
                                        r"not dtype float64$"):
        load(saved)


def test_load_refuses_a_membrane_width_below_the_bound(saved):
    edit_json(saved, lambda d: d["layers"][1].update(membrane_width=2))
    with pytest.raises(WidthError, match=r"^membrane_width of layer 'fc1' is 2, but its state "
                                         r"can reach"):
        load(saved)


def test_load_refuses_unused_arrays(saved):
    arrays = dict(np.load(saved / "weights.npz"))
    arrays["ghost.weight"] = np.zeros(3, np.int64)
    np.savez(saved / "weights.npz", **arrays)
    with pytest.raises(IRError, match=r"^weights\.npz holds arrays that no layer uses: "
                                      r"ghost\.weight$"):
        load(saved)
