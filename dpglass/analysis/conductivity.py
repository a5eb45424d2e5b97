"""From a trajectory to D, tracer and collective conductivities and Haven ratios.

Result keys (every number is a quantity ``{"value", "error", "unit"}``):

* ``D`` (cm²/s): tracer diffusion coefficient of ``ion`` from the GLS fit of its MSD over
  ``fit_window``; the error comes from the observed spread of squared displacements
  (``dpglass.analysis.diffusion``). ``D_components``: the same per Cartesian axis.
* ``diffusive`` (bool): whether the MSD over the window is diffusive; ``not_diffusive_because``
  lists the failed criteria, ``diffusive_checks`` gives each criterion's numbers (``beta``: the
  log-log slope of the MSD over the window with its error and tolerance; ``halves``: D of the
  window's two halves and their difference in σ; ``ngp``: lag of the non-Gaussian parameter's
  peak and its value at the window start; ``hop``: MSD at the window start against the hop
  distance squared, and the same as hops per ion by the window start, at least 1).
  ``window_start_set_by`` names the criterion that set the window start.
* ``hop_statistics``: the run in hops of the hop distance a (He et al. 2018, the error model of
  ``dpglass plan``): ``hops_per_ion`` = 6 D t_run / a², ``hop_events`` = ions × that,
  ``expected_relative_error`` = 3.43 / √hop_events, ``hops_per_ion_at_window_start``, and
  ``effective_hop_events`` = (3.43 D / σ_D)², the independent hops the fitted error is worth. For
  a run that is not diffusive D is the upper bound (``upper_bound`` true: counts are "at most").
* ``resolution``: ``resolved`` (= diffusive), ``refused_by`` (the failed criteria),
  ``single_criterion`` (the hop or halves criterion when it alone refused a run with D > 0 whose
  β and non-Gaussian checks pass: one kinisi and pymatgen-analysis-diffusion would report a D for),
  ``run_length_to_pass`` (ps; for the hop criterion: how long a run makes the MSD reach a² within
  a quarter of it, at the fitted D, or at the upper bound, then a lower limit:
  ``run_length_is_lower_limit``) and ``expected_relative_error_at_that_length`` (He et al.).
* ``D_upper_bound`` (cm²/s): MSD(t)/(6t) plus two standard errors at the window end. For a
  caged or sub-diffusive (concave) MSD this bounds the long-time D; it is what a temperature
  where the ion has not diffused contributes to tables and plots.
* ``sigma_tracer`` (mS/cm): Nernst–Einstein σ = N q² D / (V k_B T) of ``ion``;
  ``sigma_tracer_upper_bound`` the same from ``D_upper_bound``.
* ``sigma_collective`` (mS/cm): the total conductivity from the displacement of all charges
  Σ q_i r_i (every species needs a formal charge; when one has none it is null and
  ``sigma_collective_unavailable`` says why). ``haven_ratio``: sigma_tracer / sigma_collective.
* ``sigma_collective_ion`` (mS/cm): the conductivity carried by ``ion`` alone, from its own charge
  displacement q Σ_ion r_i (cross-correlations between ions of this species included, those
  with other species not); ``haven_ratio_ion``: sigma_tracer / sigma_collective_ion = D*/D_σ,
  the Haven ratio as pymatgen-analysis-diffusion and kinisi define it.
* ``fit_window`` (ps), ``fit_lags`` (ps): the window and the lags the GLS fit uses (the ones that
  carry the weight); ``ion_correlation``: the factor by which correlated ion motion inflates the
  variance (1 for independent ions).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from dpglass.analysis.diffusion import (displacement_statistics, estimate_diffusion,
                                        fit_msd_gls)
from dpglass.analysis.msd import msd_fft
from dpglass.analysis.trajectory import SpeciesTrajectory, load_species_trajectory
from dpglass.core.composition import FORMAL_CHARGES
from dpglass.core.units import ANGSTROM2_PER_PS_IN_CM2_PER_S, einstein_conductivity_mS_per_cm, quantity

DRIFT_CORRECTIONS = ("system", "framework", "none")
# Points kept of the MSD curves in the result file (log-spaced), enough to plot them.
STORED_CURVE_POINTS = 120
# Default hop distance, Å: the MSD at the window start must reach its square.
DEFAULT_HOP_DISTANCE_A = 2.0


def analyze_diffusion(path: str | Path, ion: str, temperature_K: float, *,
                      fmt: str | None = None, type_map: Sequence[str] | None = None,
                      timestep_fs: float | None = 1.0, dt_fs: float | None = None,
                      charges: dict | None = None, drift_correction: str = "system",
                      max_lag_fraction: float = 1.0, slope_tolerance: float = 0.3,
                      hop_distance_A: float | None = DEFAULT_HOP_DISTANCE_A,
                      cage_distance_A: float | None = None) -> dict:
    """Read a trajectory and return the transport result dict of ``analyze_trajectory``.

    cage_distance_A: the former name of hop_distance_A (same value, same meaning now).
    """
    _check_temperature(temperature_K)
    trajectory = load_species_trajectory(path, ion, fmt=fmt, type_map=type_map,
                                         timestep_fs=timestep_fs, dt_fs=dt_fs, charges=charges)
    result = analyze_trajectory(trajectory, ion, temperature_K, charges=charges,
                                drift_correction=drift_correction,
                                max_lag_fraction=max_lag_fraction,
                                slope_tolerance=slope_tolerance, hop_distance_A=hop_distance_A,
                                cage_distance_A=cage_distance_A)
    result["source"] = str(path)
    return result


def _check_temperature(temperature_K: float) -> None:
    if not temperature_K > 0:
        raise ValueError(f"temperature_K must be > 0 K, got {temperature_K}")


def _sigma(value_per_slope: float, fit) -> tuple[float, float]:
    return value_per_slope * 6 * fit.D_A2_per_ps, value_per_slope * 6 * fit.D_error_A2_per_ps


def _ratio(numerator, numerator_error, denominator, denominator_error):
    if numerator is None or denominator is None or not denominator > 0 or not numerator > 0:
        return None, None
    ratio = numerator / denominator
    return ratio, abs(ratio) * np.hypot(numerator_error / numerator,
                                        denominator_error / denominator)


def analyze_trajectory(trajectory: SpeciesTrajectory, ion: str, temperature_K: float, *,
                       charges: dict | None = None, drift_correction: str = "system",
                       max_lag_fraction: float = 1.0, slope_tolerance: float = 0.3,
                       hop_distance_A: float | None = DEFAULT_HOP_DISTANCE_A,
                       cage_distance_A: float | None = None) -> dict:
    """D (cm²/s), tracer and collective σ (mS/cm), Haven ratios and the diffusive verdict of
    ``ion`` (the keys are described in the module docstring).

    drift_correction: subtract the mass-weighted COM displacement of the whole system
    ("system"), of all other species ("framework"), or nothing ("none").
    hop_distance_A: the MSD at the fit window's start must reach hop_distance_A² for the run to
    count as diffusive (None: no hop criterion). cage_distance_A is its former name.
    """
    _check_temperature(temperature_K)
    if drift_correction not in DRIFT_CORRECTIONS:
        raise ValueError(f"drift_correction must be one of {DRIFT_CORRECTIONS}, "
                         f"got {drift_correction!r}")
    if cage_distance_A is not None:
        hop_distance_A = cage_distance_A
    if hop_distance_A is not None and not hop_distance_A > 0:
        raise ValueError(f"hop_distance_A must be > 0 Å, got {hop_distance_A}")
    known = {**FORMAL_CHARGES, **(charges or {})}
    charge = known.get(ion)
    reference = {"system": trajectory.system_com, "framework": trajectory.framework_com,
                 "none": np.zeros_like(trajectory.system_com)}[drift_correction]
    n_ions = trajectory.positions.shape[1]
    n_frames = len(trajectory.times_ps)
    dt_ps = trajectory.timestep_ps

    positions = trajectory.positions - reference[:, None, :].astype(np.float32)
    msd_xyz = msd_fft(positions)
    msd_total = msd_xyz.sum(axis=1)
    estimate = estimate_diffusion(positions, dt_ps, msd_total, max_lag_fraction,
                                  slope_tolerance, hop_distance_A)
    tracer, window = estimate.fit, estimate.window
    lags = tracer.lags
    components = []
    for axis in range(3):
        stats = displacement_statistics(positions[:, :, axis:axis + 1], lags,
                                        ion_correlation=False)
        components.append(fit_msd_gls(lags, stats.msd, dt_ps, n_frames - 1, n_ions, 1,
                                      variance=stats.variance,
                                      ion_correlation=estimate.ion_correlation))

    volume = trajectory.mean_volume_A3
    sigma_per_slope = einstein_conductivity_mS_per_cm(1.0, volume, temperature_K)
    notes = list(estimate.failed)
    # Collective displacements are sums over many ions, Gaussian by the central limit theorem:
    # the random-walk covariance with the fitted D (one walker) describes them.
    ion_dipole = positions.sum(axis=1, dtype=np.float64)
    ion_collective = fit_msd_gls(lags, msd_fft(ion_dipole).sum(axis=1)[lags], dt_ps,
                                 n_frames - 1, 1)
    if charge is None:
        sigma_tracer = sigma_tracer_error = sigma_ion = sigma_ion_error = None
        notes.append(f"no formal charge known for {ion}: conductivities unavailable (pass charges)")
    else:
        sigma_tracer, sigma_tracer_error = _sigma(sigma_per_slope * n_ions * charge**2, tracer)
        sigma_ion, sigma_ion_error = _sigma(sigma_per_slope * charge**2, ion_collective)
    if trajectory.charge_dipole is not None:
        net_charge = sum(count * known[species]
                         for species, count in trajectory.species_counts.items())
        charge_msd = msd_fft(trajectory.charge_dipole - net_charge * reference).sum(axis=1)
        collective = fit_msd_gls(lags, charge_msd[lags], dt_ps, n_frames - 1, 1)
        sigma_total, sigma_total_error = _sigma(sigma_per_slope, collective)
        unavailable = None
    else:
        charge_msd = None
        sigma_total = sigma_total_error = None
        unavailable = (f"no formal charge known for {', '.join(trajectory.unknown_charges)}: "
                       f"the total conductivity needs every charge (pass charges)")
        notes.append(unavailable)
    haven, haven_error = _ratio(sigma_tracer, sigma_tracer_error, sigma_total, sigma_total_error)
    haven_ion, haven_ion_error = _ratio(sigma_tracer, sigma_tracer_error, sigma_ion,
                                        sigma_ion_error)

    to_cm2 = ANGSTROM2_PER_PS_IN_CM2_PER_S
    bound = estimate.upper_bound_A2_per_ps
    set_by = [name for name, lag in window.reasons.items() if lag == window.start_index]
    curve_indices = np.unique(np.geomspace(1, n_frames - 1, STORED_CURVE_POINTS).astype(int))
    curve_times = trajectory.times_ps[curve_indices]
    rms_end = float(np.sqrt(msd_total[window.end_index]))
    return {
        "ion": ion,
        "ion_charge": None if charge is None else quantity(float(charge), None, "e"),  # in σ
        "temperature": quantity(float(temperature_K), None, "K"),
        "D": quantity(tracer.D_A2_per_ps * to_cm2, tracer.D_error_A2_per_ps * to_cm2, "cm^2/s"),
        "D_components": {axis: quantity(fit.D_A2_per_ps * to_cm2, fit.D_error_A2_per_ps * to_cm2,
                                        "cm^2/s") for axis, fit in zip("xyz", components)},
        "D_upper_bound": quantity(bound * to_cm2, None, "cm^2/s"),
        "sigma_tracer": quantity(sigma_tracer, sigma_tracer_error, "mS/cm"),
        "sigma_tracer_upper_bound": quantity(
            None if charge is None else sigma_per_slope * n_ions * charge**2 * 6 * bound,
            None, "mS/cm"),
        "sigma_collective": quantity(sigma_total, sigma_total_error, "mS/cm"),
        "sigma_collective_unavailable": unavailable,
        "haven_ratio": quantity(haven, haven_error, "1"),
        "sigma_collective_ion": quantity(sigma_ion, sigma_ion_error, "mS/cm"),
        "haven_ratio_ion": quantity(haven_ion, haven_ion_error, "1"),
        "fit_window": quantity([float(trajectory.times_ps[window.start_index]),
                                float(trajectory.times_ps[window.end_index])], None, "ps"),
        "fit_lags": quantity(trajectory.times_ps[lags], None, "ps"),
        "window_start_set_by": (set_by[0] if set_by
                                else "the latest allowed start (a quarter of the run)"),
        "window_criteria": {name: quantity(None if lag is None else
                                           float(trajectory.times_ps[lag]), None, "ps")
                            for name, lag in window.reasons.items()},
        "diffusive": bool(estimate.diffusive),
        "not_diffusive_because": list(estimate.failed),
        "diffusive_checks": _checks_as_quantities(estimate.checks, trajectory.times_ps),
        "hop_statistics": _hops_as_quantities(estimate.hops),
        "resolution": _resolution_as_quantities(estimate.resolution),
        "hop_distance": quantity(hop_distance_A, None, "Å"),
        "ion_correlation": quantity(estimate.ion_correlation, None, "1"),
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
            "charge": quantity(None if charge_msd is None else charge_msd[curve_indices], None,
                               "e^2 Å^2"),
            "ngp_time": quantity(trajectory.times_ps[estimate.grid.lags], None, "ps"),
            "ngp": quantity(estimate.grid.ngp, None, "1"),
        },
    }


def _checks_as_quantities(checks: dict, times_ps: np.ndarray) -> dict:
    """The verdict's numbers as quantity objects (D in cm²/s, lags in ps)."""
    out = {}
    if "beta" in checks:
        beta = checks["beta"]
        out["beta"] = {"beta": quantity(beta["value"], beta["error"], "1"),
                       "tolerance": quantity(beta["tolerance"], None, "1"),
                       "passed": beta["passed"]}
    if "halves" in checks:
        halves = checks["halves"]
        out["halves"] = {
            "D_first": quantity(halves["D_first_A2_per_ps"] * ANGSTROM2_PER_PS_IN_CM2_PER_S,
                                None, "cm^2/s"),
            "D_second": quantity(halves["D_second_A2_per_ps"] * ANGSTROM2_PER_PS_IN_CM2_PER_S,
                                 None, "cm^2/s"),
            "z": quantity(halves["z"], None, "1"), "max_z": quantity(halves["max_z"], None, "1"),
            "passed": halves["passed"]}
    if "ngp" in checks:
        ngp = checks["ngp"]
        peak = ngp["peak_lag"]
        out["ngp"] = {"peak_time": quantity(None if peak is None else float(times_ps[peak]),
                                            None, "ps"),
                      "ngp_at_window_start": quantity(ngp["ngp_at_start"], None, "1"),
                      "passed": ngp["passed"]}
    if "hop" in checks:
        hop = checks["hop"]
        out["hop"] = {"msd_at_window_start": quantity(hop["msd_at_start_A2"], None, "Å^2"),
                      "hop_distance": quantity(hop["hop_distance_A"], None, "Å"),
                      "hops_per_ion_at_window_start": quantity(hop["hops_per_ion_at_start"],
                                                               None, "1"),
                      "passed": hop["passed"]}
    return out


def _hops_as_quantities(hops: dict) -> dict | None:
    """``hop_statistics`` (dpglass.analysis.diffusion) as quantities; None without a hop distance
    or a positive D."""
    if not hops:
        return None
    counts = {name: quantity(hops[name], None, "1")
              for name in ("hops_per_ion", "hop_events", "hops_per_ion_at_window_start",
                           "expected_relative_error", "effective_hop_events")}
    return {"hop_distance": quantity(hops["hop_distance_A"], None, "Å"),
            "run_length": quantity(hops["run_ps"], None, "ps"), **counts,
            "upper_bound": hops["upper_bound"]}


def _resolution_as_quantities(verdict: dict) -> dict:
    """``resolution`` (dpglass.analysis.diffusion) with its run length as a quantity."""
    out = {key: verdict[key] for key in ("resolved", "refused_by", "single_criterion")}
    out["run_length_to_pass"] = quantity(verdict["run_length_to_pass_ps"], None, "ps")
    out["run_length_is_lower_limit"] = verdict.get("run_length_is_lower_limit")
    out["expected_relative_error_at_that_length"] = quantity(
        verdict["expected_relative_error_at_that_length"], None, "1")
    return out
