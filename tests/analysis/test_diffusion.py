import numpy as np
import pytest

from dpglass.analysis.conductivity import analyze_diffusion, analyze_trajectory
from dpglass.analysis.diffusion import estimate_diffusion, fit_msd_gls, select_fit_window
from dpglass.analysis.msd import msd_direct, msd_fft
from dpglass.analysis.trajectory import SpeciesTrajectory

from synthetic_md import TYPE_MAP, random_walk

TRUE_D = 0.05  # Å²/ps
DT_PS = 0.1


def _fit_walk(seed: int, n_frames: int = 400, n_atoms: int = 10):
    rng = np.random.default_rng(seed)
    msd = msd_fft(random_walk(n_frames, n_atoms, TRUE_D, DT_PS, rng)).sum(axis=1)
    window = select_fit_window(msd)
    lags = np.arange(window.start_index, window.end_index + 1)
    return lags, msd, fit_msd_gls(lags, msd[lags], DT_PS, n_frames - 1, n_atoms)


def test_uncertainty_covers_true_D_in_about_68_percent_of_trials():
    covered = naive_covered = 0
    trials = 200
    for seed in range(trials):
        lags, msd, fit = _fit_walk(seed)
        covered += abs(fit.D_A2_per_ps - TRUE_D) < fit.D_error_A2_per_ps
        # The OLS standard error ignores correlated lags: it must be shown to be overconfident.
        slope_and_intercept, covariance = np.polyfit(lags * DT_PS, msd[lags], 1, cov=True)
        naive_covered += abs(slope_and_intercept[0] / 6 - TRUE_D) < np.sqrt(covariance[0, 0]) / 6
    assert 0.55 <= covered / trials <= 0.80
    assert naive_covered / trials < 0.3


def test_gls_D_agrees_with_independent_polyfit_of_direct_msd():
    rng = np.random.default_rng(11)
    positions = random_walk(300, 20, TRUE_D, DT_PS, rng)
    msd = msd_fft(positions).sum(axis=1)
    window = select_fit_window(msd)
    lags = np.arange(window.start_index, window.end_index + 1)
    fit = fit_msd_gls(lags, msd[lags], DT_PS, 299, 20)
    direct = msd_direct(positions, lags).sum(axis=1)
    polyfit_D = np.polyfit(lags * DT_PS, direct, 1)[0] / 6
    # Both estimators are unbiased; OLS merely scatters more, so they differ by a few σ at most.
    assert abs(fit.D_A2_per_ps - polyfit_D) < 3 * fit.D_error_A2_per_ps
    assert abs(fit.D_A2_per_ps - TRUE_D) < 3 * fit.D_error_A2_per_ps


def test_gls_is_exact_on_a_noise_free_line():
    lags = np.arange(10, 200)
    fit = fit_msd_gls(lags, 6 * 0.2 * lags * DT_PS + 1.5, DT_PS, 399, 10)
    assert fit.D_A2_per_ps == pytest.approx(0.2, rel=1e-8)
    assert fit.intercept_A2 == pytest.approx(1.5, rel=1e-6)


def test_window_skips_ballistic_start():
    # MSD that is ballistic (∝ t²) up to lag 20 and diffusive after: the window must start later.
    lags = np.arange(1000, dtype=float)
    msd = np.where(lags < 20, lags**2 / 20.0, lags - 10.0)
    window = select_fit_window(msd)
    assert window.start_index >= 20
    assert window.end_index == 999  # every lag to the end of the run
    assert window.note is None


def test_window_skips_cage_plateau():
    # Rattling in a cage (plateau at 1 Å²) before slow diffusion takes over beyond ~100 lags.
    lags = np.arange(4000, dtype=float)
    msd = 1.0 - np.exp(-lags / 2.0) + 0.01 * lags
    window = select_fit_window(msd)
    assert window.start_index >= 150  # local slope first reaches 0.7 at ~186
    assert window.end_index == 3999 and window.note is None


