import numpy as np
import pytest

from dpglass.analysis.arrhenius import fit_arrhenius
from dpglass.analysis.conductivity import analyze_trajectory
from dpglass.analysis.trajectory import SpeciesTrajectory
from dpglass.units import BOLTZMANN_EV_PER_K, quantity

from synthetic_md import random_walk

EA_EV = 0.30
DT_PS = 0.1


def _result(temperature, sigma, relative_error=0.05, diffusive=True):
    return {"temperature": quantity(temperature, None, "K"),
            "sigma_tracer": quantity(sigma, relative_error * sigma, "mS/cm"),
            "diffusive": diffusive}


def _arrhenius_sigma(temperature, prefactor=3e5):
    return prefactor / temperature * np.exp(-EA_EV / (BOLTZMANN_EV_PER_K * temperature))


def test_exact_arrhenius_data_give_Ea_and_sigma_303K_with_covariance_propagation():
    temperatures = np.arange(303.0, 379.0, 15.0)
    results = [_result(T, _arrhenius_sigma(T)) for T in temperatures]
    fit = fit_arrhenius(results)
    assert fit["Ea"]["value"] == pytest.approx(EA_EV, rel=1e-9)
    assert fit["Ea"]["unit"] == "eV"
    assert fit["sigma_303K"]["value"] == pytest.approx(_arrhenius_sigma(303.0), rel=1e-9)
    assert fit["prefactor"]["value"] == pytest.approx(3e5, rel=1e-9)
    # Independent propagation: numpy's weighted polyfit covariance, gradient at 1/303 K.
    coefficients, covariance = np.polyfit(1 / temperatures, np.log(_arrhenius_sigma(temperatures)
                                                                   * temperatures),
                                          1, w=np.full(len(temperatures), 1 / 0.05),
                                          cov="unscaled")
    gradient = np.array([1 / 303.0, 1.0])
    expected_error = _arrhenius_sigma(303.0) * np.sqrt(gradient @ covariance @ gradient)
    assert fit["sigma_303K"]["error"] == pytest.approx(expected_error, rel=1e-6)
    assert fit["Ea"]["error"] == pytest.approx(np.sqrt(covariance[0, 0]) * BOLTZMANN_EV_PER_K,
                                               rel=1e-6)
    assert fit["window"]["value"] == [303.0, 378.0]


def test_Ea_recovered_from_random_walks_with_arrhenius_D():
    D_303 = 0.05  # Å²/ps
    results = []
    for seed, temperature in enumerate(np.arange(303.0, 379.0, 15.0)):
        D = D_303 * np.exp(-EA_EV / BOLTZMANN_EV_PER_K * (1 / temperature - 1 / 303.0))
        rng = np.random.default_rng(100 + seed)
        positions = random_walk(400, 16, D, DT_PS, rng)
        times = np.arange(400) * DT_PS
        still = np.zeros((400, 3))
        trajectory = SpeciesTrajectory(times, positions.astype(np.float32), still, still,
                                       positions.sum(axis=1), {"Li": 16, "Cl": 16}, 2000.0)
        results.append(analyze_trajectory(trajectory, "Li", temperature))
    for name in ("D", "sigma_tracer"):
        fit = fit_arrhenius(results, quantity_name=name)
        Ea = fit["Ea"]
        assert abs(Ea["value"] - EA_EV) < 3 * Ea["error"], name
        assert Ea["error"] < 0.05
    assert "D_303K" in fit_arrhenius(results, quantity_name="D")


def test_caged_points_are_excluded_and_too_few_points_is_a_clear_error():
    results = [_result(T, _arrhenius_sigma(T)) for T in (303.0, 318.0, 333.0, 348.0)]
    results.append(_result(363.0, 1e-9, diffusive=False))
    fit = fit_arrhenius(results)
    assert fit["n_points"]["value"] == 4
    assert "363 K" in fit["note"] and "not diffusive" in fit["note"]
    with pytest.raises(ValueError, match=r"window 303-378 K has 2 usable points"):
        fit_arrhenius(results[:2] + results[4:])


def test_vft_curvature_is_detected_and_plain_arrhenius_is_not_flagged():
    rng = np.random.default_rng(0)
    temperatures = np.arange(213.0, 394.0, 15.0)
    vft_sigma = 2e3 / np.sqrt(temperatures) * np.exp(-700.0 / (temperatures - 170.0))
    noisy = vft_sigma * np.exp(rng.normal(scale=0.03, size=len(temperatures)))
    fit = fit_arrhenius([_result(T, s, 0.03) for T, s in zip(temperatures, noisy)])
    assert fit["model_comparison"]["verdict"].startswith("VFT preferred")
    T0 = fit["vft"]["T0"]
    assert T0["value"] < 213.0 and abs(T0["value"] - 170.0) < 3 * T0["error"] + 5
    arrhenius_noisy = _arrhenius_sigma(temperatures) * np.exp(
        rng.normal(scale=0.03, size=len(temperatures)))
    plain = fit_arrhenius([_result(T, s, 0.03) for T, s in zip(temperatures, arrhenius_noisy)])
    assert plain["model_comparison"]["verdict"] == "Arrhenius adequate"
    assert plain["vft"]["T0"]["value"] < 213.0
