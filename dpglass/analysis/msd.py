"""Mean squared displacement over all time origins.

``msd_fft`` is the O(T log T) algorithm of Kneller et al. (nMoldyn) as popularised by Kehl:
MSD(m) = S1(m) - 2 S2(m), where S2 is the position autocorrelation (via FFT) and S1 follows from
running sums of squared positions. ``msd_direct`` is the O(T²) definition, kept as the reference
that tests and the benchmark compare against.
"""

from __future__ import annotations

import numpy as np

# Atoms per FFT batch: bounds the complex work array to ~ 2T × batch × 3 × 16 bytes.
FFT_ATOM_BATCH = 64


def msd_fft(positions: np.ndarray) -> np.ndarray:
    """Per-direction MSD averaged over atoms and all time origins.

    positions: (n_frames, n_atoms, 3) unwrapped. Returns (n_frames, 3): lag m = 0 .. n_frames-1.
    """
    positions = np.asarray(positions)
    if positions.ndim == 2:
        positions = positions[:, None, :]
    n_frames, n_atoms, _ = positions.shape
    n_fft = 2 * n_frames  # zero padding to 2T turns the circular correlation into a linear one
    origins_per_lag = n_frames - np.arange(n_frames)
    total = np.zeros((n_frames, 3))
    for start in range(0, n_atoms, FFT_ATOM_BATCH):
        batch = positions[:, start:start + FFT_ATOM_BATCH].astype(np.float64)
        spectrum = np.fft.rfft(batch, n=n_fft, axis=0)
        autocorrelation = np.fft.irfft(spectrum * spectrum.conj(), n=n_fft, axis=0)[:n_frames]
        squares = batch**2
        # S1(m) = Σ_{k<T-m} x_k² + Σ_{k>=m} x_k², from the running sum of x².
        cumulative = np.concatenate([np.zeros((1,) + squares.shape[1:]),
                                     np.cumsum(squares, axis=0)])
        head = cumulative[n_frames - np.arange(n_frames)]
        tail = cumulative[n_frames] - cumulative[np.arange(n_frames)]
        total += (head + tail - 2.0 * autocorrelation).sum(axis=1)
    return total / (origins_per_lag[:, None] * n_atoms)


def msd_direct(positions: np.ndarray, lags: np.ndarray | None = None) -> np.ndarray:
    """Reference O(T²) per-direction MSD at ``lags`` (default all), averaged over atoms."""
    positions = np.asarray(positions, dtype=np.float64)
    if positions.ndim == 2:
        positions = positions[:, None, :]
    n_frames = positions.shape[0]
    lags = np.arange(n_frames) if lags is None else np.asarray(lags)
    result = np.zeros((len(lags), 3))
    for row, lag in enumerate(lags):
        displacement = positions[lag:] - positions[:n_frames - lag]
        result[row] = (displacement**2).mean(axis=(0, 1))
    return result
