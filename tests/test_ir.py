
import numpy as np
import pytest

from spikewright.golden import IRError, WidthError
from spikewright.golden.ir import Conv2d, Dense, Flatten, InputChannel, InputSpec, Network


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
