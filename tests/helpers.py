"""Small builders shared by the tests."""

import numpy as np

from spikewright.golden.ir import Dense, Flatten, InputChannel, InputSpec, Network


def arr(*values):
    return np.array(values, dtype=np.int64)


def dense_chain(timesteps, hidden_weight, hidden_bias, hidden_threshold, neuron,
                readout_weight, readout_bias, pixels_per_image):
    """input (1 x 1 x n pixels) -> flatten -> hidden dense -> readout."""
    n = pixels_per_image
    spec = InputSpec((1, 1, n), (InputChannel(0, tuple(range(1, timesteps + 1))),))
    hidden_weight = np.asarray(hidden_weight, dtype=np.int64)
    readout_weight = np.asarray(readout_weight, dtype=np.int64)
    return Network(timesteps=timesteps, input=spec, layers=(
        Flatten("flatten"),
        Dense("fc1", n, hidden_weight.shape[0], "if" if neuron == "if" else neuron,
              hidden_weight, np.asarray(hidden_bias, dtype=np.int64),
              np.asarray(hidden_threshold, dtype=np.int64)),
        Dense("out", hidden_weight.shape[0], readout_weight.shape[0], "none", readout_weight,
              np.asarray(readout_bias, dtype=np.int64)),
    ))


def conv_then_asg_pooling(conv_rng, pool_rng, weight_rng, hidden: int = 0):
    """An ASG conv network at T = 3 (``random_conv_network``, one conv) with an ASG average
    pooling after its conv, then (``hidden`` > 0) an ASG dense layer of that many neurons,
    and its readout refitted to what now precedes it."""
    import dataclasses

    from spikewright.golden.random_network import _pooling, random_conv_network
    net = random_conv_network(conv_rng, neuron="asg", timesteps=3, depthwise=False, depth=1)
    conv, readout = net.layers[0], net.layers[-1]
    shape = conv.output_shape(net.input.encoded_shape)
    pool = _pooling(pool_rng, "pool1", shape[0], shape[1], shape[2], "asg", 3)
    features = int(np.prod(pool.output_shape(shape)))
    layers = [conv, pool, Flatten("flatten")]
    if hidden:
        layers.append(Dense("fc1", features, hidden, "asg",
                            weight_rng.integers(-4, 4, (hidden, features)),
                            weight_rng.integers(-2, 2, hidden), weight_rng.integers(1, 6, hidden)))
        features = hidden
    layers.append(dataclasses.replace(readout, in_features=features, membrane_width=None,
                                      weight=weight_rng.integers(-4, 4, (readout.out_features,
                                                                         features))))
    return dataclasses.replace(net, layers=tuple(layers))


def trained(digits, arch, timesteps=1, k=4, ice=False, epochs=3, seed=0):
    """A ConvertibleNet of ``arch`` trained briefly on the ``digits`` fixture's data."""
    import torch

    from spikewright.golden.train import ConvertibleNet, train_model
    torch.set_num_threads(1)
    (x, y), _ = digits
    net = ConvertibleNet(arch, (1, 8, 8), timesteps, k, ice, seed=seed)
    train_model(net, x, y, epochs=epochs, lr=5e-3, batch_size=64, max_shift=0, seed=seed)
    return net
