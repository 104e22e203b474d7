import numpy as np
import pytest

from spikewright.golden.random_network import random_dense_network
from spikewright.hdl_gen.config import HwConfig
from spikewright.hdl_gen.errors import CapacityError, UnsupportedLayerError
from spikewright.hdl_gen.plan import make_plan


def test_lanes_must_be_positive_integers():
    with pytest.raises(ValueError, match=r"^lanes must be at least 1, not 0$"):
        HwConfig(lanes=0)
    with pytest.raises(ValueError, match=r"^lanes of layer 'fc1' must be at least 1, not -2$"):
        HwConfig(lanes={"fc1": -2})
    with pytest.raises(TypeError, match=r"^lanes must be an integer, "
                                        r"not 2\.5$"):
        HwConfig(lanes=2.5)


def test_target_and_clock_are_checked():
    with pytest.raises(ValueError, match=r"^target must be one of ice40-up5k, ecp5-85k, "
                                         r"xc7a35t, not 'virtex'$"):
        HwConfig(target="virtex")
    for clock in (0, float("inf"), True):
        with pytest.raises(ValueError, match=rf"^clock_mhz must be a positive, finite number, "
                                             rf"not {clock!r}$"):
            HwConfig(clock_mhz=clock)
    with pytest.raises(ValueError, match=r"^memory_style must be one of auto, block, "
                                         r"distributed, spram, not 'bram'$"):
        HwConfig(memory_style="bram")


def test_lanes_per_layer_and_narrow_layers():
    config = HwConfig(lanes={"fc1": 8}, default_lanes=2)
    assert config.lanes_for("fc1", 100) == 8
    assert config.lanes_for("readout", 100) == 2
    assert config.lanes_for("fc1", 5) == 5


def test_a_conv_readout_is_refused():
    from spikewright.golden.ir import Conv2d, InputChannel, InputSpec, Network
    spec = InputSpec((1, 3, 3), (InputChannel(0, (1,)),))
    net = Network(1, spec, (Conv2d("c", 1, 2, 3, 1, 0, 1, "none", np.ones((2, 1, 3, 3), np.int64),
                                   np.zeros(2, np.int64)),))
    with pytest.raises(UnsupportedLayerError, match=r"^the readout 'c' is a conv2d; the hardware "
                                                    r"generator needs a dense readout \(flatten "
                                                    r"first\)$"):
        make_plan(net)


def test_weights_beyond_the_target_block_ram_are_refused():
    from spikewright.golden import load
    from spikewright.shipped import model_dir
    net = load(model_dir("mnist_mlp_t1") / "ir")
    with pytest.raises(CapacityError, match=r"^the weights need 2439168 bits of memory \(fc1 "
                                            r"2408448, fc2 30720\), but ice40-up5k has "
                                            r"122880 bits of block RAM; convert with fewer weight bits, or "
                                            r"use a smaller network or a larger target \(or memory_style "
                                            r"'spram' to put dense layers in its SPRAM\)$"):
        make_plan(net, HwConfig(target="ice40-up5k"))


def test_weight_words_pack_lanes_group_major():
    from spikewright.golden.ir import Dense, Flatten, InputChannel, InputSpec, Network
    spec = InputSpec((1, 1, 2), (InputChannel(0, (1,)),))
    weight = np.array([[1, -1], [2, -2], [3, -3]])
    net = Network(1, spec, (Flatten("f"), Dense("h", 2, 3, "if", weight, np.zeros(3, np.int64),
                                                np.ones(3, np.int64), weight_width=3),
                            Dense("o", 3, 1, "none", np.ones((1, 3), np.int64),
                                  np.zeros(1, np.int64))))
    layer = make_plan(net, HwConfig(lanes=2)).layers[0]
    assert layer.groups == 2
    # word g*in + i holds W[g*2 + p, i] in lane p (3-bit two's complement), padding lane zero
    assert layer.weight_words == (1 | 2 << 3, 7 | 6 << 3, 3, 5)
    assert layer.threshold_words[1] >> layer.state_width == 1  # padding lane threshold 1


def test_a_configuration_of_the_retired_sequential_architecture_is_refused_in_one_line():
    doc = {**HwConfig(lanes=4).to_json(), "architecture": "sequential"}
    with pytest.raises(ValueError, match=r"^the hardware configuration names architecture "
                                         r"'sequential', which spikewright no longer builds"):
        HwConfig.from_json(doc)
    assert HwConfig.from_json({**doc, "architecture": "dataflow"}) == HwConfig(lanes=4)
    assert "architecture" not in HwConfig().to_json()


def test_lanes_naming_no_layer_are_refused_and_the_lanes_used_are_recorded():
    import json

    from spikewright.hdl_gen.emit import generate
    net = random_dense_network(np.random.default_rng(2), max_width=6, depth=1)
    names = ", ".join(layer.name for layer in net.weighted_layers)
    with pytest.raises(ValueError, match=rf"^lanes name layer\(s\) 'fc9', which the network "
                                         rf"does not have; its weighted layers are {names}$"):
        make_plan(net, HwConfig(lanes={"fc9": 2}))
    manifest = json.loads(generate(net, HwConfig(lanes=100000))["manifest.json"])
    assert manifest["hw_config"]["lanes"] == 100000
    assert manifest["lanes_used"] == {layer.name: layer.out_features
                                      for layer in net.weighted_layers}


def test_spram_and_input_buffers_are_refused_where_they_cannot_be_built():
    with pytest.raises(ValueError, match=r"memory_style 'spram' needs a part with single-port "
                                         r"RAM banks \(ice40-up5k\), not 'ecp5-85k'"):
        HwConfig(memory_style="spram")
    with pytest.raises(ValueError, match="input_buffers must be 1 or 2, not 3"):
        HwConfig(input_buffers=3)


def test_a_layer_too_deep_for_an_spram_bank_is_refused_with_its_sizes():
    """The shipped 784-768 MLP at 16 lanes: fc1's 48 groups x 784 inputs = 37,632 words are
    more than a bank's 16,384, so only fc2 goes to SPRAM and fc1 is too large for block RAM:
    the error says why fc1 is not in SPRAM and what would put it there."""
    from spikewright.golden import load
    from spikewright.shipped import model_dir
    net = load(model_dir("mnist_mlp_t1") / "ir")
    config = HwConfig(lanes=16, target="ice40-up5k",
                      memory_style="spram")
    with pytest.raises(CapacityError, match=r"^the weights need 2408448 bits of memory \(fc1 "
                                            r"2408448\) besides those in SPRAM \(fc2; fc1 not: "
                                            r"37632 words \(groups x inputs\) are more than a "
                                            r"bank's 16384: give it more lanes\), but ice40-up5k"):
        make_plan(net, config)


def test_the_placement_seed_travels_with_the_config_and_must_be_positive():
    config = HwConfig(lanes=2, place_seed=3)
    assert HwConfig.from_json(config.to_json()).place_seed == 3
    assert HwConfig.from_json({**HwConfig().to_json(), "place_seed": 1}) == HwConfig()
    doc = HwConfig().to_json()
    doc.pop("place_seed")
    assert HwConfig.from_json(doc).place_seed == 1  # manifests written before it existed
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="place_seed must be a positive integer"):
            HwConfig(place_seed=bad)
