"""Concurrent learning: config checks, frame selection, convergence (its labelling: test_labelling.py)."""

import copy
import json
import sys
import time

import numpy as np
import pytest

from dpglass.config import ConfigError, validate_config
from dpglass.learning.convergence import iteration_status
from dpglass.learning.selection import classify, select_frames, thin_candidates
from dpglass.learning.settings import (explore_sweep, explore_temperatures, run_sweep_settings,
                                       trust_levels)

BASE = {"compositions": {"LACO75": {"formula": "LiAlCl2.5O0.75"}},
        "sweep": {"temperatures_K": [303, 363]}, "learning": {"max_iterations": 2}}


def with_learning(**changes):
    cfg = copy.deepcopy(BASE)
    cfg["learning"].update(changes)
    return cfg


@pytest.mark.parametrize("changes, key", [
    ({"trust_levels_eV_per_A": [0.3, 0.2]}, "learning.trust_levels_eV_per_A"),
    ({"trust_levels_eV_per_A": [0.2, 0.2]}, "learning.trust_levels_eV_per_A"),
    ({"accurate_fraction": 1.5}, "learning.accurate_fraction"),
    ({"accurate_fraction": -0.1}, "learning.accurate_fraction"),
    ({"shorten_above_fraction": 2}, "learning.shorten_above_fraction"),
    ({"max_frames_per_iteration": 0}, "learning.max_frames_per_iteration"),
    ({"temperatures_K": []}, "learning.temperatures_K"),
    ({"retrain": "sometimes"}, "learning.retrain"),
])
def test_bad_learning_config_names_the_key(changes, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        validate_config(with_learning(**changes))


def test_the_loop_has_its_own_trust_levels_not_the_sweep_verdicts():
    """sweep.trust_level_eV_per_A is the summary's verdict (no rerun when it changes); the loop's
    selection band is learning.trust_levels_eV_per_A, defaulted by the schema."""
    cfg = with_learning()
    cfg["sweep"]["trust_level_eV_per_A"] = [0.05, 0.1]
    assert trust_levels(validate_config(cfg)) == [0.2, 0.35]


def test_exploration_temperatures_are_the_sweeps_plus_the_extra_ones():
    cfg = validate_config(with_learning(extra_temperatures_K=[450]))
    assert explore_temperatures(cfg, [303.0, 363.0]) == [303.0, 363.0, 450.0]
    cfg = validate_config(with_learning(temperatures_K=[], extra_temperatures_K=[500]))
    assert explore_temperatures(cfg, [303.0, 363.0]) == [500.0]


def test_explore_settings_are_short_nvt_on_the_quenched_cell_with_deviation_every_frame():
    cfg = validate_config(with_learning(explore_dump_every_steps=5))
    cfg["sweep"].update(target_relative_error=0.1, max_production_ps=50)  # adaptive sweep
    s = explore_sweep(run_sweep_settings(cfg), cfg["learning"], 2, 0.5)
    assert s["equilibration_ps"] == 0 and s["npt_equilibration_ps"] == 0
    assert s["production_ps"] == 0.5
    assert s["dump_every_steps"] == s["deviation_every_steps"] == 5
    assert s["supercell"] == [1, 1, 1] and s["target_atoms"] is None
    assert s["seed"] != cfg["sweep"]["seed"]  # each iteration explores new velocities
    # fixed length, whatever the adaptive sweep does (no stopping rule, one production stage)
    assert s["target_relative_error"] is None and s["chunk_ps"] == 0


def test_classify_uses_half_open_trust_band():
    c = classify([0.05, 0.1, 0.2, 0.29, 0.3, 0.5], [0.1, 0.3])
    assert (c["accurate"], c["candidate"], c["failed"]) == (1, 3, 2)
    assert c["accurate_fraction"] == pytest.approx(1 / 6)


def test_thinning_keeps_the_largest_deviation_and_drops_near_duplicates():
    devi = [0.15, 0.16, 0.17, 0.05, 0.12, 0.5, 0.14]
    # candidates in [0.1, 0.3): 0,1,2,4,6; by deviation 2,1,0,6,4; 1 is next to 2 -> dropped
    assert thin_candidates(devi, [0.1, 0.3], 2) == [2, 0, 6, 4]
    chosen = thin_candidates(devi, [0.1, 0.3], 2)
    assert all(abs(a - b) >= 2 for a in chosen for b in chosen if a != b)
    assert 5 not in chosen and 3 not in chosen  # failed and accurate frames never selected


def test_selection_is_capped_and_spread_over_temperatures():
    rng = np.random.default_rng(0)
    devi = {300.0: rng.uniform(0.1, 0.29, 50), 400.0: rng.uniform(0.1, 0.29, 50),
            500.0: np.full(50, 0.9)}  # all failed at 500 K: nothing to label there
    picked = select_frames(devi, [0.1, 0.3], cap=7, min_separation=3)
    assert sum(len(v) for v in picked.values()) == 7
    assert picked[500.0] == []
    assert abs(len(picked[300.0]) - len(picked[400.0])) <= 1
    for frames in picked.values():
        assert all(b - a >= 3 for a, b in zip(frames, frames[1:]))
    with pytest.raises(ValueError):
        select_frames(devi, [0.1, 0.3], cap=0, min_separation=1)


def counts(accurate, candidate, failed):
    n = accurate + candidate + failed
    return {"frames": n, "accurate": accurate, "candidate": candidate, "failed": failed,
            "accurate_fraction": accurate / n, "candidate_fraction": candidate / n,
            "failed_fraction": failed / n}


def test_convergence_needs_every_temperature_and_carries_on_once_reached():
    status = iteration_status(1, {300.0: counts(96, 4, 0), 450.0: counts(90, 5, 5)}, 0.95, None,
                              2.0, 0.2)
    assert not status["converged"] and status["converged_models"] is None
    assert [r["passed"] for r in status["temperatures"]] == [True, False]
    assert status["next_explore_ps"] == 2.0
    status2 = iteration_status(2, {300.0: counts(99, 1, 0), 450.0: counts(95, 5, 0)}, 0.95,
                               status, 2.0, 0.2)
    assert status2["converged"] and status2["converged_models"] == 1
    status3 = iteration_status(3, {}, 0.95, status2, 2.0, 0.2)
    assert status3["noop"] and status3["converged_models"] == 1


def test_many_failed_frames_shorten_the_next_exploration():
    status = iteration_status(1, {300.0: counts(10, 10, 80)}, 0.95, None, 2.0, 0.2)
    assert status["shortened_next"] and status["next_explore_ps"] == 1.0


def write_iteration_files(tmp_path, statuses, selected, labelled, validation_force):
    paths = {"convergence": [], "selection": [], "labelling": [], "validation": []}
    for status in statuses:
        p = tmp_path / f"conv{status['iteration']}.json"
        p.write_text(json.dumps(status))
        paths["convergence"].append(str(p))
    for k, (s, lab) in enumerate(zip(selected, labelled), start=1):
        p = tmp_path / f"sel{k}.json"
        p.write_text(json.dumps({"selected": s}))
        paths["selection"].append(str(p))
        p = tmp_path / f"lab{k}.json"
        p.write_text(json.dumps({"frames_labelled": lab, "frames_failed": s - lab}))
        paths["labelling"].append(str(p))
        for i, force in enumerate(validation_force[k - 1]):
            p = tmp_path / f"val{k}_{i}.json"
            p.write_text(json.dumps({"trained": True, "validation": {
                "energy_rmse": {"value": 1.0, "error": None, "unit": "meV/atom"},
                "force_rmse": {"value": force, "error": None, "unit": "meV/Å"}}}))
            paths["validation"].append(str(p))
    return paths


def test_loop_report_says_converged_at_which_iteration(tmp_path):
    from dpglass.learning.report import loop_markdown, loop_record
    from dpglass.plotting import plot_learning_loop

    s1 = iteration_status(1, {300.0: counts(50, 40, 10), 450.0: counts(20, 60, 20)}, 0.95, None,
                          2.0, 0.5)
    s2 = iteration_status(2, {300.0: counts(97, 3, 0), 450.0: counts(96, 4, 0)}, 0.95, s1, 2.0, 0.5)
    s3 = iteration_status(3, {}, 0.95, s2, 2.0, 0.5)
    paths = write_iteration_files(tmp_path, [s1, s2, s3], [8, 0], [7, 0], [[100.0, 120.0],
                                                                          [100.0, 120.0]])
    record = loop_record(convergence_paths=paths["convergence"],
                         selection_paths=paths["selection"], labelling_paths=paths["labelling"],
                         validation_paths=paths["validation"], n_models=2, max_iterations=2)
    assert record["converged"] and record["converged_at_iteration"] == 1
    assert "models of iteration 1 passed" in record["verdict"]
    first = record["iterations"][0]
    assert first["frames_labelled"] == 7 and first["frames_failed_labelling"] == 1
    force = first["validation_after_retraining"]["force_rmse"]
    assert force["value"] == pytest.approx(110.0) and force["error"] == pytest.approx(10.0)
    assert force["unit"] == "meV/Å"
    text = loop_markdown(record)
    assert "| 1 | 450 | 100 | 20.0% | 60.0% | 20.0% |" in text
    assert "no-op" in text  # iteration 3 after convergence
    plot_learning_loop(record, tmp_path / "loop.png")
    assert (tmp_path / "loop.png").read_bytes()[:4] == b"\x89PNG"


def test_loop_report_says_where_it_ran_out(tmp_path):
    from dpglass.learning.report import loop_record

    s1 = iteration_status(1, {300.0: counts(50, 50, 0)}, 0.95, None, 2.0, 0.5)
    s2 = iteration_status(2, {300.0: counts(90, 10, 0)}, 0.95, s1, 2.0, 0.5)
    paths = write_iteration_files(tmp_path, [s1, s2], [5], [5], [[100.0]])
    record = loop_record(convergence_paths=paths["convergence"],
                         selection_paths=paths["selection"], labelling_paths=paths["labelling"],
                         validation_paths=paths["validation"], n_models=1, max_iterations=1)
    assert not record["converged"] and record["converged_at_iteration"] is None
    assert record["verdict"].startswith("ran out") and "300 K (90.0% accurate)" in record["verdict"]


def rdf_result(peak, shift=0.0):
    r = np.linspace(0.05, 6.0, 120)
    g = np.exp(-((r - peak - shift) ** 2) / 0.02) * 3 + 1
    return {"r": {"value": r.tolist()}, "g": {"Li-Li": {"value": g.tolist()}},
            "first_peak": {"Li-Li": {"value": peak + shift}}}


def test_certificate_rdf_and_transport_comparison_against_thresholds():
    from dpglass.learning.certificate import (RDF_PEAK_SHIFT_A, certificate_verdict,
                                              compare_rdfs, compare_transport)

    same = compare_rdfs(rdf_result(2.5), rdf_result(2.5, 0.02))
    assert same[0]["passed"] and same[0]["first_peak_shift"]["value"] == pytest.approx(0.02)
    off = compare_rdfs(rdf_result(2.5), rdf_result(2.5, 2 * RDF_PEAK_SHIFT_A))
    assert not off[0]["passed"]
    D = {"unit": "cm^2/s"}
    agree = compare_transport({"diffusive": True, "D": {**D, "value": 1.0e-6, "error": 2e-7}},
                              {"diffusive": True, "D": {**D, "value": 1.3e-6, "error": 2e-7}})
    assert agree["D_passed"]
    assert agree["D_difference_sigmas"] == pytest.approx(0.3 / np.hypot(0.2, 0.2))
    differ = compare_transport({"diffusive": True, "D": {**D, "value": 1.0e-6, "error": 1e-8}},
                               {"diffusive": True, "D": {**D, "value": 2.0e-6, "error": 1e-8}})
    assert differ["D_passed"] is False
    short = compare_transport({"diffusive": False, "D": None}, {"diffusive": True, "D": None})
    assert short["D_passed"] is None and "not diffusive" in short["D_note"]
    forces = {"force_rmse": {"value": 100.0}}
    assert certificate_verdict(same, agree, forces)["passed"]
    verdict = certificate_verdict(off, differ, {"force_rmse": {"value": 1e4}})
    assert not verdict["passed"] and verdict["failed_checks"] == ["RDF Li-Li", "Li D", "forces"]


def test_optional_stable_D_criterion_at_the_hottest_temperature():
    D = {"unit": "cm^2/s"}
    t1 = {"temperature_K": 450.0, "diffusive": True, "D": {**D, "value": 1.0e-5, "error": 1e-6}}
    t2 = {"temperature_K": 450.0, "diffusive": True, "D": {**D, "value": 1.1e-5, "error": 1e-6}}
    t3 = {"temperature_K": 450.0, "diffusive": True, "D": {**D, "value": 3.0e-5, "error": 1e-6}}
    good = {300.0: counts(99, 1, 0)}
    s1 = iteration_status(1, {300.0: counts(50, 50, 0)}, 0.95, None, 2.0, 0.5,
                          hottest_transport=t1, require_stable_D=True)
    s2 = iteration_status(2, good, 0.95, s1, 2.0, 0.5, hottest_transport=t3,
                          require_stable_D=True)
    assert s2["accurate_everywhere"] and not s2["D_stable"] and not s2["converged"]
    s3 = iteration_status(3, good, 0.95, {**s1, "hottest_transport": t2}, 2.0, 0.5,
                          hottest_transport=t1, require_stable_D=True)
    assert s3["D_stable"] and s3["converged"]
    # without the option the accuracy test alone decides
    assert iteration_status(2, good, 0.95, s1, 2.0, 0.5, hottest_transport=t3)["converged"]


def test_summary_says_where_the_sweep_still_extrapolates_and_why():
    from dpglass.report import _sweep_after_loop

    flag = {"temperature": {"value": 393}, "extrapolating": True,
            "fraction_above_hi": {"value": 0.2}}
    ok = {"temperature": {"value": 303}, "extrapolating": False,
          "fraction_above_hi": {"value": 0.0}}
    text = _sweep_after_loop({"extrapolation": [ok, flag],
                              "learning": {"converged": False, "max_iterations": 2}})
    assert "still extrapolates at 393 K (20 % of frames above the high trust level)" in text
    assert "ran out (2 iterations)" in text and "303 K" not in text
    # with glasses, the glass that extrapolates is named
    text = _sweep_after_loop({"extrapolation": [ok, {**flag, "glass": 1}],
                              "learning": {"converged": True}})
    assert "393 K in glass 1 (20 % of frames" in text
    assert "not extrapolating at any" in _sweep_after_loop(
        {"extrapolation": [ok], "learning": {"converged": True}})


def test_an_iteration_after_convergence_is_a_noop_that_copies_the_models(tmp_path):
    """Explore, converge, select, label and retrain of an iteration after convergence write their
    outputs in no time and the 'retrained' model is the previous one, byte for byte."""
    from dpglass.learning import steps

    converged = iteration_status(1, {300.0: counts(99, 1, 0)}, 0.95, None, 2.0, 0.5)
    previous = tmp_path / "conv1.json"
    previous.write_text(json.dumps(converged))
    run_json, dump = tmp_path / "explore/run.json", tmp_path / "explore/dump.lammpstrj"
    start = time.perf_counter()
    steps.explore(data_path="unused.lmp", models=["a.pb", "b.pb"], type_map=["Li"], sweep={},
                  learning={}, trust=[0.1, 0.3], iteration=2, glass=1,
                  temperature_K=300.0, previous_convergence=str(previous), run_json=str(run_json),
                  dump=str(dump), threads=1, ion="Li", hop_distance_A=1.0)
    assert json.loads(run_json.read_text())["noop"]
    conv2 = tmp_path / "conv2.json"
    steps.convergence(run_jsons=[str(run_json)], previous_convergence=str(previous),
                      learning={"explore_ps": 2.0, "accurate_fraction": 0.95,
                                "shorten_above_fraction": 0.5, "require_stable_D": False},
                      iteration=2, out_json=str(conv2))
    status = json.loads(conv2.read_text())
    assert status["noop"] and status["converged_models"] == 0
    selected, selection = tmp_path / "selected.extxyz", tmp_path / "selection.json"
    steps.select(runs=[(str(run_json), str(dump))], convergence_json=str(conv2),
                 learning={"max_frames_per_iteration": 5, "min_frame_separation_dumps": 2},
                 trust=[0.1, 0.3], type_map=["Li"], iteration=2, out_frames=str(selected),
                 out_json=str(selection))
    assert json.loads(selection.read_text())["selected"] == 0
    steps.label(selected_frames=str(selected), selection_json=str(selection),
                reference={"relabel": {}, "calculator": "chgnet", "kwargs": {}},
                type_map=["Li"], out_frames=str(tmp_path / "labelled.extxyz"),
                out_report=str(tmp_path / "labelling.json"), data_dir=str(tmp_path / "data"),
                threads=1)
    assert json.loads((tmp_path / "labelling.json").read_text())["frames_labelled"] == 0
    old = tmp_path / "iter1/model_0"
    old.mkdir(parents=True)
    (old / "frozen.pb").write_bytes(b"model bytes of iteration 1")
    (old / "input.json").write_text("{}")
    (old / "lcurve.out").write_text("# step\n")
    new = tmp_path / "iter2/model_0"
    new.mkdir(parents=True)
    steps.retrain(base_training=[], validation=[], new_data=[str(tmp_path / "data")],
                  stats_json="unused", previous_frozen=str(old / "frozen.pb"),
                  selections=[str(selection)], type_map=["Li"], train_cfg={}, learning={},
                  index=0, iteration=2, backend="tensorflow", device="cpu", threads=1,
                  input_json=str(new / "input.json"), lcurve=str(new / "lcurve.out"),
                  frozen=str(new / "frozen.pb"), test_json=str(new / "validation.json"),
                  log=sys.stdout)
    assert (new / "frozen.pb").read_bytes() == b"model bytes of iteration 1"
    assert json.loads((new / "validation.json").read_text())["trained"] is False
    assert (new / "work/input.json").exists()  # learning_compress reads it
    assert time.perf_counter() - start < 30


def test_retraining_fingerprint_changes_with_the_data_content_not_only_its_path(tmp_path):
    """Checkpoints of a retraining are resumed only for the same data, start model and input."""
    from dpglass.learning.steps import training_fingerprint

    data = tmp_path / "iter1/data/set.000"
    data.mkdir(parents=True)
    (data / "energy.npy").write_bytes(b"\x01\x02")
    model = tmp_path / "frozen.pb"
    model.write_bytes(b"model")
    payload = {"training": {"numb_steps": 100}}
    first = training_fingerprint([str(tmp_path / "iter1/data")], str(model), payload, "../x.pb")
    assert first == training_fingerprint([str(tmp_path / "iter1/data")], str(model), payload,
                                         "../x.pb")
    (data / "energy.npy").write_bytes(b"\x01\x03")  # a new selection, same directory
    second = training_fingerprint([str(tmp_path / "iter1/data")], str(model), payload, "../x.pb")
    assert second != first
    model.write_bytes(b"other model")
    assert training_fingerprint([str(tmp_path / "iter1/data")], str(model), payload,
                                "../x.pb") != second
