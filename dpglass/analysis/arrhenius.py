"""Arrhenius and Vogel–Fulcher–Tammann fits of D(T) or σ(T), and which model the data support.

Conductivities are fitted as ln(σT) = ln A − Ea/(k_B T); diffusion coefficients as
ln D = ln D0 − Ea/(k_B T). The VFT forms are σ = A/√T · exp(−B/(T − T0)) and
D = D0 · exp(−B/(T − T0)). Both are compared on the same residuals in ln σ (or ln D).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import least_squares

from dpglass.units import BOLTZMANN_EV_PER_K, quantity

PAPER_WINDOW_K = (303.0, 378.0)  # 30–105 °C, the seed paper's MD Arrhenius range
PAPER_EA_MD_EV = 0.30
PAPER_SIGMA_303K_MS_PER_CM = 1.52
REFERENCE_TEMPERATURE_K = 303.0
FITTABLE = {"sigma_tracer": "mS/cm", "sigma_collective": "mS/cm", "D": "cm^2/s"}
# A BIC difference above this is "positive evidence" (Kass & Raftery 1995).
BIC_EVIDENCE_THRESHOLD = 2.0


def _is_conductivity(quantity_name: str) -> bool:
    return quantity_name.startswith("sigma")


def _usable_points(results: list[dict], quantity_name: str):
    temperatures, values, errors, excluded = [], [], [], []
    for result in results:
        temperature = result["temperature"]["value"]
        entry = result[quantity_name]
        value, error = entry["value"], entry["error"]
        if not result.get("diffusive", True):
            reason = "not diffusive (caged)"
        elif value is None or value <= 0:
            reason = f"{quantity_name} not positive"
        elif error is None or not error > 0:
            reason = f"{quantity_name} has no uncertainty"
        else:
            temperatures.append(temperature), values.append(value), errors.append(error)
            continue
        excluded.append({"temperature": quantity(temperature, None, "K"), "reason": reason})
    order = np.argsort(temperatures)
    return (np.asarray(temperatures, float)[order], np.asarray(values, float)[order],
            np.asarray(errors, float)[order], excluded)


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
    return best.x, covariance, chi2


def _information_criteria(chi2: float, n_parameters: int, n_points: int) -> dict:
    return {"chi2": quantity(chi2, None, "1"),
            "aic": quantity(chi2 + 2 * n_parameters, None, "1"),
            "bic": quantity(chi2 + n_parameters * np.log(n_points), None, "1")}


def fit_arrhenius(results: list[dict], window: tuple[float, float] = PAPER_WINDOW_K,
                  quantity_name: str = "sigma_tracer") -> dict:
    """Arrhenius fit within ``window`` (K), VFT over all temperatures, and a model verdict.

    results: diffusion result dicts (as written by ``analyze_diffusion``). Points marked
    ``diffusive: false`` are left out and listed under ``excluded``.
    """
    if quantity_name not in FITTABLE:
        raise ValueError(f"quantity_name must be one of {sorted(FITTABLE)}, got {quantity_name!r}")
    low, high = sorted(float(edge) for edge in window)
    temperatures, values, errors, excluded = _usable_points(results, quantity_name)
    in_window = (temperatures >= low) & (temperatures <= high)
    if in_window.sum() < 3:
        raise ValueError(f"Arrhenius window {low:g}-{high:g} K has {int(in_window.sum())} usable "
                         f"points of {quantity_name} (diffusive, positive, with an error); "
                         f"need at least 3")
    conductivity = _is_conductivity(quantity_name)
    # ln(σT) for conductivities (σT has the Arrhenius form), ln D for diffusion coefficients.
    temperature_power = 1.0 if conductivity else 0.0
    log_y = np.log(values) + temperature_power * np.log(temperatures)
    log_error = errors / values

    (slope, intercept), covariance, chi2 = _linear_fit(1.0 / temperatures[in_window],
                                                        log_y[in_window], log_error[in_window])
    n_window = int(in_window.sum())
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
    if not low <= REFERENCE_TEMPERATURE_K <= high:
        notes.append(f"{reference_key} is extrapolated outside the fit window")

    output = {
        "quantity": quantity_name,
        "window": quantity([low, high], None, "K"),
        "n_points": quantity(n_window, None, "1"),
        "temperatures_used": quantity(temperatures[in_window], None, "K"),
        "Ea": quantity(-slope * BOLTZMANN_EV_PER_K, np.sqrt(covariance[0, 0]) * BOLTZMANN_EV_PER_K,
                       "eV"),
        "prefactor": quantity(prefactor, prefactor * np.sqrt(covariance[1, 1]),
                              f"{value_unit} K" if conductivity else value_unit),
        reference_key: quantity(at_reference, at_reference_error, value_unit),
        "reduced_chi2": quantity(chi2 / (n_window - 2), None, "1"),
        "excluded": excluded,
        "paper_reference": {"Ea_md": quantity(PAPER_EA_MD_EV, None, "eV"),
                            "sigma_303K_experiment": quantity(PAPER_SIGMA_303K_MS_PER_CM, None,
                                                              "mS/cm")},
    }
    output.update(_compare_models(temperatures, log_y, log_error, temperature_power,
                                  conductivity, value_unit, notes))
    output["note"] = "; ".join(notes) or None
    return output


def _compare_models(temperatures, log_y, log_error, temperature_power, conductivity,
                    value_unit, notes) -> dict:
    """VFT and Arrhenius over the whole temperature range, compared by AIC/BIC."""
    n_points = len(temperatures)
    if n_points < 4:
        notes.append(f"VFT needs at least 4 usable temperatures, have {n_points}; not fitted")
        return {"vft": None, "model_comparison": None}
    _, _, arrhenius_chi2 = _linear_fit(1.0 / temperatures, log_y, log_error)
    # VFT σ form is A/√T: fit ln(σ√T) = ln(σT) − ½ ln T, the same residuals in ln σ.
    vft_power = 0.5 if conductivity else 0.0
    (log_A, B, T0), vft_covariance, vft_chi2 = _fit_vft(
        temperatures, log_y - temperature_power * np.log(temperatures), log_error, vft_power)
    errors = np.sqrt(np.clip(np.diag(vft_covariance), 0.0, None))
    arrhenius_criteria = _information_criteria(arrhenius_chi2, 2, n_points)
    vft_criteria = _information_criteria(vft_chi2, 3, n_points)
    delta_bic = arrhenius_criteria["bic"]["value"] - vft_criteria["bic"]["value"]
    verdict = ("VFT preferred: ln σ(1/T) is curved (glass-transition S-shape)"
               if delta_bic > BIC_EVIDENCE_THRESHOLD else "Arrhenius adequate")
    return {
        "vft": {"A": quantity(np.exp(log_A), np.exp(log_A) * errors[0],
                              f"{value_unit} K^0.5" if conductivity else value_unit),
                "B": quantity(B, errors[1], "K"),
                "T0": quantity(T0, errors[2], "K"),
                "pseudo_activation_energy": quantity(B * BOLTZMANN_EV_PER_K,
                                                     errors[1] * BOLTZMANN_EV_PER_K, "eV")},
        "model_comparison": {
            "range": quantity([float(temperatures.min()), float(temperatures.max())], None, "K"),
            "n_points": quantity(n_points, None, "1"),
            "arrhenius": arrhenius_criteria,
            "vft": vft_criteria,
            "delta_bic": quantity(delta_bic, None, "1"),
            "verdict": verdict,
        },
    }
