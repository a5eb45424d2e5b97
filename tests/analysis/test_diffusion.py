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
    assert window.end_index == 499
    assert window.note is None


def test_window_skips_cage_plateau():
    # Rattling in a cage (plateau at 1 Å²) before slow diffusion takes over beyond ~100 lags.
    lags = np.arange(4000, dtype=float)
    msd = 1.0 - np.exp(-lags / 2.0) + 0.01 * lags
    window = select_fit_window(msd)
    assert window.start_index >= 150  # local slope first reaches 0.7 at ~186
    assert window.end_index == 1999 and window.note is None


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
    assert 0 <= start < end <= 200.0 and result["fit_window"]["unit"] == "ps"
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


def test_ion_correlation_counts_rigid_pairs_as_one_walker():
    from dpglass.analysis.diffusion import displacement_statistics, lag_grid, pooled_ion_correlation

    rng = np.random.default_rng(2)
    walkers = random_walk(2000, 16, TRUE_D, DT_PS, rng)
    independent = displacement_statistics(walkers, lag_grid(999))
    pairs = displacement_statistics(np.repeat(walkers[:, :8], 2, axis=1), lag_grid(999))
    assert pooled_ion_correlation(independent, 50, 999) == pytest.approx(1.0, abs=0.15)
    assert pooled_ion_correlation(pairs, 50, 999) == pytest.approx(2.0, rel=0.15)
