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

Bounds are exact integers: where a sum could leave int64 they are computed with Python's
integers, so a bound never wraps. Widths have an upper limit (:data:`MAX_WEIGHT_WIDTH`,
:data:`MAX_STATE_WIDTH`): the golden model sums in float64 and int64, which is exact below
2**53, and the generated registers stay within what the synthesis tools map well.
"""

from __future__ import annotations

import numpy as np

__all__ = ["signed_width", "state_bounds", "fits_signed", "MAX_WEIGHT_WIDTH",
           "MAX_STATE_WIDTH"]

#: Widest signed weight (bits) the golden model and the generator support.
MAX_WEIGHT_WIDTH = 32
#: Widest signed state register (membrane, accumulator, logit; bits) they support.
MAX_STATE_WIDTH = 48


def signed_width(lo: int, hi: int) -> int:
    """Return the fewest bits of a two's complement register that holds ``[lo, hi]``."""
    lo, hi = int(lo), int(hi)
    return max(max(hi, 0).bit_length(), max(-lo - 1, 0).bit_length()) + 1


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
    largest = max(abs(int(rows.min(initial=0))), abs(int(rows.max(initial=0))))
    reach = (largest * rows.shape[1] + max(abs(int(bias.min(initial=0))),
                                           abs(int(bias.max(initial=0))))) * 2 * timesteps
    if threshold is not None:
        reach += 2 * timesteps * max(abs(int(np.min(threshold))), abs(int(np.max(threshold))))
    if reach >= 1 << 62:
        # beyond int64: the same bounds in Python's exact integers
        rows, bias = rows.astype(object), bias.astype(object)
        if threshold is not None:
            threshold = np.asarray(threshold, dtype=np.int64).astype(object)
    pos = np.where(rows > 0, rows, 0).sum(axis=1)
    neg = np.where(rows < 0, rows, 0).sum(axis=1)
    if neuron == "none":
        lo, hi, _, _ = _integrate_bounds(pos, neg, bias, timesteps)
    elif neuron == "if":
        threshold = np.asarray(threshold, dtype=rows.dtype)
        lo, hi = _threshold_bounds(neg + bias, pos + bias, neg + np.minimum(bias, 0),
                                   pos + np.maximum(bias, 0), threshold, timesteps)
        hi = np.maximum(hi, threshold)
    elif neuron == "asg":
        threshold = np.asarray(threshold, dtype=rows.dtype)
        a_lo, a_hi, fin_lo, fin_hi = _integrate_bounds(pos, neg, bias, timesteps)
        u_lo, u_hi = _threshold_bounds(fin_lo, fin_hi, fin_lo, fin_hi,
                                       timesteps * threshold, timesteps)
        lo = np.minimum(a_lo, u_lo)
        hi = np.maximum(np.maximum(a_hi, u_hi), timesteps * threshold)
    else:
        raise ValueError(f"neuron must be one of 'if', 'asg', 'none', not {neuron!r}")
    return int(min(lo.min(initial=0), 0)), int(max(hi.max(initial=0), 0))
