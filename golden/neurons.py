"""Neuron dynamics as named stages: charge, fire, reset (the RTL has the same stages).

All arrays are int64; ``current`` is ``W s(t) + b`` of one step.

IF (integrate-and-fire, reset by subtraction, no leak, ``V(0) = 0``)::

    V <- V + I(t)                       # charge
    s(t) = V >= theta                   # fire
    V <- V - theta * s(t)               # reset

ASG (average, then spike-generate), over two windows of ``T`` steps::

    phase 1 (window w):   A <- A + I(t)
    phase 2 (window w+1): U <- U + A; s(t) = U >= T*theta; U <- U - T*theta * s(t)

which emits ``N = min(T, floor(A / theta))`` spikes (0 if ``A < 0``).

Readout (no spikes)::

    L <- L + I(t)   over the window
"""

from __future__ import annotations

import numpy as np

__all__ = ["charge", "fire", "reset", "if_window", "asg_window", "readout_window"]


def charge(v: np.ndarray, current: np.ndarray) -> np.ndarray:
    return v + current


def fire(v: np.ndarray, threshold: np.ndarray) -> np.ndarray:
    return v >= threshold


def reset(v: np.ndarray, spikes: np.ndarray, threshold: np.ndarray) -> np.ndarray:
    return v - threshold * spikes


def if_window(currents: np.ndarray, threshold: np.ndarray, observe=None) -> np.ndarray:
    """Run IF neurons over ``currents`` ``[T, N, *shape]``; return spikes of the same shape.

    ``threshold`` broadcasts against one step (``[C, 1, 1]`` for conv, ``[F]`` for dense).
    ``observe(state)`` is called with the membrane after each charge, if given.
    """
    v = np.zeros(currents.shape[1:], dtype=np.int64)
    spikes = np.empty(currents.shape, dtype=bool)
    for t in range(currents.shape[0]):
        v = charge(v, currents[t])
        if observe is not None:
            observe(v)
        spikes[t] = fire(v, threshold)
        v = reset(v, spikes[t], threshold)
    return spikes


def asg_window(currents: np.ndarray, threshold: np.ndarray, observe=None) -> np.ndarray:
    """Run ASG neurons: integrate ``currents`` ``[T, N, ...]`` (phase 1), then return the
    spikes ``[T, N, ...]`` they emit in the next window (phase 2)."""
    timesteps = currents.shape[0]
    a = np.zeros(currents.shape[1:], dtype=np.int64)
    for t in range(timesteps):
        a = charge(a, currents[t])
        if observe is not None:
            observe(a)
    u = np.zeros_like(a)
    spikes = np.empty(currents.shape, dtype=bool)
    for t in range(timesteps):
        u = charge(u, a)
        if observe is not None:
            observe(u)
        spikes[t] = fire(u, timesteps * threshold)
        u = reset(u, spikes[t], timesteps * threshold)
    return spikes


def readout_window(currents: np.ndarray, observe=None) -> np.ndarray:
    """Accumulate ``currents`` ``[T, N, classes]`` into integer logits ``[N, classes]``."""
    logits = np.zeros(currents.shape[1:], dtype=np.int64)
    for t in range(currents.shape[0]):
        logits = charge(logits, currents[t])
        if observe is not None:
            observe(logits)
    return logits
