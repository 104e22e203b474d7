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


def trained(digits, arch, timesteps=1, k=4, ice=False, epochs=3, seed=0):
    """A ConvertibleNet of ``arch`` trained briefly on the ``digits`` fixture's data."""
    import torch

    from spikewright.golden.train import ConvertibleNet, train_model
    torch.set_num_threads(1)
    (x, y), _ = digits
    net = ConvertibleNet(arch, (1, 8, 8), timesteps, k, ice, seed=seed)
    train_model(net, x, y, epochs=epochs, lr=5e-3, batch_size=64, max_shift=0, seed=seed)
    return net
