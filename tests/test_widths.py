import numpy as np
from hypothesis import given, settings, strategies as st

from spikewright.golden import model
from spikewright.golden.ir import Dense, Flatten, InputChannel, InputSpec, Network
from spikewright.golden.random_network import random_conv_network, random_dense_network, random_pixels
from spikewright.golden.widths import signed_width, state_bounds


def test_signed_width():
    assert signed_width(0, 0) == 1
    assert signed_width(-1, 0) == 1
    assert signed_width(0, 1) == 2
    assert signed_width(-128, 127) == 8
    assert signed_width(-129, 0) == 9
    assert signed_width(0, 128) == 9


def test_if_bound_by_hand():
    # w = [3, -2], b = 1, theta = 4, T = 2. Step 1: partial sums in [0-2+0, 0+3+1] = [-2, 4],
    # after charge [-1, 4], after reset [-1, max(min(4, 3), 4-4)] = [-1, 3].
    # Step 2: partial sums in [-1-2, 3+3+1] = [-3, 7].
    assert state_bounds(np.array([[3, -2]]), np.array([1]), np.array([4]), "if", 2) == (-3, 7)


def _single_layer(weight, bias, threshold, neuron, timesteps):
    out, fan_in = weight.shape
    spec = InputSpec((1, 1, fan_in), (InputChannel(0, (1,) * timesteps),))
    return Network(timesteps, spec, (
        Flatten("f"),
        Dense("h", fan_in, out, neuron, weight, bias, threshold),
        Dense("o", out, 1, "none", np.ones((1, out), np.int64), np.zeros(1, np.int64))))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), neuron=st.sampled_from(["if", "asg"]),
       timesteps=st.integers(1, 6))
def test_extreme_input_reaches_the_upper_bound_and_never_passes_it(seed, neuron, timesteps):
    rng = np.random.default_rng(seed)
    weight = rng.integers(-50, 51, size=(3, 6))
    bias = rng.integers(0, 20, size=3)
    threshold = rng.integers(1, 400, size=3)
    net = _single_layer(weight, bias, threshold, neuron, timesteps)
    layer = net.layers[1]
    lo, hi = layer.state_range(timesteps)
    peaks = []
    for j in range(3):
        # Inputs with a positive weight into neuron j see pixel 255 and fire every step;
        # the others see pixel 0 and never fire (every threshold is 1).
        px = np.where(weight[j] > 0, 255, 0).astype(np.uint8).reshape(1, 1, 1, 6)
        observed = model.run(net, px, observe_state=True).state_range["h"]
        assert lo <= observed[0] and observed[1] <= hi
        peaks.append(observed[1])
    if neuron == "if":
        # with all-positive bias the step increment pos + b is reached after the first charge
        assert max(peaks) >= int((np.where(weight > 0, weight, 0).sum(1) + bias).max())


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), conv=st.booleans())
def test_no_state_leaves_its_recorded_width_on_random_networks(seed, conv):
    rng = np.random.default_rng(seed)
    net = (random_conv_network if conv else random_dense_network)(rng)
    result = model.run(net, random_pixels(rng, net, 32), observe_state=True)
    for layer in net.weighted_layers:
        lo, hi = result.state_range[layer.name]
        assert -(1 << (layer.membrane_width - 1)) <= lo
        assert hi <= (1 << (layer.membrane_width - 1)) - 1
