"""Diffusion coefficients from MSDs, with uncertainties measured from the data, and a test of
whether the MSD is diffusive at all.

MSD values at different lags share the same displacements, so they are strongly correlated and the
ordinary least-squares standard error of a windowed fit is far too small. The fit here is
generalised least squares (GLS). Its covariance has two sources:

* the *shape* (how strongly lag i and lag j are correlated through shared steps and overlapping
  time origins) is the exact covariance of the time-averaged MSD of a random walk (Bullerjahn et
  al., J. Chem. Phys. 153, 024116 (2020));
* the *size* at each lag comes from the data: the observed variance of the squared displacements
  over ions and time origins at that lag (the quantity kinisi's covariance is built from,
  McCluskey et al., J. Chem. Theory Comput. 2024), times a factor that measures how correlated the
  ions are (cooperative moves make N ions worth fewer than N independent walkers).

For a Gaussian random walk this is the exact covariance. For an ion that hops, the variance of
its squared displacement at a lag is set by how many hops it made, which the observed variance
measures directly; the random-walk covariance scaled by D² (the previous model) cannot, and gave
±1σ errors that covered the true D in only ~40 % of synthetic hopping trials.

The fit uses every lag from the window start to the end of the run (kinisi's choice too): the
random-walk shape is the exact lag-to-lag covariance at every lag up to the run's length, so the
longest lags, which average over few independent origins, get the small weight they deserve
rather than being cut off. (Fitting to half the run, as before, gave the same D error on the
synthetic families, where the information sits near the window start, and up to ~10 % larger
errors on real MD.) Up to MAX_GLS_LAGS log-spaced lags carry the fit: dense near the start.

The ion-correlation factor compares the ion-averaged r² at a lag with what N independent ions
would give, both measured the same way: from their autocovariance over time origins (about the
time mean), summed over the origin offsets that share steps, |d| < lag, with the random-walk
weight (1 - |d|/lag)² (``_origin_variance``). That is the variance the time-averaged MSD has,
which the covariance needs. The former estimate compared single origins (and divided by the
total variance over ions, with a 1/(1 - 1/m) correction for the mean): correlated motion that
averages out over origins faster, or slower, than a random walk's was counted as if it had the
random-walk's time structure, which the covariance shape then applied a second time; and with
no lag fitting 8 times into the window it fell back to one noisy lag (2.04 on kinisi's
Li6PS5Cl AIMD).

Whether the MSD is diffusive is decided by ``diffusive_verdict``: the log-log slope β over the
window, D from the two halves of the window, the non-Gaussian parameter and a hop criterion (the
ions must have made one hop of the hop distance each, on average, by the window start: the MSD
there reaches the hop distance squared). ``hop_statistics`` states the run in hop events (He et
al., npj Comput. Mater. 4, 18 (2018), the plan's error model) and ``resolution`` says which single
criterion refused a run and how long a run would pass it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

# Lags used in the GLS fit, log-spaced from the window start to its end: enough to pin the slope,
# few enough to keep the covariance cheap and well conditioned (neighbouring lags carry almost no
# new information).
MAX_GLS_LAGS = 32
# The window start may lie at most this fraction of the run in (a quarter: the hop distance must
# be reached by then). Unchanged from when the window ended at half the run and the start was
# capped at half of that.
START_REACH = 0.25
# β is measured over the window's lags up to this fraction of the run: beyond it the MSD rests
# on fewer than two independent origins per ion and its scatter makes the log-log slope noisier
# than its stated error (fitting β to the run's end rejected 14 % of the diffusive back-jump
# family instead of 7 %). D itself is fitted to the end.
BETA_REACH = 0.5
# Log-spaced lags per decade at which the MSD statistics (β, NGP) are evaluated.
GRID_POINTS_PER_DECADE = 8
# The non-Gaussian parameter counts as peaked only above this (a Gaussian walk has α2 = 0 and
# its estimate scatters by ~0.1 with tens of ions).
NGP_PEAK_MINIMUM = 0.2
# Largest |β - 1| over the window for a diffusive MSD, and largest |D_first - D_second| / σ of
# the two half-window estimates.
BETA_TOLERANCE = 0.15
BETA_SIGMAS = 2.0  # ... or this many standard errors of β, when larger
HALVES_MAX_Z = 3.0
# Fewest independent time origins (run length / lag) at which the ion correlation is measured:
# below it the origins' autocovariance rests on too few decorrelated stretches.
MIN_INDEPENDENT_ORIGINS = 4
# Ions per block of the displacement statistics: bounds the work array to origins × block × 3.
ION_BLOCK = 64


@dataclass
class LinearMsdFit:
    """MSD ≈ 2·dimensions·D·t + intercept over a window of lags."""

    D_A2_per_ps: float
    D_error_A2_per_ps: float
    intercept_A2: float
    reduced_chi2: float
    lags: np.ndarray | None = None     # lag indices (steps) the fit used


@dataclass
class FitWindow:
    start_index: int
    end_index: int
    note: str | None
    reasons: dict = field(default_factory=dict)  # which criterion set the start (lag index)
    unmet: list = field(default_factory=list)    # criteria ("hop", "beta") no start could meet


@dataclass
class DisplacementStatistics:
    """Per-lag statistics of the squared displacements r² (summed over ``dimensions`` axes).

    lags: lag indices (steps); msd: mean r² over ions and all time origins; variance: variance
    of r² over ions and origins; ngp: non-Gaussian parameter α2 = d<r⁴>/((d+2)<r²>²) - 1;
    ion_correlation: the variance of the time-averaged, ion-averaged r² over that of N
    independent ions (1 for independent ions, 2 for ions that move in rigid pairs); see
    ``_origin_variance``. NaN where not measured.
    """

    lags: np.ndarray
    msd: np.ndarray
    variance: np.ndarray
    ngp: np.ndarray
    ion_correlation: np.ndarray
    n_ions: int
    n_steps: int


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


def _origin_variance(series: np.ndarray, lag: int) -> np.ndarray:
    """Per column of ``series`` (origins, columns): the variance over time origins of r² at
    ``lag``, weighted by how a random walk correlates it: Σ_|d|<lag (1 - |d|/lag)² Ĉ(d), with
    Ĉ(d) the autocovariance about the column mean at origin offset d. Squared displacements
    over [k, k + lag) and [k + d, k + d + lag) share lag - |d| steps, and for a random walk
    their covariance falls as (1 - |d|/lag)²: the weight matches where a random walk's
    correlation lives, so correlations that die out faster (collective vibrations) count only
    for the offsets they last, and the noisy long-offset tail is damped. The ion-correlation
    factor is a ratio of two such sums, so the weighting cancels for independent ions."""
    n_origins = len(series)
    centred = series - series.mean(axis=0)
    size = 1 << int(np.ceil(np.log2(2 * n_origins)))
    spectrum = np.fft.rfft(centred, n=size, axis=0)
    offsets = min(lag, n_origins)
    autocovariance = np.fft.irfft(spectrum * spectrum.conj(), n=size, axis=0)[:offsets]
    weights = (1.0 - np.arange(offsets) / lag)**2
    return (autocovariance[0] + 2.0 * (weights[1:, None] * autocovariance[1:]).sum(axis=0)) \
        / n_origins


def displacement_statistics(positions: np.ndarray, lags,
                            ion_correlation: bool = True) -> DisplacementStatistics:
    """MSD, variance of r², NGP and ion correlation at ``lags`` (steps), over all time origins.

    positions: (n_frames, n_ions, dimensions) unwrapped (drift-corrected) positions.
    ion_correlation: measure it (NaN otherwise, and where a lag fits fewer than
    MIN_INDEPENDENT_ORIGINS times into the run).
    """
    positions = np.asarray(positions)
    if positions.ndim == 2:
        positions = positions[:, None, :]
    n_frames, n_ions, dimensions = positions.shape
    lags = np.asarray(lags, dtype=int)
    if lags.min() < 1 or lags.max() > n_frames - 1:
        raise ValueError(f"lags must lie in 1..{n_frames - 1}, got {lags.min()}..{lags.max()}")
    measure = [ion_correlation and n_ions > 1
               and (n_frames - 1) / lag >= MIN_INDEPENDENT_ORIGINS for lag in lags]
    sum1, sum2, single = (np.zeros(len(lags)) for _ in range(3))
    per_origin = [np.zeros(n_frames - lag) for lag in lags]
    for start in range(0, n_ions, ION_BLOCK):
        block = positions[:, start:start + ION_BLOCK].astype(np.float64)
        for row, lag in enumerate(lags):
            squared = ((block[lag:] - block[:-lag])**2).sum(axis=2)  # (origins, ions)
            per_ion_sum = squared.sum(axis=1)
            per_origin[row] += per_ion_sum
            sum1[row] += per_ion_sum.sum()
            sum2[row] += np.vdot(squared, squared)
            if measure[row]:
                single[row] += _origin_variance(squared, int(lag)).sum()
    count = (n_frames - lags) * n_ions
    msd = sum1 / count
    second = sum2 / count
    variance = np.maximum(second - msd**2, 0.0)
    safe = np.where(msd > 0, msd, 1.0)
    ngp = np.where(msd > 0, dimensions * second / ((dimensions + 2) * safe**2) - 1.0, 0.0)
    correlation = np.full(len(lags), np.nan)
    for row, lag in enumerate(lags):
        if measure[row] and single[row] > 0:
            together = _origin_variance(per_origin[row][:, None] / n_ions, int(lag))[0]
            correlation[row] = n_ions**2 * together / single[row]
    return DisplacementStatistics(lags, msd, variance, ngp, correlation, n_ions, n_frames - 1)


def pooled_ion_correlation(stats: DisplacementStatistics, start: int, end: int) -> float:
    """One ion-correlation factor for the window [start, end] (lags in steps), ≥ 1.

    The per-lag factors of ``stats`` inside the window, weighted by the number of independent
    time origins at each lag (n_steps / lag: a lag that fits many times into the run is measured
    precisely); where none inside is measured (the lag fits fewer than MIN_INDEPENDENT_ORIGINS
    times into the run), the measured grid lag nearest the window start. Values below 1
    (anti-correlation from the drift correction, or noise) count as 1, so errors are never
    shrunk below the independent-ion value.
    """
    if stats.n_ions == 1:
        return 1.0
    measured = np.isfinite(stats.ion_correlation)
    inside = (stats.lags >= start) & (stats.lags <= end) & measured
    if not inside.any():
        distance = np.where(measured, np.abs(stats.lags - start), np.inf)
        if not np.isfinite(distance).any():
            return 1.0
        inside = np.arange(len(stats.lags)) == np.argmin(distance)
    weights = stats.n_steps / stats.lags[inside]
    pooled = np.sum(weights * stats.ion_correlation[inside]) / np.sum(weights)
    return float(max(1.0, pooled))


def _gls(lag_steps, values, covariance, dt_ps, dimensions):
    design = np.column_stack([lag_steps * dt_ps, np.ones(len(lag_steps))])
    covariance = covariance + np.eye(len(lag_steps)) * 1e-10 * np.trace(covariance) / len(lag_steps)
    cholesky = np.linalg.cholesky(covariance)
    whitened_design = np.linalg.solve(cholesky, design)
    whitened_values = np.linalg.solve(cholesky, values)
    coefficients, *_ = np.linalg.lstsq(whitened_design, whitened_values, rcond=None)
    residuals = whitened_values - whitened_design @ coefficients
    parameter_covariance = np.linalg.inv(whitened_design.T @ whitened_design)
    return coefficients, parameter_covariance, float(residuals @ residuals)


def design_line(lag_steps, dt_ps, coefficients):
    return coefficients[0] * lag_steps * dt_ps + coefficients[1]


def gls_lags(start: int, end: int, count: int = MAX_GLS_LAGS) -> np.ndarray:
    """Up to ``count`` log-spaced lag indices from start to end (inclusive; all when fewer)."""
    start = max(int(start), 1)
    if end - start + 1 <= count:
        return np.arange(start, end + 1)
    return np.unique(np.geomspace(start, end, count).round().astype(int))


def fit_msd_gls(lag_steps: np.ndarray, msd: np.ndarray, dt_ps: float, n_steps: int,
                n_particles: int, dimensions: int = 3, variance: np.ndarray | None = None,
                ion_correlation: float = 1.0) -> LinearMsdFit:
    """Fit MSD = 2·dimensions·D·t + c on the given lags by GLS.

    n_steps: frames - 1 of the trajectory the MSD was averaged over; n_particles: independent
    walkers averaged (1 for a collective displacement).

    variance: observed variance of the squared displacement at each lag (over particles and time
    origins; from ``displacement_statistics``). With it the covariance is the random-walk shape
    scaled lag by lag by the data: C_ij = S_ij · √(v_i v_j) / (2 L_i L_j) · f / N, which for a
    Gaussian walk (v = 2·d·σ⁴L²) is exactly the random-walk covariance and for hops carries the
    measured spread; the errors are not rescaled afterwards. Without it (legacy, Gaussian) the
    covariance is the random-walk one scaled by the fitted D and inflated by χ²_red when above 1.
    """
    # at most MAX_GLS_LAGS of the given lags, evenly spread over their indices
    picks = np.unique(np.linspace(0, len(lag_steps) - 1,
                                  min(MAX_GLS_LAGS, len(lag_steps))).round().astype(int))
    lags = np.asarray(lag_steps)[picks]
    values = np.asarray(msd)[picks]
    shape = _random_walk_covariance_shape(int(n_steps), tuple(int(lag) for lag in lags))
    if variance is not None:
        variance = np.asarray(variance, float)[picks]
        if not np.all(np.isfinite(variance)) or not np.all(variance > 0) or not np.all(values > 0):
            raise ValueError("MSD variance is zero or not finite: the ions did not move")
        # The observed variance fluctuates with the observed MSD at the same lag; weighting by
        # it would favour lags that happen to lie low and bias D down. Use the observed relative
        # spread v/MSD² (the displacement distribution's shape, smoothed over log lag) times the
        # squared MSD of the current line instead, iterated from the Gaussian-walk fit.
        relative = variance / values**2
        if len(lags) > 4:
            relative = np.exp(np.polyval(np.polyfit(np.log(lags), np.log(relative), 2),
                                         np.log(lags)))
        coefficients, _, _ = _gls(lags, values, shape, dt_ps, dimensions)
        for _ in range(3):
            model = design_line(lags, dt_ps, coefficients)
            model = np.maximum(model, 0.1 * values)  # a bad first line must not zero a weight
            spread = np.sqrt(relative) * model / (np.sqrt(2.0) * lags)
            covariance = shape * np.outer(spread, spread) * ion_correlation / n_particles
            coefficients, parameter_covariance, chi2 = _gls(lags, values, covariance, dt_ps,
                                                            dimensions)
        dof = len(lags) - 2
        slope, intercept = coefficients
        return LinearMsdFit(float(slope / (2 * dimensions)),
                            float(np.sqrt(parameter_covariance[0, 0]) / (2 * dimensions)),
                            float(intercept), chi2 / dof if dof > 0 else 1.0, lags)
    # The covariance scales as D² only, so the GLS point estimate does not depend on D.
    coefficients, parameter_covariance, chi2 = _gls(lags, values, shape, dt_ps, dimensions)
    slope, intercept = coefficients
    D = slope / (2.0 * dimensions)
    per_step_variance = 2.0 * abs(D) * dt_ps  # s² per dimension for the random walk
    scale = dimensions * per_step_variance**2 / n_particles
    dof = len(lags) - 2
    reduced_chi2 = float(chi2 / scale / dof) if dof > 0 and scale > 0 else 1.0
    # Inflate (never shrink) the random-walk errors when the data scatter more than it allows.
    inflation = max(1.0, reduced_chi2)
    error = np.sqrt(parameter_covariance[0, 0] * scale * inflation) / (2 * dimensions)
    return LinearMsdFit(float(D), float(error), float(intercept), reduced_chi2, lags)


def lag_grid(end: int) -> np.ndarray:
    """Log-spaced lag indices 1..end, GRID_POINTS_PER_DECADE per decade."""
    return np.unique(np.geomspace(1, end, max(3, int(GRID_POINTS_PER_DECADE * np.log10(end)) + 1))
                     .round().astype(int))


def select_fit_window(msd_total: np.ndarray, max_lag_fraction: float = 1.0,
                      slope_tolerance: float = 0.3, settled_intervals: int = 3,
                      grid_stats: DisplacementStatistics | None = None,
                      hop_distance_A: float | None = None) -> FitWindow:
    """Pick the diffusive window of lag indices from the MSD itself.

    End: lag <= max_lag_fraction × trajectory length (default the whole run: the GLS covariance
    weights the long lags by how few independent origins they have). Start: at most
    ``START_REACH`` of the run (and half the end), the latest of
    * ``slope``: the first lag from which the local log-log slope stays within 1 ± slope_tolerance
      for ``settled_intervals`` grid steps (ballistic and caged regimes skipped);
    * ``ngp_peak``: the peak of the non-Gaussian parameter, when it has one (``grid_stats``);
      before it the displacement distribution is still changing shape (cage escape under way);
    * ``hop``: the first lag where the MSD reaches hop_distance_A² (an ion has made a hop);
    * ``beta``: then, with ``grid_stats``, moved later (at most to half the reach) until the
      log-log slope over [start, beta_end] passes ``beta_passes``.
    ``reasons`` records each candidate (``slope`` None when the slope never settled; β and the
    two halves then decide). When the hop or β criterion could not be met, the start is the
    reach and ``note`` says so (the verdict then marks the run not diffusive).
    """
    n_frames = len(msd_total)
    end = int(max_lag_fraction * (n_frames - 1))
    if end < 4:
        raise ValueError(f"max_lag_fraction={max_lag_fraction} leaves {end} lags of "
                         f"{n_frames} frames; need at least 4")
    reach = max(1, min(int(START_REACH * (n_frames - 1)), end // 2))
    # ~5 points per decade: coarse enough that the slope is not dominated by noise.
    grid = np.unique(np.geomspace(1, end, max(3, int(5 * np.log10(end)) + 1)).round().astype(int))
    local_slope = np.diff(np.log(np.maximum(msd_total[grid], 1e-300))) / np.diff(np.log(grid))
    inside = np.abs(local_slope - 1.0) <= slope_tolerance
    reasons, problems, unmet = {}, [], []
    for first in range(len(inside)):
        if inside[first:first + settled_intervals].all() and grid[first] <= reach:
            reasons["slope"] = int(grid[first])
            break
    else:
        reasons["slope"] = None  # never settled: β and the two halves in the verdict decide
    if grid_stats is not None:
        usable = grid_stats.lags <= reach
        if usable.any():
            peak = int(np.argmax(np.where(usable, grid_stats.ngp, -np.inf)))
            if grid_stats.ngp[peak] > NGP_PEAK_MINIMUM:
                reasons["ngp_peak"] = int(grid_stats.lags[peak])
    if hop_distance_A:
        reached = np.nonzero(msd_total[1:end + 1] >= hop_distance_A**2)[0]
        if len(reached) and reached[0] + 1 <= reach:
            reasons["hop"] = int(reached[0] + 1)
        else:
            unmet.append("hop")
            problems.append(f"MSD does not reach the hop distance squared "
                            f"({hop_distance_A:g} Å)² within {START_REACH:.0%} of the run")
    start = max((lag for lag in reasons.values() if lag is not None), default=reach)
    if grid_stats is not None and not problems:
        # Linear over the whole window: the first start (from the criteria above up to half the
        # reach) from which the log-log slope β over [start, end] passes ``beta_passes``. A
        # constant offset (rattling) moves the start later; sub-diffusion never passes.
        candidates = [lag for lag in grid_stats.lags if start <= lag <= reach // 2] or [start]
        for lag in candidates:
            beta, beta_error = log_log_slope(grid_stats, int(lag), beta_end(end, n_frames - 1))
            if beta_passes(beta, beta_error)[0]:
                if lag > start:
                    reasons["beta"] = int(lag)
                start = int(lag)
                break
        else:
            unmet.append("beta")
            problems.append(f"MSD log-log slope β over [start, end] is never within "
                            f"1 ± max({BETA_TOLERANCE}, 2σ) (β = {beta:.2f} ± {beta_error:.2f} "
                            f"from {START_REACH / 2:.0%} of the run)")
    if problems:
        start = max(start, reach)
    start = min(start, reach)
    note = None
    if problems:
        note = "; ".join(problems) + f"; fitted from {START_REACH:.0%} of the run"
    return FitWindow(int(max(start, 1)), end, note, reasons, unmet)


def beta_end(end: int, n_steps: int) -> int:
    """The longest lag β is measured to: the window end, at most BETA_REACH of the run."""
    return min(end, max(int(BETA_REACH * n_steps), 2))


def log_log_slope(stats: DisplacementStatistics, start: int, end: int) -> tuple[float, float]:
    """β and its standard error: least-squares slope of ln MSD against ln lag over the grid lags
    in [start, end]. The error comes from the relative errors of the MSD at the two ends (the MSD
    at long lags is one correlated curve, so its ends carry the slope's uncertainty)."""
    inside = (stats.lags >= start) & (stats.lags <= end) & (stats.msd > 0)
    if inside.sum() < 2:
        inside = np.zeros(len(stats.lags), bool)
        inside[[np.argmin(np.abs(stats.lags - start)), np.argmin(np.abs(stats.lags - end))]] = True
    lags, msd = stats.lags[inside], stats.msd[inside]
    if len(np.unique(lags)) < 2:
        return 1.0, np.inf
    beta = float(np.polyfit(np.log(lags), np.log(msd), 1)[0])
    correlation = pooled_ion_correlation(stats, lags[0], lags[-1])
    relative = np.sqrt(stats.variance[inside] * correlation * lags
                       / (stats.n_ions * stats.n_steps)) / msd
    return beta, float(np.hypot(relative[0], relative[-1]) / np.log(lags[-1] / lags[0]))


def beta_passes(beta: float, error: float) -> tuple[bool, float]:
    """|β - 1| within max(BETA_TOLERANCE, 2 standard errors of β); returns (passed, tolerance)."""
    tolerance = max(BETA_TOLERANCE, BETA_SIGMAS * error)
    return bool(abs(beta - 1.0) <= tolerance), float(tolerance)


@dataclass
class DiffusionEstimate:
    """Everything the tracer analysis of one species reports (lags in steps).

    hops: ``hop_statistics`` of the run; resolution: ``resolution`` (why D is an upper bound,
    which single criterion refused it, how long a run would pass).
    """

    fit: LinearMsdFit
    window: FitWindow
    diffusive: bool
    checks: dict
    failed: list
    upper_bound_A2_per_ps: float
    grid: DisplacementStatistics
    ion_correlation: float
    hops: dict = field(default_factory=dict)
    resolution: dict = field(default_factory=dict)


def estimate_diffusion(positions: np.ndarray, dt_ps: float, msd_total: np.ndarray | None = None,
                       max_lag_fraction: float = 1.0, slope_tolerance: float = 0.3,
                       hop_distance_A: float | None = None) -> DiffusionEstimate:
    """Tracer D of the ions in ``positions`` (n_frames, n_ions, 3), its error and the verdict.

    msd_total: the MSD at every lag (from ``msd_fft``), computed here when not given.
    """
    from dpglass.analysis.msd import msd_fft

    positions = np.asarray(positions)
    n_frames, n_ions, dimensions = positions.shape
    if msd_total is None:
        msd_total = msd_fft(positions).sum(axis=1)
    end = int(max_lag_fraction * (n_frames - 1))
    grid = displacement_statistics(positions, lag_grid(max(end, 4)))
    window = select_fit_window(msd_total, max_lag_fraction, slope_tolerance, grid_stats=grid,
                               hop_distance_A=hop_distance_A)
    lags = gls_lags(window.start_index, window.end_index)
    stats = displacement_statistics(positions, lags, ion_correlation=False)
    correlation = pooled_ion_correlation(grid, window.start_index, window.end_index)
    fit = fit_msd_gls(lags, stats.msd, dt_ps, n_frames - 1, n_ions, dimensions,
                      variance=stats.variance, ion_correlation=correlation)
    checks, failed = diffusive_verdict(positions, dt_ps, stats, grid, window, fit, correlation,
                                       hop_distance_A, dimensions)
    if window.note:
        failed.insert(0, window.note)
    diffusive = not failed and fit.D_A2_per_ps > 0
    if fit.D_A2_per_ps <= 0 and not failed:
        failed.append("fitted D is not positive")
    # A concave (caged, sub-diffusive) MSD lies above its long-time line through the origin, so
    # MSD(t)/(2 d t) at the window end, plus two standard errors, bounds the long-time D.
    end_error = np.sqrt(stats.variance[-1] * correlation * stats.lags[-1]
                        / (n_ions * (n_frames - 1)))
    bound = (stats.msd[-1] + 2 * end_error) / (2 * dimensions * stats.lags[-1] * dt_ps)
    run_ps = (n_frames - 1) * dt_ps
    hops = hop_statistics(fit.D_A2_per_ps if diffusive else bound,
                          fit.D_error_A2_per_ps if diffusive else None, n_ions, run_ps,
                          float(stats.msd[0]), hop_distance_A, dimensions)
    verdict = resolution(bool(diffusive), checks, window.unmet, fit, float(bound), run_ps, n_ions,
                         hop_distance_A, dimensions)
    return DiffusionEstimate(fit, window, bool(diffusive), checks, failed, float(bound), grid,
                             correlation, hops, verdict)


def hop_statistics(D_A2_per_ps: float, D_error_A2_per_ps: float | None, n_ions: int,
                   run_ps: float, msd_at_start_A2: float, hop_distance_A: float | None,
                   dimensions: int = 3) -> dict:
    """The run counted in hops of ``hop_distance_A`` (a), the plan's error model.

    He, Zhu, Epstein & Mo (npj Comput. Mater. 4, 18 (2018)) count an ion's hops as MSD / a² and
    find the relative error of D ≈ HE_COEFFICIENT / √(total hops). Here, with D the fitted value
    (the upper bound for a run that is not diffusive, so the counts are then "at most"):
    hops_per_ion = 2·d·D·t_run / a², hop_events = ions × hops_per_ion,
    expected_relative_error = HE_COEFFICIENT / √hop_events; hops_per_ion_at_window_start =
    MSD(window start) / a² (the hop criterion asks for ≥ 1); effective_hop_events =
    (HE_COEFFICIENT · D / σ_D)², the number of independent hops the fitted error is worth (fewer
    than hop_events when hops are correlated: back-jumps, cooperative moves). {} without a.
    """
    from dpglass.analysis.resolution import HE_COEFFICIENT

    if not hop_distance_A or not D_A2_per_ps > 0:
        return {}
    a2 = hop_distance_A**2
    per_ion = 2 * dimensions * D_A2_per_ps * run_ps / a2
    events = n_ions * per_ion
    effective = ((HE_COEFFICIENT * D_A2_per_ps / D_error_A2_per_ps)**2
                 if D_error_A2_per_ps else None)
    return {"hop_distance_A": float(hop_distance_A), "run_ps": float(run_ps),
            "hops_per_ion": float(per_ion), "hop_events": float(events),
            "hops_per_ion_at_window_start": float(msd_at_start_A2 / a2),
            "expected_relative_error": float(HE_COEFFICIENT / np.sqrt(events)),
            "effective_hop_events": None if effective is None else float(effective),
            "upper_bound": D_error_A2_per_ps is None}


# Criteria kinisi and pymatgen-analysis-diffusion have no counterpart of: a run they would fit
# (both report any positive slope; here: D > 2σ) and that passes β and the non-Gaussian check,
# refused by one of these alone, gets that criterion and the run length that passes it.
SINGLE_REFUSALS = ("hop", "halves")


def resolution(diffusive: bool, checks: dict, unmet: list, fit: LinearMsdFit, bound: float,
               run_ps: float, n_ions: int, hop_distance_A: float | None,
               dimensions: int = 3) -> dict:
    """Whether D is resolved or an upper bound, and why, in numbers a reader can act on.

    refused_by: the criteria that failed (names of ``checks``, and of those in ``unmet`` that no
    window start could meet; "D" when the fitted slope is not positive). single_criterion: the
    one criterion that alone refused a run with D more than two standard errors above zero, β
    within tolerance and the window after the non-Gaussian peak (a run kinisi and
    pymatgen-analysis-diffusion would report a D for). run_length_to_pass_ps: for the hop
    criterion, the run length at which the MSD line (the fitted one, or through the origin with
    the upper bound) reaches a² within START_REACH of the run: (a² - intercept) / (2·d·D·reach),
    1/START_REACH = 4 hops per ion; a lower limit when D is only bounded. expected_relative_error
    at that length is the plan's He et al. estimate, HE_COEFFICIENT / √(ions × hops per ion).
    """
    from dpglass.analysis.resolution import HE_COEFFICIENT

    refused = [name for name, check in checks.items() if not check.get("passed", True)]
    refused += [name for name in unmet if name not in refused]
    if not fit.D_A2_per_ps > 0:
        refused.append("D")
    out = {"resolved": bool(diffusive), "refused_by": [] if diffusive else refused,
           "single_criterion": None, "run_length_to_pass_ps": None,
           "expected_relative_error_at_that_length": None}
    if diffusive:
        return out
    # kinisi and pymatgen-analysis-diffusion report any positive slope; one within two
    # standard errors of zero (a flat, caged MSD, where β is too uncertain to object) is no D.
    accepted_elsewhere = (fit.D_A2_per_ps > 2 * fit.D_error_A2_per_ps
                          and checks.get("beta", {}).get("passed", True)
                          and checks.get("ngp", {}).get("passed", True))
    if accepted_elsewhere and len(refused) == 1 and refused[0] in SINGLE_REFUSALS:
        out["single_criterion"] = refused[0]
    if hop_distance_A and "hop" in refused:
        a2 = hop_distance_A**2
        D, intercept = ((fit.D_A2_per_ps, min(max(fit.intercept_A2, 0.0), 0.9 * a2))
                        if out["single_criterion"] == "hop" else (bound, 0.0))
        if D > 0:
            length = (a2 - intercept) / (2 * dimensions * D * START_REACH)
            hops_per_ion = 2 * dimensions * D * length / a2
            out["run_length_to_pass_ps"] = float(max(length, run_ps))
            out["run_length_is_lower_limit"] = out["single_criterion"] != "hop"
            out["expected_relative_error_at_that_length"] = float(
                HE_COEFFICIENT / np.sqrt(n_ions * hops_per_ion))
    return out


def diffusive_verdict(positions, dt_ps, stats, grid, window, fit, correlation, hop_distance_A,
                      dimensions=3):
    """The criteria for "diffusive", each with its numbers and whether it passed.

    beta: log-log slope of the MSD over the window (to ``beta_end``) within
    1 ± max(BETA_TOLERANCE, 2σ_β);
    halves: D of the first and second half of the window agree within HALVES_MAX_Z combined σ;
    ngp: the window starts at or after the non-Gaussian parameter's peak; hop: the ions made at
    least one hop of hop_distance_A each by the window start, i.e. the MSD there is at least
    hop_distance_A² (when given).
    """
    start, end = window.start_index, window.end_index
    n_frames, n_ions = positions.shape[:2]
    checks, failed = {}, []
    beta, beta_error = log_log_slope(grid, start, beta_end(end, n_frames - 1))
    passed, tolerance = beta_passes(beta, beta_error)
    checks["beta"] = {"value": beta, "error": beta_error, "tolerance": tolerance, "passed": passed}
    if not passed:
        failed.append(f"MSD log-log slope β = {beta:.2f} ± {beta_error:.2f} over the window, not "
                      f"1 ± {tolerance:.2f}")
    middle = (start + end) // 2
    if middle - start >= 3 and end - middle >= 3:
        halves = []
        for low, high in ((start, middle), (middle, end)):
            lags = gls_lags(low, high, MAX_GLS_LAGS // 2)
            half = displacement_statistics(positions, lags, ion_correlation=False)
            halves.append(fit_msd_gls(lags, half.msd, dt_ps, n_frames - 1, n_ions, dimensions,
                                      variance=half.variance, ion_correlation=correlation))
        first, second = halves
        combined = np.hypot(first.D_error_A2_per_ps, second.D_error_A2_per_ps)
        z = abs(first.D_A2_per_ps - second.D_A2_per_ps) / combined if combined > 0 else np.inf
        checks["halves"] = {"D_first_A2_per_ps": first.D_A2_per_ps,
                            "D_second_A2_per_ps": second.D_A2_per_ps, "z": float(z),
                            "max_z": HALVES_MAX_Z, "passed": bool(z <= HALVES_MAX_Z)}
        if z > HALVES_MAX_Z:
            failed.append(f"D of the window's first half ({first.D_A2_per_ps:.3g} Å²/ps) and "
                          f"second half ({second.D_A2_per_ps:.3g} Å²/ps) differ by {z:.1f} σ")
    peak_lag = window.reasons.get("ngp_peak")
    ngp_at_start = float(np.interp(start, grid.lags, grid.ngp))
    checks["ngp"] = {"peak_lag": peak_lag, "ngp_at_start": ngp_at_start,
                     "passed": bool(peak_lag is None or start >= peak_lag)}
    if not checks["ngp"]["passed"]:
        failed.append("window starts before the peak of the non-Gaussian parameter")
    if hop_distance_A:
        msd_start = float(stats.msd[0])
        hops = msd_start / hop_distance_A**2
        checks["hop"] = {"msd_at_start_A2": msd_start, "hop_distance_A": hop_distance_A,
                         "hops_per_ion_at_start": hops, "passed": bool(hops >= 1.0)}
        if not checks["hop"]["passed"]:
            failed.append(f"the ions made {hops:.2g} hops of {hop_distance_A:g} Å each by the "
                          f"window start, fewer than 1 (MSD there {msd_start:.3g} Å² < "
                          f"({hop_distance_A:g} Å)²)")
    return checks, failed