def _trajectory(positions, framework_com, times):
    """Li-only trajectory in a neutral 14 Å box whose framework centre moves as framework_com."""
    return SpeciesTrajectory(times, positions.astype(np.float32), framework_com, framework_com,
                             positions.sum(axis=1) - 8 * framework_com,
                             {"Li": 8, "Al": 8, "Cl": 20, "O": 6}, 14.0**3)


def test_drift_correction_removes_framework_drift():
    rng = np.random.default_rng(4)
    times = np.arange(300) * DT_PS
    drift = np.outer(times, [0.5, 0.0, 0.0])  # whole cell sliding at 0.5 Å/ps
    positions = random_walk(300, 8, TRUE_D, DT_PS, rng) + drift[:, None, :]
    trajectory = _trajectory(positions, drift, times)
    corrected = analyze_trajectory(trajectory, "Li", 300.0, drift_correction="framework")
    uncorrected = analyze_trajectory(trajectory, "Li", 300.0, drift_correction="none")
    D = corrected["D"]
    assert abs(D["value"] - TRUE_D * 1e-4) < 3 * D["error"]
    assert uncorrected["D_components"]["x"]["value"] > 2 * corrected["D_components"]["x"]["value"]


def test_caged_ions_are_marked_not_diffusive():
    rng = np.random.default_rng(8)
    times = np.arange(300) * DT_PS
    sites = rng.uniform(0, 14, size=(8, 3))
    rattling = sites + rng.normal(scale=0.3, size=(300, 8, 3))
    result = analyze_trajectory(_trajectory(rattling, np.zeros((300, 3)), times), "Li", 250.0)
    assert result["diffusive"] is False
    # The hop criterion decided it (rattling of 0.3 Å never reaches a 2 Å hop), and says so.
    assert result["diffusive_checks"]["hop"]["passed"] is False
    assert any("hop distance" in reason for reason in result["not_diffusive_because"])
    # The bound is an upper bound: above the fitted D, and above zero (the true long-time D).
    bound = result["D_upper_bound"]["value"]
    assert bound > 0 and bound >= result["D"]["value"]
    assert bound == pytest.approx(result["msd"]["total"]["value"][-1] / 6 / 15 * 1e-4, rel=0.5)


def test_end_to_end_dump_recovers_D_and_sigma(toy_dump):
    path, positions, _ = toy_dump
    result = analyze_diffusion(path, "Li", 300.0, type_map=TYPE_MAP, timestep_fs=1.0,
                               drift_correction="framework")
    D = result["D"]
    assert D["unit"] == "cm^2/s"
    # The dump reader (shuffled atoms, permuted columns) gives what the in-memory positions give.
    masses = np.array([26.98] * 8 + [35.45] * 20 + [16.0] * 6)
    framework = (positions[:, 8:] * masses[None, :, None]).sum(axis=1) / masses.sum()
    direct = estimate_diffusion(positions[:, :8] - framework[:, None, :], 1.0, hop_distance_A=2.0)
    assert D["value"] == pytest.approx(direct.fit.D_A2_per_ps * 1e-4, rel=1e-3)
    # This 8-ion, 400-frame draw lies low (MSD/6t = 0.033-0.043 Å²/ps at every lag past 20 ps);
    # the coverage tests below check the error bars statistically.
    assert abs(D["value"] - 5e-6) < 4 * D["error"]
    assert D["error"] < 0.3 * D["value"]
    assert result["diffusive"] is True
    # By hand: σ = N q² D / (V k_B T) = 8 e² / (14³ Å³ · k_B · 300 K) · D = 1.80685e6 S/m per cm²/s,
    # i.e. 1.80685e7 mS/cm per cm²/s (1 S/m = 10 mS/cm).
    expected_sigma = 1.80685e7 * D["value"]
    assert result["sigma_tracer"]["value"] == pytest.approx(expected_sigma, rel=1e-3)
    start, end = result["fit_window"]["value"]
    assert 0 <= start < end == 399.0 and result["fit_window"]["unit"] == "ps"  # to the end
    # Independent Li walkers in a static framework: collective σ ≈ tracer σ, Haven ratio ≈ 1.
    haven = result["haven_ratio"]
    assert abs(haven["value"] - 1.0) < 3 * haven["error"]


