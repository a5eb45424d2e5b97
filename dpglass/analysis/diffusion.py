"""Diffusion coefficients from MSDs, with uncertainties that account for correlated lags.

MSD values at different lags share the same displacements, so they are strongly correlated and the
ordinary least-squares standard error of a windowed fit is far too small. The fit here is
generalised least squares with the exact covariance of the time-averaged MSD of a Gaussian random
walk (the model behind kinisi; Bullerjahn et al., J. Chem. Phys. 153, 024116 (2020)), scaled by the
fitted D and, where the data scatter more than a random walk would, by the reduced chi-square.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

# Lags used in the GLS fit: enough to pin the slope, few enough to keep the covariance cheap and
# well conditioned (neighbouring lags carry almost no new information).
MAX_GLS_LAGS = 32


@dataclass
class LinearMsdFit:
    """MSD ≈ 2·dimensions·D·t + intercept over a window of lags."""

    D_A2_per_ps: float
    D_error_A2_per_ps: float
    intercept_A2: float
    reduced_chi2: float


@dataclass
class FitWindow:
    start_index: int
    end_index: int
    note: str | None


@lru_cache(maxsize=64)
def _random_walk_covariance_shape(n_steps: int, lags: tuple) -> np.ndarray:
    """Cov of the 1-D time-averaged MSD at ``lags`` for unit per-step variance, one particle.

    Displacements over [k, k+m) and [k', k'+m') are Gaussian with covariance equal to the number
    of shared steps, and Cov(A², B²) = 2 Cov(A, B)² for zero-mean Gaussians; summing over origin
    pairs only needs the origin offset d = k' - k.
    """
    covariance = np.empty((len(lags), len(lags)))
    for row, lag_a in enumerate(lags):
        origins_a = n_steps - lag_a + 1
        for col in range(row, len(lags)):
            lag_b = lags[col]
            origins_b = n_steps - lag_b + 1
            offsets = np.arange(-(origins_a - 1), origins_b)
            pairs = (np.minimum(origins_a - 1, origins_b - 1 - offsets)
                     - np.maximum(0, -offsets) + 1).clip(min=0)
            shared = (np.minimum(lag_a, offsets + lag_b) - np.maximum(0, offsets)).clip(min=0)
            covariance[row, col] = covariance[col, row] = (
                2.0 * np.sum(pairs * shared.astype(float)**2) / (origins_a * origins_b))
    return covariance


def fit_msd_gls(lag_steps: np.ndarray, msd: np.ndarray, dt_ps: float, n_steps: int,
                n_particles: int, dimensions: int = 3) -> LinearMsdFit:
    """Fit MSD = 2·dimensions·D·t + c on the given lags by GLS with random-walk covariance.

    n_steps: frames - 1 of the trajectory the MSD was averaged over; n_particles: independent
    walkers averaged (1 for a collective displacement).
    """
    picks = np.unique(np.linspace(0, len(lag_steps) - 1, min(MAX_GLS_LAGS, len(lag_steps)))
                      .round().astype(int))
    lags = np.asarray(lag_steps)[picks]
    values = np.asarray(msd)[picks]
    design = np.column_stack([lags * dt_ps, np.ones(len(lags))])
    shape = _random_walk_covariance_shape(int(n_steps), tuple(int(lag) for lag in lags))
    # The covariance scales as D² only, so the GLS point estimate does not depend on D.
    shape = shape + np.eye(len(lags)) * 1e-10 * np.trace(shape) / len(lags)
    cholesky = np.linalg.cholesky(shape)
    whitened_design = np.linalg.solve(cholesky, design)
    whitened_values = np.linalg.solve(cholesky, values)
    coefficients, *_ = np.linalg.lstsq(whitened_design, whitened_values, rcond=None)
    slope, intercept = coefficients
    D = slope / (2.0 * dimensions)
    per_step_variance = 2.0 * abs(D) * dt_ps  # s² per dimension for the random walk
    scale = dimensions * per_step_variance**2 / n_particles
    residuals = whitened_values - whitened_design @ coefficients
    dof = len(lags) - 2
    reduced_chi2 = float(residuals @ residuals / scale / dof) if dof > 0 and scale > 0 else 1.0
    # Inflate (never shrink) the random-walk errors when the data scatter more than it allows.
    inflation = max(1.0, reduced_chi2)
    parameter_covariance = np.linalg.inv(whitened_design.T @ whitened_design) * scale * inflation
    return LinearMsdFit(float(D), float(np.sqrt(parameter_covariance[0, 0]) / (2 * dimensions)),
                        float(intercept), reduced_chi2)


def select_fit_window(msd_total: np.ndarray, max_lag_fraction: float = 0.5,
                      slope_tolerance: float = 0.3, settled_intervals: int = 3) -> FitWindow:
    """Pick the diffusive window of lag indices from the MSD itself.

    End: lag <= max_lag_fraction × trajectory length, since longer lags average over too few
    independent origins. Start: the first lag from which the local log-log slope stays within
    1 ± slope_tolerance for ``settled_intervals`` grid steps (a factor ~4 in lag), so the
    ballistic (slope 2) and caged (slope ~0) regimes are skipped. Scanning from short lags, where
    the MSD is precise, keeps noise at long lags from moving the start.
    """
    n_frames = len(msd_total)
    end = int(max_lag_fraction * (n_frames - 1))
    if end < 4:
        raise ValueError(f"max_lag_fraction={max_lag_fraction} leaves {end} lags of "
                         f"{n_frames} frames; need at least 4")
    # ~5 points per decade: coarse enough that the slope is not dominated by noise.
    grid = np.unique(np.geomspace(1, end, max(3, int(5 * np.log10(end)) + 1)).round().astype(int))
    local_slope = np.diff(np.log(np.maximum(msd_total[grid], 1e-300))) / np.diff(np.log(grid))
    inside = np.abs(local_slope - 1.0) <= slope_tolerance
    for first in range(len(inside)):
        if inside[first:first + settled_intervals].all() and grid[first] <= end // 2:
            return FitWindow(int(grid[first]), end, None)
    return FitWindow(end // 2, end, f"no lag range with log-log MSD slope within "
                                    f"1±{slope_tolerance}; fitted the second half of the "
                                    f"allowed lags")
