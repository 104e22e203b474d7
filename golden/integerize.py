"""The integerization rule shared by conversion and weight-quantized training.

For a conv/linear layer with BatchNorm folded in (``W'``, ``b'``), threshold ``theta = T/k``
and scale ``s`` (one per output channel for hidden layers, one for the readout)::

    W_int = round(theta W' s),  b_int = round(b' s),  theta_int = max(round(theta s), 1)
    s_c   = (2^(B-1) - 1) / (theta max|W'_c|)             (largest weight fills B bits)

and with exact thresholds ``s_c`` is lowered to ``floor(theta s_c) / theta`` so that
``theta s_c`` is an integer. The layer's ANN equivalent is then, for spike counts ``N``::

    z = (W_int N + T b_int) / (k theta_int)   (hidden; the activation compares with theta)
    logits = (W_int N + T b_int) / (k theta s)  (readout; any positive scale keeps argmax)

Training with these rounded weights (straight-through rounding) makes the quantized ANN at
T = 1 the same function as the integer SNN that conversion writes.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["fold_batchnorm", "integer_scales", "integer_thresholds", "integer_layer"]


def fold_batchnorm(weight: torch.Tensor, bias: torch.Tensor, bn):
    """``(W', b')`` of ``weight``/``bias`` with eval-mode BatchNorm ``bn`` folded in:
    ``W' = W g``, ``b' = (b - mean) g + beta``, ``g = gamma / sqrt(var + eps)``.
    Differentiable in ``weight``, ``bias``, ``gamma`` and ``beta``; computed in
    ``weight``'s dtype."""
    dtype = weight.dtype
    g = bn.weight.to(dtype) / torch.sqrt(bn.running_var.to(dtype) + bn.eps)
    shape = (-1,) + (1,) * (weight.dim() - 1)
    return (weight * g.reshape(shape),
            (bias - bn.running_mean.to(dtype)) * g + bn.bias.to(dtype))


def integer_scales(weight: np.ndarray, theta: float, weight_width: int, per_row: bool,
                   exact_thresholds: bool = False) -> np.ndarray:
    """The scale ``s`` of each output row of the folded ``weight`` (float64, one per row;
    all equal unless ``per_row``)."""
    limit = (1 << (weight_width - 1)) - 1
    rows = np.abs(weight.reshape(weight.shape[0], -1)).max(axis=1)
    if not per_row:
        rows = np.full_like(rows, rows.max())
    rows = np.where(rows > 0, rows, 1.0)
    scale = limit / (theta * rows)
    if exact_thresholds:
        scale = np.maximum(np.floor(theta * scale), 1) / theta
    return scale


def integer_thresholds(scale: np.ndarray, theta: float) -> np.ndarray:
    """``theta_int = max(round(theta s), 1)`` per row (int64)."""
    return np.maximum(np.rint(theta * scale), 1).astype(np.int64)


def _round_straight_through(x: torch.Tensor) -> torch.Tensor:
    return x + (torch.round(x) - x).detach()


def integer_layer(module, bn, theta: float, weight_width: int, per_row: bool,
                  exact_thresholds: bool = False):
    """``(W_int, b_int, theta_int, s)`` of a conv/linear ``module`` with BatchNorm ``bn``
    (or None) folded in. ``W_int`` and ``b_int`` are float64 tensors of integers, rounded
    half to even with a straight-through gradient (under ``torch.no_grad()`` they are just
    the integers); ``theta_int`` and ``s`` are numpy arrays, one per row."""
    weight = module.weight.double()
    bias = (module.bias.double() if module.bias is not None
            else torch.zeros(weight.shape[0], dtype=torch.float64))
    if bn is not None:
        weight, bias = fold_batchnorm(weight, bias, bn)
    scale = integer_scales(weight.detach().numpy(), theta, weight_width, per_row,
                           exact_thresholds)
    s = torch.from_numpy(scale)
    shape = (-1,) + (1,) * (weight.dim() - 1)
    return (_round_straight_through(theta * weight * s.reshape(shape)),
            _round_straight_through(bias * s), integer_thresholds(scale, theta), scale)