def test_bad_temperature_is_named():
    with pytest.raises(ValueError, match="temperature_K"):
        analyze_diffusion("whatever.dump", "Li", 0.0)


def test_data_sized_covariance_is_the_random_walk_one_for_gaussian_spread():
    """With the Gaussian value Var(r²) = (2/3) MSD² the data-sized GLS gives the random-walk
    error of the same line (exact covariance, D² scaling) to within the line-vs-data MSD."""
    lags = np.arange(20, 200)
    msd = 6 * 0.2 * lags * DT_PS  # noise-free line, no intercept
    legacy = fit_msd_gls(lags, msd, DT_PS, 399, 10)
    sized = fit_msd_gls(lags, msd, DT_PS, 399, 10, variance=2 / 3 * msd**2)
    assert sized.D_A2_per_ps == pytest.approx(0.2, rel=1e-8)
    assert sized.D_error_A2_per_ps == pytest.approx(legacy.D_error_A2_per_ps, rel=1e-6)
    # Twice the spread (hops: heavier tails), or pairs (ion correlation 2): √2 larger errors.
    wider = fit_msd_gls(lags, msd, DT_PS, 399, 10, variance=4 / 3 * msd**2)
    paired = fit_msd_gls(lags, msd, DT_PS, 399, 10, variance=2 / 3 * msd**2, ion_correlation=2.0)
    assert wider.D_error_A2_per_ps == pytest.approx(np.sqrt(2) * sized.D_error_A2_per_ps, rel=1e-6)
    assert paired.D_error_A2_per_ps == pytest.approx(wider.D_error_A2_per_ps, rel=1e-6)


def test_ion_correlation_is_unbiased_where_a_lag_fits_only_a_few_times_into_the_run():
    """At a lag a fifth of the run (5 independent origins) the factor of independent walkers
    averages to 1: numerator and denominator are variances about time means over the same
    origins, so the origins' overlap (which the covariance shape holds) is not counted again."""
    from dpglass.analysis.diffusion import displacement_statistics

    factors = [displacement_statistics(random_walk(400, 16, TRUE_D, DT_PS,
                                                   np.random.default_rng(seed)),
                                       [80]).ion_correlation[0] for seed in range(200)]
    assert np.mean(factors) == pytest.approx(1.0, abs=0.1)


def test_ion_correlation_counts_rigid_pairs_as_one_walker():
    """Pooled over a window, averaged over 20 runs: 1 for independent walkers, 2 for pairs (the
    factor of one run scatters by ~0.3 at 2000 frames)."""
    from dpglass.analysis.diffusion import displacement_statistics, lag_grid, pooled_ion_correlation

    independent, pairs = [], []
    for seed in range(20):
        walkers = random_walk(2000, 16, TRUE_D, DT_PS, np.random.default_rng(seed))
        independent.append(pooled_ion_correlation(
            displacement_statistics(walkers, lag_grid(1999)), 50, 1999))
        pairs.append(pooled_ion_correlation(
            displacement_statistics(np.repeat(walkers[:, :8], 2, axis=1), lag_grid(1999)), 50,
            1999))
    # independent: ≥ 1 by construction (clipped), so its mean lies a little above 1
    assert np.mean(independent) == pytest.approx(1.0, abs=0.15)
    assert np.mean(pairs) == pytest.approx(2.0, rel=0.1)


