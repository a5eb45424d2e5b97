"""structure.glasses: independent glasses, and the glass-to-glass spread kept apart from the
trajectory error in the summary."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dpglass.config import ConfigError, glass_settings, glass_suffixes, validate_config
from dpglass.analysis.glasses import glass_spread
from dpglass.report.markdown import glass_spread_markdown
from dpglass.core.units import BOLTZMANN_EV_PER_K, quantity

TEMPERATURES = (303.0, 328.0, 353.0, 378.0)


def synthetic_results(glass: int, ea_eV: float, sigma_303: float, relative_error=0.02):
    """Diffusion results whose tracer σ follows σT ∝ exp(-Ea/kT) exactly (errors 2 %)."""
    rows = []
    for T in TEMPERATURES:
        sigma = sigma_303 * 303.0 / T * math.exp(-ea_eV / BOLTZMANN_EV_PER_K * (1 / T - 1 / 303.0))
        D = 1e-8 * sigma  # any positive number proportional to σ
        rows.append({"temperature": quantity(T, None, "K"), "replica": 0, "glass": glass,
                     "diffusive": True,
                     "sigma_tracer": quantity(sigma, relative_error * sigma, "mS/cm"),
                     "D": quantity(D, relative_error * D, "cm^2/s")})
    return rows


def test_spread_over_glasses_is_reported_apart_from_the_trajectory_error():
    results = synthetic_results(0, 0.30, 1.5) + synthetic_results(1, 0.34, 1.0)
    spread = glass_spread(results, (303.0, 378.0))
    assert spread["glasses"] == [0, 1]
    ea = spread["Ea"]
    assert ea["mean"]["value"] == pytest.approx(0.32, abs=1e-6)
    assert ea["glass_spread"]["value"] == pytest.approx(np.std([0.30, 0.34], ddof=1), abs=1e-6)
    assert ea["mean"]["unit"] == "eV"
    per_glass_errors = [f["Ea"]["error"] for f in spread["Ea_per_glass"]]
    assert ea["trajectory_error"]["value"] == pytest.approx(math.hypot(*per_glass_errors) / 2)
    # at 303 K: σ = 1.5 and 1.0 mS/cm -> mean 1.25, spread 0.354, trajectory error hypot(0.03, 0.02)/2
    row = spread["transport"][0]["sigma_tracer"]
    assert row["mean"]["value"] == pytest.approx(1.25)
    assert row["glass_spread"]["value"] == pytest.approx(np.std([1.5, 1.0], ddof=1))
    assert row["trajectory_error"]["value"] == pytest.approx(math.hypot(0.03, 0.02) / 2)
    text = "\n".join(glass_spread_markdown(spread))
    assert "## Glass-to-glass spread" in text and "glass spread" in text
    assert "| 303 | sigma_tracer (mS/cm) | 1.5 ± 0.03, 1 ± 0.02 | 1.25 |" in text


def test_one_glass_has_no_spread_and_a_non_diffusive_glass_gives_none():
    assert glass_spread(synthetic_results(0, 0.3, 1.5), (303.0, 378.0)) is None
    other = synthetic_results(1, 0.3, 1.0)
    other[0]["diffusive"] = False
    spread = glass_spread(synthetic_results(0, 0.3, 1.5) + other, (303.0, 378.0))
    assert "mean" not in spread["transport"][0]["D"]
    assert "not diffusive" in spread["transport"][0]["D"]["note"]
    text = "\n".join(glass_spread_markdown(spread))  # the reason is a note under the table
    assert "| 303 | D (cm²/s) |" in text and "| — | — | — [1] |" in text
    assert "- [1] 303 K, D: " in text and "not diffusive" in text


def test_glass_seeds_and_paths():
    config = validate_config({"compositions": {"X": {"formula": "LiCl"}}, "structure": {"glasses": 3}})
    assert glass_suffixes(config) == ["", "_glass1", "_glass2"]
    seeds = [glass_settings(config["structure"], s)["seed"] for s in glass_suffixes(config)]
    assert seeds == [config["structure"]["seed"] + 1000 * g for g in range(3)]
    mq = [glass_settings(config["melt_quench"], s)["seed"] for s in glass_suffixes(config)]
    assert len(set(mq)) == 3
    # glass 0's settings are the config's own, so a one-glass workflow keeps its results
    assert glass_settings(config["structure"], "") == {k: v for k, v in config["structure"].items()
                                                       if k != "glasses"}


def test_zero_glasses_is_a_config_error():
    with pytest.raises(ConfigError, match="structure.glasses"):
        validate_config({"compositions": {"X": {"formula": "LiCl"}}, "structure": {"glasses": 0}})


@pytest.mark.snakemake
def test_dry_run_with_two_glasses_melts_each_and_trains_one_ensemble_on_both():
    from workflow_helpers import dry_run, job_counts, shipped_config

    result = dry_run(shipped_config("test.yaml"), "structure:\n  glasses: 2\n")
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    for path in ("results/LACO75/structure_glass1/start.extxyz",
                 "results/LACO75/melt_quench_glass1/frames.extxyz",
                 "results/LACO75/train/data_glass1/training",
                 "results/LACO75/sweep_glass1/T303/r0/run.json",
                 "results/LACO75/analysis_glass1/diffusion_T363_r0.json",
                 "results/LACO75/sweep/T303/r0/run.json"):
        assert path in out, path
    counts = job_counts(out)
    n_comp = 2  # LACO75 and NACO75
    assert counts["melt_quench"] == n_comp * 2 and counts["training_data"] == n_comp * 2
    assert counts["train_model"] == n_comp * 2  # n_models per composition, not x glasses
    assert counts["sweep_md"] == n_comp * 2 * 3 and counts["summary"] == n_comp


def test_runs_carry_their_glass_and_a_flagged_glass_flags_the_temperature(tmp_path):
    from dpglass.core.io import read_json, write_json
    from dpglass.report.markdown import summary_markdown
    from dpglass.report.summary import extrapolation_flags, run_lengths
    from test_report import summary

    paths = []
    for glass, extrapolating in ((0, False), (1, True)):
        # the glass a run records, not its path, says which glass it is
        path = tmp_path / f"run{1 - glass}.json"
        write_json(path, {"temperature": quantity(303.0, None, "K"), "replica": 0, "timestep_fs": 1.0,
                          "glass": glass,
                          "production_steps": 1000, "extrapolating": extrapolating,
                          "model_deviation": {"fraction_above_hi": quantity(0.5, None, "1"),
                                              "fraction_above_lo": quantity(0.6, None, "1")}})
        paths.append(str(path))
    flags = extrapolation_flags(paths)
    assert [f["glass"] for f in flags] == [0, 1] and [r["glass"] for r in run_lengths(paths)] == [0, 1]
    base = summary(extrapolating=(False, False))
    text = summary_markdown({**base, "extrapolation": flags, "transport": base["transport"][:1]})
    assert "| 303 |" in text and "| yes [1] |" in text
    assert "[1] 303 K (glass 1): the ensemble extrapolates, 50 % of frames above" in text
    write_json(path, {**read_json(path), "glass": None})
    with pytest.raises(ValueError, match="records no glass"):
        run_lengths([str(path)])
