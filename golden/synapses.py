"""Synaptic currents ``I(t) = W s(t) + b`` of dense and conv layers, and their fan-out.

Spikes are 0/1, so every current is an exact integer sum of weights. The sums are computed
with BLAS in floating point, which is exact while every partial sum stays below the
format's integer range: float32 when ``sum |W| + |b| < 2**24``, else float64 below
``2**53``; a layer beyond that is refused rather than rounded.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .ir import Conv2d, Dense

__all__ = ["currents", "weighted_sum", "fanout", "exact_float_dtype"]


def exact_float_dtype(layer, input_max: int = 1) -> type:
    """The narrowest float type in which ``W x`` is exact for inputs in ``[0, input_max]``."""
    bound = int(np.abs(layer.weight_rows).sum(axis=1).max()) * input_max
    if bound < 2 ** 24:
        return np.float32
    if bound < 2 ** 53:
        return np.float64
    raise OverflowError(f"layer {layer.name!r} sums up to {bound}, beyond exact float64 "
                        f"(2**53); the golden model cannot evaluate it exactly")


def _dense(layer: Dense, spikes: np.ndarray, dtype) -> np.ndarray:
    return (spikes.astype(dtype) @ layer.weight.T.astype(dtype)).astype(np.int64)


def _conv(layer: Conv2d, spikes: np.ndarray, dtype) -> np.ndarray:
    (kh, kw), (sh, sw), (ph, pw) = layer.kernel_size, layer.stride, layer.padding
    batch, channels, h, w = spikes.shape
    padded = np.zeros((batch, channels, h + 2 * ph, w + 2 * pw), dtype=dtype)
    padded[:, :, ph:ph + h, pw:pw + w] = spikes
    windows = sliding_window_view(padded, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    oh, ow = windows.shape[2], windows.shape[3]
    cin_g = channels // layer.groups
    cout_g = layer.out_channels // layer.groups
    out = np.empty((batch, layer.out_channels, oh, ow), dtype=np.int64)
    for g in range(layer.groups):
        cols = windows[:, g * cin_g:(g + 1) * cin_g].transpose(0, 2, 3, 1, 4, 5)
        cols = cols.reshape(batch * oh * ow, cin_g * kh * kw)
        kernel = layer.weight[g * cout_g:(g + 1) * cout_g].reshape(cout_g, -1).astype(dtype)
        product = (cols @ kernel.T).reshape(batch, oh, ow, cout_g).transpose(0, 3, 1, 2)
        out[:, g * cout_g:(g + 1) * cout_g] = product
    return out


def weighted_sum(layer, inputs: np.ndarray, input_max: int = 1) -> np.ndarray:
    """``W x`` (int64) for integer inputs ``[B, *input_shape]`` in ``[0, input_max]``."""
    dtype = exact_float_dtype(layer, input_max)
    if isinstance(layer, Dense):
        return _dense(layer, inputs, dtype)
    return _conv(layer, inputs, dtype)


def currents(layer, spikes: np.ndarray) -> np.ndarray:
    """``W s + b`` (int64) for spikes ``[B, *input_shape]``; returns ``[B, *output_shape]``."""
    bias = layer.bias.reshape(-1, *([1] * (spikes.ndim - 2)))
    return weighted_sum(layer, spikes) + bias


def fanout(layer, input_shape: tuple) -> np.ndarray:
    """Synapses driven by one spike at each input position (int64, ``input_shape``)."""
    if isinstance(layer, Dense):
        return np.full(input_shape, layer.out_features, dtype=np.int64)
    channels, h, w = input_shape
    (kh, kw), (sh, sw), (ph, pw) = layer.kernel_size, layer.stride, layer.padding
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    covered = np.zeros((h + 2 * ph, w + 2 * pw), dtype=np.int64)
    for i in range(kh):
        for j in range(kw):
            covered[i:i + sh * oh:sh, j:j + sw * ow:sw] += 1
    per_position = covered[ph:ph + h, pw:pw + w] * (layer.out_channels // layer.groups)
    return np.broadcast_to(per_position, input_shape).copy()