def test_fit_uses_every_lag_to_the_end_of_the_run():
    rng = np.random.default_rng(5)
    estimate = estimate_diffusion(random_walk(600, 16, TRUE_D, DT_PS, rng), DT_PS,
                                  hop_distance_A=1.0)
    assert estimate.window.end_index == 599 and estimate.fit.lags[-1] == 599
    assert estimate.window.start_index <= 150  # the start may lie at most a quarter in
    assert np.all(np.diff(np.log(estimate.fit.lags)) > 0)


def test_hop_statistics_count_the_run_in_hops_of_the_hop_distance():
    """hops per ion = 6 D t / a², events = ions × that; He et al.'s error 3.43/√events; the fitted
    error's worth in independent hops is (3.43 D / σ)²."""
    rng = np.random.default_rng(9)
    positions = random_walk(1000, 32, 0.2, DT_PS, rng)
    estimate = estimate_diffusion(positions, DT_PS, hop_distance_A=2.0)
    hops, fit = estimate.hops, estimate.fit
    assert estimate.diffusive and hops["upper_bound"] is False
    assert hops["hops_per_ion"] == pytest.approx(6 * fit.D_A2_per_ps * 99.9 / 4.0)
    assert hops["hop_events"] == pytest.approx(32 * hops["hops_per_ion"])
    assert hops["expected_relative_error"] == pytest.approx(3.43 / np.sqrt(hops["hop_events"]))
    assert hops["effective_hop_events"] == pytest.approx(
        (3.43 * fit.D_A2_per_ps / fit.D_error_A2_per_ps)**2)
    assert hops["hops_per_ion_at_window_start"] >= 1.0


def test_a_run_refused_by_the_hop_criterion_alone_says_how_long_a_run_would_pass():
    """D = 0.01 Å²/ps over 200 ps: MSD(50 ps) = 3 Å² < (2 Å)², while β, the halves and the
    non-Gaussian parameter are fine. The resolution names the hop criterion alone and asks for
    ~(4 Å²)/(6 D / 4) ≈ 270 ps; a run 30 % longer than that, of the same walk, passes."""
    def walk(n_frames, seed):
        return random_walk(n_frames, 64, 0.01, 0.5, np.random.default_rng(seed))

    short = estimate_diffusion(walk(401, 3), 0.5, hop_distance_A=2.0)
    verdict = short.resolution
    assert short.diffusive is False and verdict["refused_by"] == ["hop"]
    assert verdict["single_criterion"] == "hop"
    assert short.checks["beta"]["passed"] and short.checks["ngp"]["passed"]
    assert 220 < verdict["run_length_to_pass_ps"] < 330
    assert verdict["run_length_is_lower_limit"] is False
    # He et al.: 3.43 / √(64 ions × ~4 hops each)
    assert 0.15 < verdict["expected_relative_error_at_that_length"] < 0.25
    longer = int(1.3 * verdict["run_length_to_pass_ps"] / 0.5) + 1
    assert estimate_diffusion(walk(longer, 4), 0.5, hop_distance_A=2.0).diffusive


def test_caged_ions_get_a_lower_limit_on_the_run_length_from_the_upper_bound():
    rng = np.random.default_rng(8)
    rattling = rng.uniform(0, 14, size=(8, 3)) + rng.normal(scale=0.3, size=(300, 8, 3))
    estimate = estimate_diffusion(rattling, DT_PS, hop_distance_A=2.0)
    verdict, hops = estimate.resolution, estimate.hops
    assert estimate.diffusive is False and "hop" in verdict["refused_by"]
    assert verdict["single_criterion"] is None  # a flat MSD is not one kinisi would fit either
    assert verdict["run_length_is_lower_limit"] is True
    # at most the bound: MSD(t)/(6t) at the end, so under one hop per ion in 30 ps
    assert hops["upper_bound"] is True and hops["hops_per_ion"] < 1
    assert verdict["run_length_to_pass_ps"] > 4 * 29.9
