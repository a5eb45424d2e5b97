"""The summary step: replicas pooled, caged temperatures as bounds, σ(303 K) like for like."""

import json

import numpy as np
import pytest

from dpglass.analysis.conductivity import analyze_trajectory
from dpglass.analysis.trajectory import SpeciesTrajectory
from dpglass.steps.workflow import summary
from dpglass.config import validate_config
from dpglass.core.io import write_json
from dpglass.core.units import BOLTZMANN_EV_PER_K

from synthetic_md import hopping

# The effective config the workflow hands the summary (schema defaults filled in).
CONFIG = validate_config({"compositions": {"LACO75": {"formula": "LiAlCl2.5O0.75"}}})
DT_PS = 0.1


def _result(temperature, seed, rate_per_ps, n_frames=1000):
    """Li hopping in a static neutral Li/Cl box (charge dipole = Σ r_Li - Σ r_Cl, Cl still)."""
    positions, _ = hopping(n_frames, 16, DT_PS, np.random.default_rng(seed), rate_per_ps)
    still = np.zeros((n_frames, 3))
    trajectory = SpeciesTrajectory(np.arange(n_frames) * DT_PS, positions.astype(np.float32),
                                   still, still, positions.sum(axis=1), {"Li": 16, "Cl": 16},
                                   3000.0)
    result = analyze_trajectory(trajectory, "Li", temperature, hop_distance_A=2.55)
    return result


def test_summary_pools_replicas_bounds_caged_points_and_compares_like_for_like(tmp_path):
    paths, runs, results = [], [], []
    rate_303 = 0.05
    for index, temperature in enumerate((273.0, 303.0, 318.0, 333.0, 348.0, 363.0, 303.0)):
        rate = rate_303 * np.exp(-0.3 / BOLTZMANN_EV_PER_K * (1 / temperature - 1 / 303.0))
        # 273 K: 1000 frames of 0.1 ps, ~1 hop per ion: the MSD never reaches a hop squared.
        result = _result(temperature, 50 + index, 0.0005 if temperature == 273.0 else rate)
        result["replica"] = 1 if index == 6 else 0
        results.append(result)
        paths.append(tmp_path / f"diffusion_{index}.json")
        write_json(paths[-1], result)
        runs.append(tmp_path / f"run_{index}.json")
        write_json(runs[-1], {"temperature": result["temperature"], "replica": result["replica"],
                              "glass": 0, "extrapolating": False, "model_deviation": None,
                              "production_steps": 1000, "timestep_fs": 100.0})
    out, markdown, plot = tmp_path / "summary.json", tmp_path / "summary.md", tmp_path / "a.png"
    summary(composition="LACO75", formula="LiAlCl2.5O0.75", diffusion_paths=[str(p) for p in paths],
            test_paths=[], window=[303, 378], config=CONFIG, summary_path=str(out),
            markdown_path=str(markdown), plot_path=str(plot), run_paths=[str(p) for p in runs])
    data = json.loads(out.read_text())
    rows = {row["temperature"]["value"]: row for row in data["transport"]}
    assert sorted(rows) == [273.0, 303.0, 318.0, 333.0, 348.0, 363.0]  # one row per temperature
    assert rows[303.0]["n_replicas"]["value"] == 2
    assert "sigma_tracer" in rows[303.0]["replica_scatter"]
    caged = rows[273.0]
    assert caged["diffusive"] is False and caged["D_upper_bound"]["value"] > 0
    assert data["arrhenius"]["upper_bounds"][0]["temperature"]["value"] == 273.0
    assert data["arrhenius"]["temperatures_used"]["value"] == [303.0, 318.0, 333.0, 348.0, 363.0]
    assert data["sigma_303K_extrapolated"] is False
    Ea = data["Ea"]
    assert abs(Ea["value"] - 0.3) < 3 * Ea["error"] and Ea["unit"] == "eV"
    # VFT only above the paper's Tg (256.35 K): the 273 K point is caged anyway; 5 remain.
    assert data["glass_transition"]["value"] == pytest.approx(256.35)
    comparison = {row["quantity"]: row for row in data["sigma_303K_comparison"]}
    assert comparison["sigma_collective"]["paper"]["value"] == 1.52
    assert comparison["sigma_collective_ion"]["paper"]["value"] == 1.05
    assert comparison["sigma_collective_ion"]["this_run"]["unit"] == "mS/cm"
    assert comparison["sigma_tracer"]["paper"] is None
    # hop events of independent replicas add up; He et al.'s error follows their sum
    events = [r["hop_statistics"]["hop_events"]["value"] for r in results
              if r["temperature"]["value"] == 303.0]
    pooled_hops = rows[303.0]["hop_statistics"]
    assert pooled_hops["hop_events"]["value"] == pytest.approx(sum(events))
    assert pooled_hops["expected_relative_error"]["value"] == pytest.approx(
        3.43 / np.sqrt(sum(events)))
    assert rows[303.0]["resolution"]["resolved"] is True
    assert caged["resolution"]["resolved"] is False and "hop" in caged["resolution"]["refused_by"]
    assert caged["hop_statistics"]["upper_bound"] is True
    text = markdown.read_text()
    assert "| 273 | 1 | not resolved (< " in text  # the caged temperature is a bound
    assert "- 273 K: upper bound: in 99.9 ps the ions made at most" in text
    assert f"- 303 K: resolved: {sum(events):.3g} hop events of 2.55 Å" in text
    assert "## σ(303 K), like for like" in text
    assert "| sigma_303K_single_Li_experiment | mS/cm | 1.05 | " in text
    assert plot.stat().st_size > 10_000


def test_summary_of_caged_runs_has_bounds_and_says_why_there_is_no_fit(tmp_path):
    paths = []
    for index, temperature in enumerate((303.0, 318.0, 333.0)):
        result = _result(temperature, 80 + index, 0.0005)  # < 1 hop per ion: caged
        assert result["diffusive"] is False
        paths.append(tmp_path / f"d{index}.json")
        write_json(paths[-1], result)
    out, markdown, plot = tmp_path / "summary.json", tmp_path / "summary.md", tmp_path / "a.png"
    summary(composition="LACO75", formula="LiAlCl2.5O0.75", diffusion_paths=[str(p) for p in paths],
            test_paths=[], window=[303, 378], config=CONFIG, summary_path=str(out),
            markdown_path=str(markdown), plot_path=str(plot), run_paths=[])
    data = json.loads(out.read_text())
    assert data["Ea"] is None and data["sigma_303K"] is None
    assert "has 0 usable distinct temperatures" in data["arrhenius"]["error"]
    assert all(row["diffusive"] is False and row["D_upper_bound"]["value"] > 0
               for row in data["transport"])
    text = markdown.read_text()
    rows = [line for line in text.splitlines() if line.startswith(("| 303 |", "| 318 |", "| 333 |"))]
    assert len(rows) == 3 and "No Arrhenius fit" in text
    for row in rows:  # D and σ tracer: their upper bounds
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert cells[2].startswith("not resolved (< ") and cells[3].startswith("not resolved (< ")
        assert cells[7].startswith("no [")
    assert plot.stat().st_size > 10_000
