"""An independent NIR consumer: a NIR graph run by nirtorch (NIR's PyTorch interpreter).

nirtorch maps Affine, Conv2d, Flatten and SumPool2d to torch modules itself; the IF neuron
is given here as NIR defines it, not as spikewright computes it::

    v <- v + r * I;   z = v > v_threshold;   v <- v_reset where z

(Affine is given too: nirtorch 2.6's own mapping drops the bias.) The logits are the sum of
the graph's output over the T steps, fed one image at a time with the input spike trains of
the IR's encoder.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["NirIF", "nirtorch_module", "run_graph"]


class NirIF(torch.nn.Module):
    """NIR's integrate-and-fire node: ``v += r I; z = v > v_threshold; v = v_reset where z``."""

    def __init__(self, node):
        super().__init__()
        for name, value in (("r", node.r), ("threshold", node.v_threshold),
                            ("reset", node.v_reset)):
            self.register_buffer(name, torch.from_numpy(np.asarray(value, np.float32)))

    def forward(self, x, state=None):
        v = (torch.zeros_like(x) if state is None else state) + self.r * x
        fired = v > self.threshold
        return fired.to(x.dtype), torch.where(fired, self.reset, v)


def _affine(node) -> torch.nn.Linear:
    module = torch.nn.Linear(node.weight.shape[1], node.weight.shape[0])
    module.weight.data = torch.from_numpy(np.asarray(node.weight, np.float32))
    module.bias.data = torch.from_numpy(np.asarray(node.bias, np.float32))
    return module


def nirtorch_module(graph):
    """The graph as a stateful torch module (``output, state = module(x, state)``)."""
    import nir
    import nirtorch
    return nirtorch.nir_to_torch(graph, {nir.IF: NirIF, nir.Affine: _affine})


def run_graph(graph, spikes: np.ndarray) -> np.ndarray:
    """Logits ``[N, classes]``: the sum over steps of the graph's output for input spikes
    ``[T, N, *encoded_shape]`` (:func:`spikewright.golden.encoding.input_spike_train`)."""
    module = nirtorch_module(graph)
    logits = []
    with torch.no_grad():
        for image in range(spikes.shape[1]):
            state, total = None, 0
            for step in range(spikes.shape[0]):
                out, state = module(torch.from_numpy(spikes[step, image].astype(np.float32)),
                                    state)
                total = total + out
            logits.append(total.numpy())
    return np.rint(np.array(logits, dtype=np.float64)).astype(np.int64)
