import dataclasses
import json

import numpy as np
import pytest

from spikeforge.golden import IRError, UnsupportedLayerError, WidthError, load, model, save
from spikeforge.golden.ir import Conv2d, Dense, Flatten, InputChannel, InputSpec, Network
from spikeforge.golden.random_network import random_conv_network, random_dense_network, random_pixels


def dense(**overrides):
    fields = dict(name="fc", in_features=2, out_features=1, neuron="if",
                  weight=np.array([[1, -2]]), bias=np.array([0]), threshold=np.array([3]))
    fields.update(overrides)
    return Dense(**fields)


def test_weights_must_be_integer_arrays():
    with pytest.raises(TypeError, match=r"^weight of layer 'fc' must be an integer array, "
                                        r"not dtype float32$"):
        dense(weight=np.array([[1, 2]], dtype=np.float32))
    with pytest.raises(TypeError, match=r"^bias of layer 'fc' must be a numpy integer array, "
                                        r"not list$"):
        dense(bias=[0])


def test_weight_shape_is_checked():
    with pytest.raises(ValueError, match=r"^weight of layer 'fc' must have shape \(1, 2\), "
                                         r"not \(2, 1\)$"):
        dense(weight=np.array([[1], [2]]))


def test_a_weight_that_does_not_fit_its_width_is_refused():
    with pytest.raises(WidthError, match=r"^weights of layer 'fc' span \[-2, 5\], which does "
                                         r"not fit weight_width 3 \(signed\); it needs 4 bits$"):
        dense(weight=np.array([[5, -2]]), weight_width=3)


def test_thresholds_must_be_positive_and_readouts_have_none():
    with pytest.raises(ValueError, match=r"^thresholds of layer 'fc' must be positive, not 0$"):
        dense(threshold=np.array([0]))
    with pytest.raises(ValueError, match=r"^readout layer 'fc' must have no threshold$"):
        dense(neuron="none")
    with pytest.raises(ValueError, match=r"^neuron of layer 'fc' must be one of 'if', 'asg', "
                                         r"'none', not 'lif'$"):
        dense(neuron="lif")


def test_a_too_narrow_membrane_width_is_refused():
    spec = InputSpec((1, 1, 2), (InputChannel(0, (1,)),))
    readout = Dense("out", 1, 2, "none", np.ones((2, 1), np.int64), np.zeros(2, np.int64))
    with pytest.raises(WidthError, match=r"^membrane_width of layer 'fc' is 2, but its state "
                                         r"can reach \[-2, 3\], which needs 3 bits$"):
        Network(1, spec, (Flatten("f"), dense(membrane_width=2), readout))


def test_network_structure_is_checked():
    spec = InputSpec((1, 1, 2), (InputChannel(0, (1,)),))
    readout = Dense("out", 1, 2, "none", np.ones((2, 1), np.int64), np.zeros(2, np.int64))
    with pytest.raises(IRError, match=r"^the last layer 'fc' must be the readout \(neuron "
                                      r"'none'\), not 'if'$"):
        Network(1, spec, (Flatten("f"), dense()))
    with pytest.raises(IRError, match=r"^layer 'out' expects input shape \(1,\), not \(2,\)$"):
        Network(1, spec, (Flatten("f"), readout))
    with pytest.raises(IRError, match=r"^input channel 0 has 1 pixel thresholds; it must have "
                                      r"timesteps = 2$"):
        Network(2, spec, (Flatten("f"), dense(), readout))


def test_conv_groups_must_divide_channels():
    with pytest.raises(ValueError, match=r"^groups of layer 'c' must divide in_channels \(3\) "
                                         r"and out_channels \(4\), not 2$"):
        Conv2d("c", 3, 4, 3, 1, 0, 2, "if", np.zeros((4, 1, 3, 3), np.int64),
               np.zeros(4, np.int64), np.ones(4, np.int64))


def test_arrays_are_read_only_copies():
    weight = np.array([[1, -2]])
    layer = dense(weight=weight)
    weight[0, 0] = 99
    assert layer.weight[0, 0] == 1
    with pytest.raises(ValueError):
        layer.weight[0, 0] = 5


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
    with pytest.raises(IRError, match=r"network\.json is not valid JSON"):
        load(saved)
    (saved / "network.json").write_text(json.dumps({"format": "spikeforge-ir",
                                                    "format_version": 2}))
    with pytest.raises(IRError, match=r"has format_version 2; this spikeforge reads version 1$"):
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
    with pytest.raises(TypeError, match=r"bias of layer 'fc1' must be an integer array, "
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
