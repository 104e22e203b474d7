"""Static bounds on every state register, so that no register can overflow.

Each layer's neurons receive, per time step, binary input spikes ``s_i`` through integer
weights ``w_i`` plus a bias ``b``. Whatever the spikes and whatever the order in which the
hardware adds the selected weights, every partial sum of one step lies in
``[V + neg + min(b, 0), V + pos + max(b, 0)]`` with ``pos``/``neg`` the sums of the
positive/negative weights of the neuron. Iterating that interval through the neuron's
update over the window gives a bound that holds for every input; with the worst-case input
(all positive weights selected at every step) the upper bound after charging is reached.

State registers bounded here (all signed):

- IF: the membrane ``V``; ``V += W s + b; if V >= theta: V -= theta``.
- ASG: the window accumulator ``A += W s + b`` and the regenerator
  ``U += A; if U >= T*theta: U -= T*theta``.
- readout: the logit ``L += W s + b``.

The threshold itself (``T*theta`` for ASG) is included, since the hardware compares
against it in the same width.
"""

from __future__ import annotations

import numpy as np

__all__ = ["signed_width", "state_bounds", "fits_signed"]


def signed_width(lo: int, hi: int) -> int:
    """Return the fewest bits of a two's complement register that holds ``[lo, hi]``."""
    lo, hi = int(lo), int(hi)
    bits = 1
    while not (-(1 << (bits - 1)) <= lo and hi <= (1 << (bits - 1)) - 1):
        bits += 1
    return bits


def fits_signed(values: np.ndarray, width: int) -> bool:
    """Return whether every value fits a signed ``width``-bit register."""
    if values.size == 0:
        return True
    return bool(values.min() >= -(1 << (width - 1)) and values.max() <= (1 << (width - 1)) - 1)


def _reset_bounds(c_lo, c_hi, threshold):
    """Bounds of ``v - theta*(v >= theta)`` for ``v`` in ``[c_lo, c_hi]``, elementwise."""
    r_hi = np.maximum(np.minimum(c_hi, threshold - 1), c_hi - threshold)
    r_lo = np.where(c_lo >= threshold, c_lo - threshold, c_lo)
    return r_lo, r_hi


def _integrate_bounds(pos, neg, bias, timesteps):
    """Bounds of ``A += W s + b`` over ``timesteps`` steps: (lo, hi, final_lo, final_hi)."""
    step_lo, step_hi = neg + bias, pos + bias
    a_lo = np.zeros_like(pos)
    a_hi = np.zeros_like(pos)
    lo, hi = a_lo.copy(), a_hi.copy()
    for _ in range(timesteps):
        lo = np.minimum(lo, a_lo + neg + np.minimum(bias, 0))
        hi = np.maximum(hi, a_hi + pos + np.maximum(bias, 0))
        a_lo, a_hi = a_lo + step_lo, a_hi + step_hi
    return lo, hi, a_lo, a_hi


def _threshold_bounds(inc_lo, inc_hi, part_lo, part_hi, threshold, timesteps):
    """Bounds of ``V += inc; if V >= theta: V -= theta`` with partial sums ``part``."""
    v_lo = np.zeros_like(inc_lo)
    v_hi = np.zeros_like(inc_hi)
    lo, hi = v_lo.copy(), v_hi.copy()
    for _ in range(timesteps):
        lo = np.minimum(lo, v_lo + part_lo)
        hi = np.maximum(hi, v_hi + part_hi)
        v_lo, v_hi = _reset_bounds(v_lo + inc_lo, v_hi + inc_hi, threshold)
    return lo, hi


def state_bounds(weight_rows: np.ndarray, bias: np.ndarray, threshold, neuron: str,
                 timesteps: int) -> tuple[int, int]:
    """Return ``(lo, hi)``: the range of every state register of a layer, for any input.

    ``weight_rows`` is ``[out, fan_in]`` (a conv weight reshaped per output channel: the
    bound of an interior position covers the border ones, which see fewer inputs).
    ``threshold`` is ``[out]``, or ``None`` for the readout (``neuron == "none"``).
    """
    rows = np.asarray(weight_rows, dtype=np.int64)
    bias = np.asarray(bias, dtype=np.int64)
    pos = np.where(rows > 0, rows, 0).sum(axis=1)
    neg = np.where(rows < 0, rows, 0).sum(axis=1)
    if neuron == "none":
        lo, hi, _, _ = _integrate_bounds(pos, neg, bias, timesteps)
    elif neuron == "if":
        threshold = np.asarray(threshold, dtype=np.int64)
        lo, hi = _threshold_bounds(neg + bias, pos + bias, neg + np.minimum(bias, 0),
                                   pos + np.maximum(bias, 0), threshold, timesteps)
        hi = np.maximum(hi, threshold)
    elif neuron == "asg":
        threshold = np.asarray(threshold, dtype=np.int64)
        a_lo, a_hi, fin_lo, fin_hi = _integrate_bounds(pos, neg, bias, timesteps)
        u_lo, u_hi = _threshold_bounds(fin_lo, fin_hi, fin_lo, fin_hi,
                                       timesteps * threshold, timesteps)
        lo = np.minimum(a_lo, u_lo)
        hi = np.maximum(np.maximum(a_hi, u_hi), timesteps * threshold)
    else:
        raise ValueError(f"neuron must be one of 'if', 'asg', 'none', not {neuron!r}")
    return int(lo.min(initial=0)), int(hi.max(initial=0))
