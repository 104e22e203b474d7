"""Input encoding: uint8 pixels to input spike counts and deterministic spike times.

VR encoding (Yan, Zhou & Wong): a pixel ``x = p / 255`` fires ``n = min(floor(k x), T)``
spikes. As integers: ``n = #{j in 1..T : p >= ceil(255 j / k)}``; a threshold above 255 is
stored as 256 (never reached). ICE expands each source channel into three channels quantized
on the grids ``k-1``, ``k`` and ``k+1``.

Spike times: ``V = 0``; each step ``V += n``; ``if V >= T: spike, V -= T``, which spreads
``n`` spikes evenly over the ``T`` steps of the window.
"""

from __future__ import annotations

import numpy as np

from .ir import PIXEL_THRESHOLD_NEVER, InputChannel, InputSpec

__all__ = ["vr_thresholds", "make_input_spec", "check_pixels", "input_counts",
           "input_spike_train"]


def vr_thresholds(k: int, timesteps: int) -> tuple[int, ...]:
    """Return ``ceil(255 j / k)`` for ``j = 1..T``, 256 where that exceeds 255."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"quantization factor k must be a positive integer, not {k!r}")
    return tuple(min(-(-255 * j // k), PIXEL_THRESHOLD_NEVER) for j in range(1, timesteps + 1))


def make_input_spec(shape, k: int, timesteps: int, ice: bool = False) -> InputSpec:
    """Build the VR (or, with ``ice``, the ICE) encoder for images of ``shape`` (C, H, W)."""
    grids = (k - 1, k, k + 1) if ice else (k,)
    if ice and k < 2:
        raise ValueError(f"ICE needs k >= 2 (it uses the grid k-1), not k={k}")
    channels = [InputChannel(c, vr_thresholds(g, timesteps))
                for c in range(shape[0]) for g in grids]
    return InputSpec(tuple(shape), tuple(channels))


def check_pixels(pixels, shape) -> np.ndarray:
    """Return ``pixels`` as a uint8 ``[N, C, H, W]`` array, or raise naming what is wrong."""
    if not isinstance(pixels, np.ndarray):
        raise TypeError(f"pixels must be a numpy uint8 array, not {type(pixels).__name__}")
    if pixels.dtype != np.uint8:
        raise TypeError(f"pixels must have dtype uint8 (values 0..255), not {pixels.dtype}")
    if pixels.ndim != 4 or pixels.shape[1:] != tuple(shape):
        raise ValueError(f"pixels must have shape [N, {', '.join(map(str, shape))}], "
                         f"not {list(pixels.shape)}")
    return pixels


def input_counts(spec: InputSpec, pixels: np.ndarray) -> np.ndarray:
    """Spike counts ``[N, channels, H, W]`` (int64) of uint8 ``pixels`` ``[N, C, H, W]``."""
    pixels = check_pixels(pixels, spec.shape)
    source = pixels[:, spec.source_array()].astype(np.int64)
    thresholds = spec.threshold_array()
    counts = np.zeros(source.shape, dtype=np.int64)
    for j in range(thresholds.shape[1]):
        counts += source >= thresholds[None, :, j, None, None]
    return counts


def input_spike_train(counts: np.ndarray, timesteps: int) -> np.ndarray:
    """Spikes ``[T, *counts.shape]`` (bool): ``V += n; if V >= T: spike, V -= T``."""
    v = np.zeros(counts.shape, dtype=np.int64)
    steps = np.empty((timesteps, *counts.shape), dtype=bool)
    for t in range(timesteps):
        v += counts
        steps[t] = v >= timesteps
        v -= timesteps * steps[t]
    return steps
