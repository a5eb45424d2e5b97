"""Arrhenius and Vogel–Fulcher–Tammann fits of D(T) or σ(T), and which model the data support.

Conductivities are fitted as ln(σT) = ln A − Ea/(k_B T); diffusion coefficients as
ln D = ln D0 − Ea/(k_B T). The VFT forms are σ = A/√T · exp(−B/(T − T0)) and
D = D0 · exp(−B/(T − T0)). Both are compared on the same residuals in ln σ (or ln D), by AICc
(the small-sample AIC; with 4–13 temperatures plain AIC favours the extra VFT parameter) and BIC.

Replicas at one temperature are pooled first (``pool_replicas``): inverse-variance mean, and the
error inflated by the Birge ratio √(χ²/dof) when the replicas scatter more than their errors
allow. Every guard counts distinct temperatures. Temperatures where the ion has not diffused are
not fitted; they are reported as upper bounds (``upper_bounds``). Errors enter the fits in log
space as log-normal widths √(ln(1 + (σ/x)²)), which for relative errors above ~0.5 is markedly
smaller than σ/x: a point compatible with zero gets a wide but finite log error, instead of
σ/x dominating (or, for σ > x, breaking) a fit in ln σ.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import least_squares

from dpglass.analysis.resolution import pool_hop_statistics, pool_resolution
from dpglass.core.units import BOLTZMANN_EV_PER_K, quantity

DEFAULT_WINDOW_K = (303.0, 378.0)  # 30–105 °C (analysis.arrhenius_window_K's default)
REFERENCE_TEMPERATURE_K = 303.0
FITTABLE = {"sigma_tracer": "mS/cm", "sigma_collective": "mS/cm",
            "sigma_collective_ion": "mS/cm", "D": "cm^2/s"}
# Upper-bound keys of the diffusion results, per fittable quantity.
UPPER_BOUNDS = {"D": "D_upper_bound", "sigma_tracer": "sigma_tracer_upper_bound"}
# A BIC (or AICc) difference above this is "positive evidence" (Kass & Raftery 1995).
BIC_EVIDENCE_THRESHOLD = 2.0
# Relative errors above this are called out: the log-normal width differs from σ/x by > 5 %.
LARGE_RELATIVE_ERROR = 0.5
# VFT needs this many distinct temperatures (AICc of a 3-parameter fit needs n > 4).
VFT_MIN_POINTS = 5


def _is_conductivity(quantity_name: str) -> bool:
    return quantity_name.startswith("sigma")


POOLED = tuple(FITTABLE) + ("haven_ratio", "haven_ratio_ion")


def pool_replicas(results: list[dict], quantity_names=POOLED) -> list[dict]:
    """One result per distinct temperature, replicas pooled.

    Diffusive replicas: each quantity is the inverse-variance mean; its error is the error of
    that mean times the Birge ratio √(χ²/(n-1)) when above 1 (the replicas scatter more than
    their claimed errors allow), recorded under ``replica_scatter`` with the χ² and its p-value.
    Non-diffusive replicas at a temperature that has diffusive ones are left out (listed); a
    temperature without diffusive replicas is not diffusive, with the largest upper bound.
    ``hop_statistics`` and ``resolution`` are pooled by ``dpglass.analysis.resolution``.
    """
    from scipy.stats import chi2 as chi2_distribution

    by_temperature: dict[float, list[dict]] = {}
    for result in results:
        by_temperature.setdefault(float(result["temperature"]["value"]), []).append(result)
    pooled = []
    for temperature in sorted(by_temperature):
        group = by_temperature[temperature]
        diffusive = [r for r in group if r.get("diffusive", True)]
        out = {"temperature": quantity(temperature, None, "K"),
               "n_replicas": quantity(len(group), None, "1"),
               "diffusive": bool(diffusive)}
        if len(group) == 1:
            pooled.append({**group[0], **out})
            continue
        chosen = diffusive or group
        if diffusive and len(diffusive) < len(group):
            out["replicas_not_diffusive"] = [r.get("replica") for r in group
                                             if not r.get("diffusive", True)]
        scatter = {}
        for name in quantity_names:
            entries = [r.get(name) for r in chosen]
            if any(e is None or e["value"] is None or not (e["error"] or 0) > 0 for e in entries):
                out[name] = quantity(None, None, FITTABLE.get(name, "1"))
                continue
            values = np.array([e["value"] for e in entries], float)
            weights = 1.0 / np.array([e["error"] for e in entries], float)**2
            mean = float(np.sum(weights * values) / np.sum(weights))
            chi2 = float(np.sum(weights * (values - mean)**2))
            dof = len(values) - 1
            # one diffusive replica among caged ones: its own error, no scatter to test
            birge = max(1.0, np.sqrt(chi2 / dof)) if dof else 1.0
            out[name] = quantity(mean, birge / np.sqrt(np.sum(weights)), entries[0]["unit"])
            p_value = float(chi2_distribution.sf(chi2, dof)) if dof else None
            scatter[name] = {"chi2": quantity(chi2, None, "1"), "dof": quantity(dof, None, "1"),
                             "p_value": quantity(p_value, None, "1"),
                             "inflation": quantity(birge, None, "1")}
        out["replica_scatter"] = scatter
        out["hop_statistics"] = pool_hop_statistics([r.get("hop_statistics") for r in chosen])
        out["resolution"] = pool_resolution([r.get("resolution") for r in group], bool(diffusive))
        for bound in UPPER_BOUNDS.values():
            values = [r[bound]["value"] for r in group if (r.get(bound) or {}).get("value")]
            if values:
                out[bound] = quantity(max(values), None, group[0][bound]["unit"])
        out["note"] = "; ".join(r["note"] for r in group if r.get("note")) or None
        pooled.append(out)
    return pooled


def _usable_points(results: list[dict], quantity_name: str):
    temperatures, values, errors, excluded, bounds = [], [], [], [], []
    for result in results:
        temperature = result["temperature"]["value"]
        entry = result.get(quantity_name) or {}
        value, error = entry.get("value"), entry.get("error")
        if not result.get("diffusive", True):
            reason = "not diffusive"
            bound_key = UPPER_BOUNDS.get(quantity_name)
            bound = (result.get(bound_key) or {}).get("value") if bound_key else None
            if bound is not None:
                reason += f": upper bound {bound:.3g} {FITTABLE[quantity_name]}"
                bounds.append({"temperature": quantity(temperature, None, "K"),
                               "upper_bound": quantity(bound, None, FITTABLE[quantity_name])})
        elif value is None:
            reason = f"{quantity_name} unavailable"
        elif value <= 0:
            reason = f"{quantity_name} not positive"
        elif error is None or not error > 0:
            reason = f"{quantity_name} has no uncertainty"
        else:
            temperatures.append(temperature), values.append(value), errors.append(error)
            continue
        excluded.append({"temperature": quantity(temperature, None, "K"), "reason": reason})
    order = np.argsort(temperatures)
    return (np.asarray(temperatures, float)[order], np.asarray(values, float)[order],
            np.asarray(errors, float)[order], excluded, bounds)


def log_normal_width(values: np.ndarray, errors: np.ndarray) -> np.ndarray:
    """σ of ln x for x ± σ: √(ln(1 + (σ/x)²)), ≈ σ/x when small (log-normal moment matching)."""
    return np.sqrt(np.log1p((errors / values)**2))


def _linear_fit(inverse_T: np.ndarray, log_y: np.ndarray, log_error: np.ndarray):
    """Weighted line log_y = intercept + slope/T; covariance inflated by χ²_red when > 1."""
    design = np.column_stack([inverse_T, np.ones_like(inverse_T)]) / log_error[:, None]
    coefficients, *_ = np.linalg.lstsq(design, log_y / log_error, rcond=None)
    chi2 = float(np.sum((design @ coefficients - log_y / log_error)**2))
    dof = len(log_y) - 2
    covariance = np.linalg.inv(design.T @ design) * (max(1.0, chi2 / dof) if dof > 0 else 1.0)
    return coefficients, covariance, chi2


def _fit_vft(temperatures, log_y, log_error, temperature_power):
    """Least squares of ln y = ln A − p ln T − B/(T − T0) with 0 ≤ T0 < min(T)."""
    upper_T0 = temperatures.min() - 1.0

    def residuals(parameters):
        log_A, B, T0 = parameters
        model = log_A - temperature_power * np.log(temperatures) - B / (temperatures - T0)
        return (model - log_y) / log_error

    best = None
    # VFT fits have shallow valleys in T0; a few starts avoid stopping in the wrong one.
    for start_fraction in (0.2, 0.5, 0.8, 0.95):
        T0_start = start_fraction * upper_T0
        slope = np.polyfit(1.0 / (temperatures - T0_start),
                           log_y + temperature_power * np.log(temperatures), 1)
        start = [slope[1], max(-slope[0], 1.0), T0_start]
        fit = least_squares(residuals, start, bounds=([-np.inf, 0.0, 0.0],
                                                      [np.inf, np.inf, upper_T0]))
        if best is None or fit.cost < best.cost:
            best = fit
    chi2 = 2.0 * best.cost
    dof = len(log_y) - 3
    covariance = np.linalg.pinv(best.jac.T @ best.jac) * (max(1.0, chi2 / dof) if dof > 0 else 1.0)
    T0 = best.x[2]
    at_bound = "lower (0 K)" if T0 < 1.0 else ("upper (1 K below the lowest fitted T)"
                                              if T0 > upper_T0 - 1.0 else None)
    return best.x, covariance, chi2, at_bound


def _information_criteria(chi2: float, n_parameters: int, n_points: int) -> dict:
    """χ², AIC, AICc (= AIC + 2k(k+1)/(n-k-1), the small-sample correction) and BIC."""
    aic = chi2 + 2 * n_parameters
    spare = n_points - n_parameters - 1
    aicc = aic + 2 * n_parameters * (n_parameters + 1) / spare if spare > 0 else float("inf")
    return {"chi2": quantity(chi2, None, "1"), "aic": quantity(aic, None, "1"),
            "aicc": quantity(aicc, None, "1"),
            "bic": quantity(chi2 + n_parameters * np.log(n_points), None, "1")}


def fit_arrhenius(results: list[dict], window: tuple[float, float] = DEFAULT_WINDOW_K,
                  quantity_name: str = "sigma_tracer",
                  glass_transition_K: float | None = None) -> dict:
    """Arrhenius fit within ``window`` (K), VFT above the glass transition, and a model verdict.

    results: diffusion result dicts (as written by ``analyze_diffusion``), replicas included
    (pooled per temperature first). Temperatures marked ``diffusive: false`` are left out, listed
    under ``excluded`` and, with their upper bound, under ``upper_bounds``.
    glass_transition_K: VFT describes the supercooled liquid, so only temperatures above it are
    used for VFT and the model comparison (None: all).
    """
    if quantity_name not in FITTABLE:
        raise ValueError(f"quantity_name must be one of {sorted(FITTABLE)}, got {quantity_name!r}")
    low, high = sorted(float(edge) for edge in window)
    pooled = pool_replicas(results)
    temperatures, values, errors, excluded, bounds = _usable_points(pooled, quantity_name)
    in_window = (temperatures >= low) & (temperatures <= high)
    if in_window.sum() < 3:
        raise ValueError(f"Arrhenius window {low:g}-{high:g} K has {int(in_window.sum())} usable "
                         f"distinct temperatures of {quantity_name} (diffusive, positive, with an "
                         f"error; replicas pooled); need at least 3")
    conductivity = _is_conductivity(quantity_name)
    # ln(σT) for conductivities (σT has the Arrhenius form), ln D for diffusion coefficients.
    temperature_power = 1.0 if conductivity else 0.0
    log_y = np.log(values) + temperature_power * np.log(temperatures)
    log_error = log_normal_width(values, errors)

    (slope, intercept), covariance, chi2 = _linear_fit(1.0 / temperatures[in_window],
                                                        log_y[in_window], log_error[in_window])
    n_window = int(in_window.sum())
    used = temperatures[in_window]
    value_unit = FITTABLE[quantity_name]
    prefactor = np.exp(intercept)
    gradient = np.array([1.0 / REFERENCE_TEMPERATURE_K, 1.0])
    log_at_reference = intercept + slope / REFERENCE_TEMPERATURE_K
    at_reference = np.exp(log_at_reference) / REFERENCE_TEMPERATURE_K**temperature_power
    at_reference_error = at_reference * np.sqrt(gradient @ covariance @ gradient)
    reference_key = "sigma_303K" if conductivity else "D_303K"

    notes = []
    if excluded:
        notes.append("excluded: " + ", ".join(f"{e['temperature']['value']:g} K ({e['reason']})"
                                              for e in excluded))
    large = [f"{t:g} K" for t, r in zip(used, errors[in_window] / values[in_window])
             if r > LARGE_RELATIVE_ERROR]
    if large:
        notes.append(f"relative error above {LARGE_RELATIVE_ERROR} at {', '.join(large)}: "
                     f"weighted by its log-normal width")
    extrapolated = not used.min() <= REFERENCE_TEMPERATURE_K <= used.max()
    if extrapolated:
        notes.append(f"{reference_key} is extrapolated from the temperatures used "
                     f"({used.min():g}-{used.max():g} K) to {REFERENCE_TEMPERATURE_K:g} K")

    output = {
        "quantity": quantity_name,
        "window": quantity([low, high], None, "K"),
        "n_points": quantity(n_window, None, "1"),
        "temperatures_used": quantity(used, None, "K"),
        "Ea": quantity(-slope * BOLTZMANN_EV_PER_K, np.sqrt(covariance[0, 0]) * BOLTZMANN_EV_PER_K,
                       "eV"),
        "prefactor": quantity(prefactor, prefactor * np.sqrt(covariance[1, 1]),
                              f"{value_unit} K" if conductivity else value_unit),
        reference_key: quantity(at_reference, at_reference_error, value_unit),
        f"{reference_key}_extrapolated": bool(extrapolated),
        "reduced_chi2": quantity(chi2 / (n_window - 2) if n_window > 2 else None, None, "1"),
        "excluded": excluded,
        "upper_bounds": bounds,
    }
    above = np.ones(len(temperatures), bool)
    if glass_transition_K is not None:
        above = temperatures > glass_transition_K
        output["glass_transition"] = quantity(float(glass_transition_K), None, "K")
    output.update(_compare_models(temperatures[above], log_y[above], log_error[above],
                                  temperature_power, conductivity, value_unit, notes,
                                  glass_transition_K))
    output["note"] = "; ".join(notes) or None
    return output


def _compare_models(temperatures, log_y, log_error, temperature_power, conductivity,
                    value_unit, notes, glass_transition_K=None) -> dict:
    """VFT and Arrhenius over the same temperatures (above Tg), compared by AICc and BIC."""
    n_points = len(temperatures)
    where = f" above Tg = {glass_transition_K:g} K" if glass_transition_K is not None else ""
    if n_points < VFT_MIN_POINTS:
        notes.append(f"VFT needs at least {VFT_MIN_POINTS} usable temperatures{where}, have "
                     f"{n_points}; not fitted")
        return {"vft": None, "model_comparison": None}
    _, _, arrhenius_chi2 = _linear_fit(1.0 / temperatures, log_y, log_error)
    # VFT σ form is A/√T: fit ln(σ√T) = ln(σT) − ½ ln T, the same residuals in ln σ.
    vft_power = 0.5 if conductivity else 0.0
    (log_A, B, T0), vft_covariance, vft_chi2, at_bound = _fit_vft(
        temperatures, log_y - temperature_power * np.log(temperatures), log_error, vft_power)
    errors = np.sqrt(np.clip(np.diag(vft_covariance), 0.0, None))
    arrhenius_criteria = _information_criteria(arrhenius_chi2, 2, n_points)
    vft_criteria = _information_criteria(vft_chi2, 3, n_points)
    delta_bic = arrhenius_criteria["bic"]["value"] - vft_criteria["bic"]["value"]
    delta_aicc = arrhenius_criteria["aicc"]["value"] - vft_criteria["aicc"]["value"]
    if delta_aicc > BIC_EVIDENCE_THRESHOLD and at_bound is None:
        verdict = "VFT preferred: ln σ(1/T) is curved (glass-transition S-shape)"
    elif delta_aicc > BIC_EVIDENCE_THRESHOLD:
        verdict = f"Arrhenius adequate (VFT fits better only with T0 at its {at_bound} bound)"
    else:
        verdict = "Arrhenius adequate"
    if at_bound:
        notes.append(f"VFT T0 = {T0:.1f} K sits at its {at_bound} bound: not determined")
    return {
        "vft": {"A": quantity(np.exp(log_A), np.exp(log_A) * errors[0],
                              f"{value_unit} K^0.5" if conductivity else value_unit),
                "B": quantity(B, errors[1], "K"),
                "T0": quantity(T0, errors[2], "K"),
                "T0_at_bound": at_bound,
                "pseudo_activation_energy": quantity(B * BOLTZMANN_EV_PER_K,
                                                     errors[1] * BOLTZMANN_EV_PER_K, "eV")},
        "model_comparison": {
            "range": quantity([float(temperatures.min()), float(temperatures.max())], None, "K"),
            "n_points": quantity(n_points, None, "1"),
            "arrhenius": arrhenius_criteria,
            "vft": vft_criteria,
            "delta_bic": quantity(delta_bic, None, "1"),
            "delta_aicc": quantity(delta_aicc, None, "1"),
            "criterion": "AICc",
            "verdict": verdict,
        },
    }
