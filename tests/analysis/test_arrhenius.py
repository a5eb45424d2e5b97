import numpy as np
import pytest

from dpglass.analysis.arrhenius import fit_arrhenius, pool_replicas
from dpglass.analysis.conductivity import analyze_trajectory
from dpglass.analysis.trajectory import SpeciesTrajectory
from dpglass.core.units import BOLTZMANN_EV_PER_K, quantity

from synthetic_md import random_walk

EA_EV = 0.30
DT_PS = 0.1


def _result(temperature, sigma, relative_error=0.05, diffusive=True, replica=0):
    return {"temperature": quantity(temperature, None, "K"),
            "sigma_tracer": quantity(sigma, relative_error * sigma, "mS/cm"),
            "sigma_tracer_upper_bound": quantity(3 * sigma, None, "mS/cm"),
            "diffusive": diffusive, "replica": replica}


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
    # Independent propagation: numpy's weighted polyfit covariance, gradient at 1/303 K; the
    # log-space error of x ± 5 % is the log-normal width √(ln(1 + 0.05²)).
    log_width = np.sqrt(np.log(1 + 0.05**2))
    coefficients, covariance = np.polyfit(1 / temperatures, np.log(_arrhenius_sigma(temperatures)
                                                                   * temperatures),
                                          1, w=np.full(len(temperatures), 1 / log_width),
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
    with pytest.raises(ValueError, match=r"window 303-378 K has 2 usable distinct temperatures"):
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


def test_three_replicas_at_one_temperature_do_not_make_an_arrhenius_fit():
    results = [_result(303.0, _arrhenius_sigma(303.0) * f, replica=r)
               for r, f in enumerate((0.95, 1.0, 1.05))]
    results += [_result(318.0, _arrhenius_sigma(318.0))]
    with pytest.raises(ValueError, match="2 usable distinct temperatures"):
        fit_arrhenius(results)


def test_replicas_are_pooled_and_inflated_when_they_scatter_beyond_their_errors():
    consistent = pool_replicas([_result(303.0, v, 0.05, replica=r)
                                for r, v in enumerate((1.00, 1.02, 0.98))])
    assert len(consistent) == 1 and consistent[0]["n_replicas"]["value"] == 3
    sigma = consistent[0]["sigma_tracer"]
    values = np.array([1.0, 1.02, 0.98])
    assert sigma["value"] == pytest.approx(np.average(values, weights=1 / (0.05 * values)**2))
    assert consistent[0]["replica_scatter"]["sigma_tracer"]["inflation"]["value"] == 1.0
    # Errors of 5 % on values that differ by 40 %: the pooled error must grow by √(χ²/dof).
    values = np.array([0.8, 1.0, 1.2])
    scattered = pool_replicas([_result(303.0, v, 0.05, replica=r) for r, v in enumerate(values)])[0]
    weights = 1 / (0.05 * values)**2
    mean = np.sum(weights * values) / np.sum(weights)
    birge = np.sqrt(np.sum(weights * (values - mean)**2) / 2)
    assert birge > 3
    assert scattered["sigma_tracer"]["error"] == pytest.approx(birge / np.sqrt(weights.sum()))
    assert scattered["replica_scatter"]["sigma_tracer"]["p_value"]["value"] < 1e-3


def test_caged_temperatures_are_upper_bounds_and_extrapolation_to_303K_is_said():
    results = [_result(T, _arrhenius_sigma(T)) for T in (333.0, 348.0, 363.0, 378.0)]
    results.append(_result(303.0, 1e-3, diffusive=False))
    fit = fit_arrhenius(results)
    assert fit["temperatures_used"]["value"] == [333.0, 348.0, 363.0, 378.0]
    assert fit["upper_bounds"] == [{"temperature": quantity(303.0, None, "K"),
                                    "upper_bound": quantity(3e-3, None, "mS/cm")}]
    assert fit["sigma_303K_extrapolated"] is True
    assert "extrapolated from the temperatures used (333-378 K)" in fit["note"]
    assert fit_arrhenius([_result(T, _arrhenius_sigma(T)) for T in (303.0, 318.0, 333.0)]
                         )["sigma_303K_extrapolated"] is False


def test_large_relative_errors_get_log_normal_widths():
    temperatures = np.array([303.0, 318.0, 333.0, 348.0])
    results = [_result(T, _arrhenius_sigma(T), relative_error=0.05) for T in temperatures]
    results[0] = _result(303.0, _arrhenius_sigma(303.0), relative_error=2.0)
    fit = fit_arrhenius(results)
    assert "relative error above 0.5 at 303 K" in fit["note"]
    # Weighted line with log-normal widths, computed independently.
    widths = np.sqrt(np.log1p(np.array([2.0, 0.05, 0.05, 0.05])**2))
    log_sigma_T = np.log(_arrhenius_sigma(temperatures) * temperatures)
    _, covariance = np.polyfit(1 / temperatures, log_sigma_T, 1, w=1 / widths, cov="unscaled")
    assert fit["Ea"]["error"] == pytest.approx(np.sqrt(covariance[0, 0]) * BOLTZMANN_EV_PER_K,
                                               rel=1e-6)
    assert widths[0] < 2.0 / 1.5  # far narrower than σ/x = 2


def test_vft_only_above_the_glass_transition_and_T0_at_its_bound_is_flagged():
    temperatures = np.arange(213.0, 394.0, 15.0)
    rng = np.random.default_rng(3)
    # Arrhenius above Tg = 260 K, nearly frozen below it (a glass): VFT over everything would
    # see curvature that is the glass transition, not the liquid.
    sigma = np.where(temperatures > 260.0, _arrhenius_sigma(temperatures),
                     _arrhenius_sigma(260.0) * np.exp(-(260.0 - temperatures) / 5.0))
    sigma = sigma * np.exp(rng.normal(scale=0.03, size=len(temperatures)))
    results = [_result(T, s, 0.03) for T, s in zip(temperatures, sigma)]
    everything = fit_arrhenius(results)
    above = fit_arrhenius(results, glass_transition_K=260.0)
    assert everything["model_comparison"]["n_points"]["value"] == 13
    assert above["model_comparison"]["n_points"]["value"] == 9
    assert above["model_comparison"]["range"]["value"] == [273.0, 393.0]
    assert above["glass_transition"]["value"] == 260.0
    assert above["model_comparison"]["verdict"].startswith("Arrhenius adequate")
    # Arrhenius D: the best VFT is T0 → 0 (VFT with T0 = 0 is Arrhenius), which is flagged.
    D = np.exp(-EA_EV / (BOLTZMANN_EV_PER_K * temperatures))
    plain = fit_arrhenius([{"temperature": quantity(T, None, "K"), "diffusive": True,
                            "D": quantity(d, 0.03 * d, "cm^2/s")}
                           for T, d in zip(temperatures, D)], quantity_name="D")
    assert plain["vft"]["T0_at_bound"] == "lower (0 K)"
    assert "sits at its lower (0 K) bound" in plain["note"]
    assert plain["model_comparison"]["verdict"] == "Arrhenius adequate"


def test_aicc_penalises_the_extra_vft_parameter_for_few_points():
    from dpglass.analysis.arrhenius import _information_criteria

    arrhenius, vft = _information_criteria(10.0, 2, 6), _information_criteria(7.0, 3, 6)
    assert arrhenius["aicc"]["value"] == pytest.approx(10 + 4 + 12 / 3)
    assert vft["aicc"]["value"] == pytest.approx(7 + 6 + 24 / 2)
    # AIC alone would prefer VFT here (13 < 14); AICc does not (25 > 18).
    assert vft["aic"]["value"] < arrhenius["aic"]["value"]
    assert vft["aicc"]["value"] > arrhenius["aicc"]["value"]


def test_one_diffusive_replica_among_caged_ones_keeps_its_own_error():
    """Two glasses at a temperature, one diffusive: the diffusive one is the result (no scatter
    test with one value; this divided by zero degrees of freedom)."""
    pooled = pool_replicas([_result(363.0, 1.0, 0.1, replica=0),
                            _result(363.0, 0.5, 0.1, diffusive=False, replica=1)])[0]
    assert pooled["diffusive"] and pooled["replicas_not_diffusive"] == [1]
    assert pooled["sigma_tracer"]["value"] == 1.0
    assert pooled["sigma_tracer"]["error"] == pytest.approx(0.1)
    scatter = pooled["replica_scatter"]["sigma_tracer"]
    assert scatter["dof"]["value"] == 0 and scatter["p_value"]["value"] is None


def test_cli_records_and_draws_a_papers_numbers_only_for_the_formula_asked(tmp_path):
    """`dpglass arrhenius` carries no composition's published numbers unless --formula names one
    (it used to put LACO75's Ea and σ into every fit and plot)."""
    import json

    from dpglass.cli import main
    from dpglass.core.io import write_json

    paths = []
    for T in np.arange(303.0, 379.0, 15.0):
        paths.append(str(tmp_path / f"T{T:g}.json"))
        write_json(paths[-1], _result(T, _arrhenius_sigma(T)))
    assert main(["arrhenius", *paths, "--json", str(tmp_path / "plain.json")]) == 0
    assert json.loads((tmp_path / "plain.json").read_text())["paper_reference"] == {}
    assert main(["arrhenius", *paths, "--json", str(tmp_path / "naco.json"),
                 "--formula", "NaAlCl2.5O0.75", "--plot", str(tmp_path / "naco.png")]) == 0
    naco = json.loads((tmp_path / "naco.json").read_text())["paper_reference"]
    assert "Ea_md" not in naco and naco["sigma_303K_experiment"]["value"] == 1.33
    assert (tmp_path / "naco.png").stat().st_size > 0
    assert main(["arrhenius", *paths, "--json", str(tmp_path / "laco.json"),
                 "--formula", "LiAlCl2.5O0.75"]) == 0
    assert json.loads((tmp_path / "laco.json").read_text())["paper_reference"]["Ea_md"]["value"] == 0.30
