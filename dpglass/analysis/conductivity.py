"""From a trajectory to D, tracer and collective conductivity and the Haven ratio."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from dpglass.analysis.diffusion import fit_msd_gls, select_fit_window
from dpglass.analysis.msd import msd_fft
from dpglass.analysis.trajectory import SpeciesTrajectory, load_species_trajectory
from dpglass.units import (ANGSTROM2_PER_PS_IN_CM2_PER_S, FORMAL_CHARGES,
                           einstein_conductivity_mS_per_cm, quantity)

DRIFT_CORRECTIONS = ("system", "framework", "none")
# Points kept of the MSD curves in the result file (log-spaced), enough to plot them.
STORED_CURVE_POINTS = 120


def analyze_diffusion(path: str | Path, ion: str, temperature_K: float, *,
                      fmt: str | None = None, type_map: Sequence[str] | None = None,
                      timestep_fs: float | None = 1.0, dt_fs: float | None = None,
                      charges: dict | None = None, drift_correction: str = "system",
                      max_lag_fraction: float = 0.5, slope_tolerance: float = 0.3,
                      cage_distance_A: float = 2.0) -> dict:
    """Read a trajectory and return the transport result dict of ``analyze_trajectory``."""
    _check_temperature(temperature_K)
    trajectory = load_species_trajectory(path, ion, fmt=fmt, type_map=type_map,
                                         timestep_fs=timestep_fs, dt_fs=dt_fs, charges=charges)
    result = analyze_trajectory(trajectory, ion, temperature_K, charges=charges,
                                drift_correction=drift_correction,
                                max_lag_fraction=max_lag_fraction,
                                slope_tolerance=slope_tolerance, cage_distance_A=cage_distance_A)
    result["source"] = str(path)
    return result


def _check_temperature(temperature_K: float) -> None:
    if not temperature_K > 0:
        raise ValueError(f"temperature_K must be > 0 K, got {temperature_K}")


def analyze_trajectory(trajectory: SpeciesTrajectory, ion: str, temperature_K: float, *,
                       charges: dict | None = None, drift_correction: str = "system",
                       max_lag_fraction: float = 0.5, slope_tolerance: float = 0.3,
                       cage_distance_A: float = 2.0) -> dict:
    """D (cm²/s), Nernst–Einstein and collective σ (mS/cm) and Haven ratio of ``ion``.

    drift_correction: subtract the mass-weighted COM displacement of the whole system
    ("system"), of all other species ("framework"), or nothing ("none").
    """
    _check_temperature(temperature_K)
    if drift_correction not in DRIFT_CORRECTIONS:
        raise ValueError(f"drift_correction must be one of {DRIFT_CORRECTIONS}, "
                         f"got {drift_correction!r}")
    charge = {**FORMAL_CHARGES, **(charges or {})}[ion]
    reference = {"system": trajectory.system_com, "framework": trajectory.framework_com,
                 "none": np.zeros_like(trajectory.system_com)}[drift_correction]
    net_charge = sum(count * {**FORMAL_CHARGES, **(charges or {})}[species]
                     for species, count in trajectory.species_counts.items())
    n_ions = trajectory.positions.shape[1]
    n_frames = len(trajectory.times_ps)
    dt_ps = trajectory.timestep_ps

    msd_xyz = msd_fft(trajectory.positions - reference[:, None, :].astype(np.float32))
    msd_total = msd_xyz.sum(axis=1)
    charge_msd = msd_fft(trajectory.charge_dipole - net_charge * reference).sum(axis=1)

    window = select_fit_window(msd_total, max_lag_fraction, slope_tolerance)
    lags = np.arange(window.start_index, window.end_index + 1)
    tracer = fit_msd_gls(lags, msd_total[lags], dt_ps, n_frames - 1, n_ions)
    components = [fit_msd_gls(lags, msd_xyz[lags, axis], dt_ps, n_frames - 1, n_ions, 1)
                  for axis in range(3)]
    # The charge displacement is one collective walker: D_charge = slope / 6 in e²Å²/ps.
    collective = fit_msd_gls(lags, charge_msd[lags], dt_ps, n_frames - 1, 1)

    volume = trajectory.mean_volume_A3
    sigma_per_slope = einstein_conductivity_mS_per_cm(1.0, volume, temperature_K)
    sigma_tracer = sigma_per_slope * n_ions * charge**2 * 6 * tracer.D_A2_per_ps
    sigma_tracer_error = sigma_per_slope * n_ions * charge**2 * 6 * tracer.D_error_A2_per_ps
    sigma_collective = sigma_per_slope * 6 * collective.D_A2_per_ps
    sigma_collective_error = sigma_per_slope * 6 * collective.D_error_A2_per_ps
    haven = sigma_tracer / sigma_collective if sigma_collective > 0 else float("nan")
    haven_error = abs(haven) * np.hypot(sigma_tracer_error / sigma_tracer,
                                        sigma_collective_error / sigma_collective) \
        if sigma_collective > 0 and sigma_tracer > 0 else float("nan")

    notes = [window.note] if window.note else []
    rms_end = float(np.sqrt(msd_total[window.end_index]))
    window_slope = float(np.log(msd_total[window.end_index] / msd_total[max(window.start_index, 1)])
                         / np.log(window.end_index / max(window.start_index, 1)))
    diffusive = rms_end >= cage_distance_A and window_slope >= 0.5 and tracer.D_A2_per_ps > 0
    if not diffusive:
        notes.append(f"{ion} has not left its cage: RMS displacement {rms_end:.2f} Å at the end "
                     f"of the window (cage distance {cage_distance_A} Å), log-log slope "
                     f"{window_slope:.2f}; D is not a diffusion coefficient and is excluded "
                     f"from Arrhenius fits")

    to_cm2 = ANGSTROM2_PER_PS_IN_CM2_PER_S
    curve_indices = np.unique(np.geomspace(1, n_frames - 1, STORED_CURVE_POINTS).astype(int))
    curve_times = trajectory.times_ps[curve_indices]
    return {
        "ion": ion,
        "temperature": quantity(float(temperature_K), None, "K"),
        "D": quantity(tracer.D_A2_per_ps * to_cm2, tracer.D_error_A2_per_ps * to_cm2, "cm^2/s"),
        "D_components": {axis: quantity(fit.D_A2_per_ps * to_cm2, fit.D_error_A2_per_ps * to_cm2,
                                        "cm^2/s") for axis, fit in zip("xyz", components)},
        "sigma_tracer": quantity(sigma_tracer, sigma_tracer_error, "mS/cm"),
        "sigma_collective": quantity(sigma_collective, sigma_collective_error, "mS/cm"),
        "haven_ratio": quantity(haven, haven_error, "1"),
        "fit_window": quantity([float(trajectory.times_ps[window.start_index]),
                                float(trajectory.times_ps[window.end_index])], None, "ps"),
        "diffusive": bool(diffusive),
        "note": "; ".join(notes) or None,
        "msd_fit_intercept": quantity(tracer.intercept_A2, None, "Å^2"),
        "msd_reduced_chi2": quantity(tracer.reduced_chi2, None, "1"),
        "rms_displacement_end": quantity(rms_end, None, "Å"),
        "charge": quantity(charge, None, "e"),
        "n_ions": quantity(n_ions, None, "1"),
        "n_frames": quantity(n_frames, None, "1"),
        "timestep": quantity(dt_ps, None, "ps"),
        "duration": quantity(float(trajectory.times_ps[-1]), None, "ps"),
        "volume": quantity(volume, None, "Å^3"),
        "species_counts": {s: quantity(c, None, "1") for s, c in trajectory.species_counts.items()},
        "drift_correction": drift_correction,
        "msd": {
            "time": quantity(curve_times, None, "ps"),
            "total": quantity(msd_total[curve_indices], None, "Å^2"),
            **{axis: quantity(msd_xyz[curve_indices, i], None, "Å^2")
               for i, axis in enumerate("xyz")},
            "charge": quantity(charge_msd[curve_indices], None, "e^2 Å^2"),
        },
    }
