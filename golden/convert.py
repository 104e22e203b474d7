"""Conversion of a trained ANN (torch) to the integer network (IR).

Steps (Yan, Zhou & Wong; DESIGN.md sections 1.4 and 2):

1. Fold BatchNorm into the preceding conv/linear:
   ``W' = W * g``, ``b' = (b - mean) * g + beta`` with ``g = gamma / sqrt(var + eps)``.
2. Scale to SNN units and integerize. Hidden layers use one scale per output channel
   ``s_c`` (a channel's output depends on its own row only, and the IR has a threshold per
   channel), chosen so that the largest weight magnitude of the row fills ``weight_width``:
   ``W_int = round(theta W' s_c)``, ``b_int = round(b' s_c)``, ``theta_int = round(theta s_c)``.
   The readout uses one scale for the layer, so logits stay comparable across classes.
3. Average pooling of kernel ``p`` becomes a depthwise conv2d with weights 1, bias 0,
   threshold ``p*p`` and stride ``p``: exactly ``floor(sum N_in / p^2)``.

The result with ASG neurons equals the integer quantized ANN
``N_out = clip(floor((W_int N_in + T b_int) / theta_int), 0, T)``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .errors import UnsupportedLayerError
from .integerize import integer_layer
from .ir import Conv2d, Dense, Flatten, Network, Neuron
from .train import ConvertibleNet, QuantAct

__all__ = ["convert", "SUPPORTED_MODULES"]

SUPPORTED_MODULES = ("Conv2d", "Linear", "BatchNorm1d", "BatchNorm2d", "AvgPool2d", "Flatten",
                     "QuantAct")


def _groups(modules):
    """Split the body into (kind, [modules]) blocks, refusing anything unsupported."""
    blocks, i = [], 0
    while i < len(modules):
        m = modules[i]
        name = type(m).__name__
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            block = [m]
            if i + 1 < len(modules) and isinstance(modules[i + 1], (nn.BatchNorm1d, nn.BatchNorm2d)):
                block.append(modules[i + 1])
            nxt = i + len(block)
            if nxt < len(modules) and isinstance(modules[nxt], QuantAct):
                block.append(modules[nxt])
            blocks.append(("weighted", block))
            i += len(block)
        elif isinstance(m, nn.AvgPool2d):
            if i + 1 >= len(modules) or not isinstance(modules[i + 1], QuantAct):
                raise UnsupportedLayerError("AvgPool2d must be followed by the "
                                            "conversion-aware activation (QuantAct)")
            blocks.append(("avgpool", [m]))
            i += 2
        elif isinstance(m, nn.Flatten):
            blocks.append(("flatten", [m]))
            i += 1
        else:
            raise UnsupportedLayerError(
                f"module {i} ({name}) cannot be converted; supported modules: "
                f"{', '.join(SUPPORTED_MODULES)} (each conv/linear but the last followed by "
                f"QuantAct)")
    return blocks


def _pool_layer(name, pool: nn.AvgPool2d, channels: int, neuron: Neuron) -> Conv2d:
    kernel = pool.kernel_size if isinstance(pool.kernel_size, int) else pool.kernel_size[0]
    stride = pool.stride if isinstance(pool.stride, int) else pool.stride[0]
    padding = pool.padding if isinstance(pool.padding, int) else pool.padding[0]
    if stride != kernel or padding != 0:
        raise UnsupportedLayerError(f"AvgPool2d must have stride == kernel_size and no "
                                    f"padding, not kernel {kernel}, stride {stride}, "
                                    f"padding {padding}")
    return Conv2d(name=name, in_channels=channels, out_channels=channels,
                  kernel_size=(kernel, kernel), stride=(kernel, kernel), padding=(0, 0),
                  groups=channels, neuron=neuron,
                  weight=np.ones((channels, 1, kernel, kernel), dtype=np.int64),
                  bias=np.zeros(channels, dtype=np.int64),
                  threshold=np.full(channels, kernel * kernel, dtype=np.int64))


def convert(model: ConvertibleNet, *, weight_width: int = 8, neuron: str = "if",
            exact_thresholds: bool = False, metadata: dict | None = None) -> Network:
    """Convert a trained :class:`ConvertibleNet` to an IR network (widths minimal).

    ``exact_thresholds`` lowers each hidden channel's scale to the largest one at which
    ``theta * s_c`` is an integer, so thresholds are exact and only weights and biases are
    rounded (at T=1 on the shipped seed CNN, 8-bit weights: 98.73% instead of 98.65%).
    """
    if isinstance(weight_width, bool) or not isinstance(weight_width, int) or weight_width < 2:
        raise ValueError(f"weight_width must be an integer of at least 2 bits, "
                         f"not {weight_width!r}")
    hidden_neuron = Neuron(neuron)
    if hidden_neuron is Neuron.NONE:
        raise ValueError("hidden neuron must be 'if' or 'asg', not 'none'")
    model.eval()
    theta = model.timesteps / model.k
    blocks = _groups(list(model.body))
    layers, channels = [], len(model.encoder.spec.channels)
    counters = {"conv": 0, "fc": 0, "pool": 0, "flatten": 0}
    for index, (kind, block) in enumerate(blocks):
        last = index == len(blocks) - 1
        if kind == "flatten":
            counters["flatten"] += 1
            layers.append(Flatten(f"flatten{counters['flatten']}"))
            continue
        if kind == "avgpool":
            counters["pool"] += 1
            layers.append(_pool_layer(f"pool{counters['pool']}", block[0], channels,
                                      hidden_neuron))
            continue
        module = block[0]
        has_act = isinstance(block[-1], QuantAct)
        if last == has_act:
            raise UnsupportedLayerError(
                f"module {type(module).__name__} at block {index}: every conv/linear but the "
                f"last must be followed by QuantAct, and the last (the readout) must not")
        bn = block[1] if len(block) > 1 and isinstance(
            block[1], (nn.BatchNorm1d, nn.BatchNorm2d)) else None
        with torch.no_grad():
            w_int, b_int, th_int, _ = integer_layer(
                module, bn, theta, weight_width, per_row=not last,
                exact_thresholds=exact_thresholds and not last)
        w_int, b_int = w_int.numpy().astype(np.int64), b_int.numpy().astype(np.int64)
        layer_neuron = Neuron.NONE if last else hidden_neuron
        threshold = None if last else th_int
        if isinstance(module, nn.Conv2d):
            if module.dilation != (1, 1) or module.padding_mode != "zeros":
                raise UnsupportedLayerError(f"Conv2d with dilation {module.dilation} or "
                                            f"padding_mode {module.padding_mode!r} is not "
                                            f"supported; use dilation 1 and zero padding")
            counters["conv"] += 1
            layers.append(Conv2d(name=f"conv{counters['conv']}", in_channels=module.in_channels,
                                 out_channels=module.out_channels,
                                 kernel_size=module.kernel_size, stride=module.stride,
                                 padding=module.padding, groups=module.groups,
                                 neuron=layer_neuron, weight=w_int, bias=b_int,
                                 threshold=threshold, weight_width=weight_width))
            channels = module.out_channels
        else:
            counters["fc"] += 1
            layers.append(Dense(name=f"fc{counters['fc']}", in_features=module.in_features,
                                out_features=module.out_features, neuron=layer_neuron,
                                weight=w_int, bias=b_int, threshold=threshold,
                                weight_width=weight_width))
    info = {"k": model.k, "ice": model.ice, "weight_width": weight_width,
            "hidden_neuron": hidden_neuron.value, **(metadata or {})}
    if exact_thresholds:
        info["exact_thresholds"] = True
    return Network(timesteps=model.timesteps, input=model.encoder.spec, layers=tuple(layers),
                   metadata=info)
