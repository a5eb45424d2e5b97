"""Concurrent learning: config checks, frame selection, convergence (its labelling: test_labelling.py)."""

import copy
import json
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from ase.io import read

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
    ({"shorten_above_fraction": 0.2}, "learning.shorten_above_fraction"),  # removed key
    ({"start_lr": 1e-4, "stop_lr": 1e-3}, "learning.stop_lr"),
    ({"old_ratio": 1.0}, "learning.old_ratio"),
    ({"certificate": {"teacher_runs": 2, "student_runs": 3}}, "learning.certificate"),
    ({"certificate": {"time_ps": 0.05}}, "learning.certificate.time_ps"),
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
                              2.0)
    assert not status["converged"] and status["converged_models"] is None
    assert [r["passed"] for r in status["temperatures"]] == [True, False]
    status2 = iteration_status(2, {300.0: counts(99, 1, 0), 450.0: counts(95, 5, 0)}, 0.95,
                               status, 2.0)
    assert status2["converged"] and status2["converged_models"] == 1
    status3 = iteration_status(3, {}, 0.95, status2, 2.0)
    assert status3["noop"] and status3["converged_models"] == 1


def test_many_failed_frames_do_not_shorten_the_next_exploration():
    """Iterations compare like for like: every exploration runs learning.explore_ps."""
    status = iteration_status(1, {300.0: counts(10, 10, 80)}, 0.95, None, 2.0)
    assert "next_explore_ps" not in status and status["explore_ps"] == 2.0


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
        for i, force in enumerate(validation_force[k - 1] if k <= len(validation_force) else []):
            p = tmp_path / f"val{k}_{i}.json"
            p.write_text(json.dumps({"trained": True, "validation": {
                "energy_rmse": {"value": 1.0, "error": None, "unit": "meV/atom"},
                "force_rmse": {"value": force, "error": None, "unit": "meV/Å"}}}))
            paths["validation"].append(str(p))
    return paths


def test_loop_report_says_converged_at_which_iteration(tmp_path):
    from dpglass.report.loop import loop_markdown, loop_record
    from dpglass.report.figures import plot_learning_loop

    s1 = iteration_status(1, {300.0: counts(50, 40, 10), 450.0: counts(20, 60, 20)}, 0.95, None,
                          2.0)
    s2 = iteration_status(2, {300.0: counts(97, 3, 0), 450.0: counts(96, 4, 0)}, 0.95, s1, 2.0)
    s3 = iteration_status(3, {}, 0.95, s2, 2.0)
    paths = write_iteration_files(tmp_path, [s1, s2, s3], [8, 0, 0], [7, 0, 0],
                                  [[100.0, 120.0], [100.0, 120.0]])
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
    assert "| 1 | 450 | 100 | 20.0% | 60.0% | 20.0% | — | — |" in text
    assert "no-op" in text  # iteration 3 after convergence
    plot_learning_loop(record, tmp_path / "loop.png")
    assert (tmp_path / "loop.png").read_bytes()[:4] == b"\x89PNG"


def test_loop_report_says_where_it_ran_out(tmp_path):
    from dpglass.report.loop import loop_record

    s1 = iteration_status(1, {300.0: counts(50, 50, 0)}, 0.95, None, 2.0)
    s2 = iteration_status(2, {300.0: counts(90, 10, 0)}, 0.95, s1, 2.0)
    paths = write_iteration_files(tmp_path, [s1, s2], [5, 0], [5, 0], [[100.0]])
    record = loop_record(convergence_paths=paths["convergence"],
                         selection_paths=paths["selection"], labelling_paths=paths["labelling"],
                         validation_paths=paths["validation"], n_models=1, max_iterations=1)
    assert not record["converged"] and record["converged_at_iteration"] is None
    assert record["verdict"].startswith("ran out") and "300 K (90.0% accurate by the deviation)" in record["verdict"]


def test_permutation_test_is_exact_for_exchangeable_runs_and_rejects_a_shifted_student():
    """Runs drawn from one distribution: the omnibus p-value is uniform on the 28 assignments of
    2 teacher + 6 student runs (a pass at p >= 0.05 in 27 of 28 cases); a student whose RDF is
    shifted by more than the run-to-run noise gets the smallest p-value there is."""
    from dpglass.learning.certificate import permutation_test

    rng = np.random.default_rng(1)
    passed = []
    for _ in range(300):
        groups = {"RDF A-B": rng.normal(1.0, 0.1, (8, 30)), "ion MSD": rng.normal(0, 0.2, (8, 5))}
        test = permutation_test(groups, 2)
        assert test["assignments"] == 28 and test["exhaustive"]
        passed.append(test["omnibus"]["p_value"] >= 0.05)
    assert 0.93 <= np.mean(passed) <= 0.99  # 27/28 = 0.964 by construction
    groups = {"RDF A-B": rng.normal(1.0, 0.1, (8, 30)), "ion MSD": rng.normal(0, 0.2, (8, 5))}
    groups["RDF A-B"][2:] += 0.15  # every student run off
    test = permutation_test(groups, 2)
    assert test["omnibus"]["p_value"] == pytest.approx(1 / 28)
    assert test["groups"]["RDF A-B"]["p_value"] == pytest.approx(1 / 28)
    assert test["groups"]["ion MSD"]["p_value"] > 1 / 28


def test_certificate_settings_need_runs_enough_for_the_confidence():
    from dpglass.learning.settings import CertificateConfigError, check_certificate

    melt_quench = validate_config(BASE)["melt_quench"]
    cert = validate_config(BASE)["learning"]["certificate"]
    check_certificate(cert, melt_quench)  # 2 + 6 runs: 28 assignments, p down to 0.036
    with pytest.raises(CertificateConfigError, match="teacher_runs=2 and student_runs=4"):
        check_certificate({**cert, "student_runs": 4}, melt_quench)  # 15 < 20
    check_certificate({**cert, "student_runs": 4, "confidence": 0.9}, melt_quench)


def test_optional_stable_D_criterion_at_the_hottest_temperature():
    D = {"unit": "cm^2/s"}
    t1 = {"temperature_K": 450.0, "diffusive": True, "D": {**D, "value": 1.0e-5, "error": 1e-6}}
    t2 = {"temperature_K": 450.0, "diffusive": True, "D": {**D, "value": 1.1e-5, "error": 1e-6}}
    t3 = {"temperature_K": 450.0, "diffusive": True, "D": {**D, "value": 3.0e-5, "error": 1e-6}}
    good = {300.0: counts(99, 1, 0)}
    s1 = iteration_status(1, {300.0: counts(50, 50, 0)}, 0.95, None, 2.0,
                          hottest_transport=t1, require_stable_D=True)
    s2 = iteration_status(2, good, 0.95, s1, 2.0, hottest_transport=t3,
                          require_stable_D=True)
    assert s2["accurate_everywhere"] and not s2["D_stable"] and not s2["converged"]
    s3 = iteration_status(3, good, 0.95, {**s1, "hottest_transport": t2}, 2.0,
                          hottest_transport=t1, require_stable_D=True)
    assert s3["D_stable"] and s3["converged"]
    # without the option the accuracy test alone decides
    assert iteration_status(2, good, 0.95, s1, 2.0, hottest_transport=t3)["converged"]


def test_summary_says_where_the_sweep_still_extrapolates_and_why():
    from dpglass.report.markdown import _sweep_after_loop

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
    counted = {**flag, "fraction_above_hi": {"value": 0.025}, "deviation_frames": 80}
    text = _sweep_after_loop({"extrapolation": [ok, counted],
                              "learning": {"converged": True}})
    assert "393 K (2 of 80 frames, 2 %, above the high trust level)" in text
    assert "not extrapolating at any" in _sweep_after_loop(
        {"extrapolation": [ok], "learning": {"converged": True}})


def test_an_iteration_after_convergence_is_a_noop_that_copies_the_models(tmp_path):
    """Explore, converge, select, label and retrain of an iteration after convergence write their
    outputs in no time and the 'retrained' model is the previous one, byte for byte."""
    from dpglass.steps import learning as steps

    converged = iteration_status(1, {300.0: counts(99, 1, 0)}, 0.95, None, 2.0)
    previous = tmp_path / "conv1.json"
    previous.write_text(json.dumps(converged))
    run_json, dump = tmp_path / "explore/run.json", tmp_path / "explore/dump.lammpstrj"
    start = time.perf_counter()
    steps.explore(frames_path="unused.extxyz", split_path="unused.json", models=["a.pb", "b.pb"],
                  type_map=["Li"], sweep={}, learning={}, trust=[0.1, 0.3], iteration=2,
                  start=[1, 0],
                  temperature_K=300.0, previous_convergence=str(previous), run_json=str(run_json),
                  dump=str(dump), threads=1, ion="Li", hop_distance_A=1.0)
    assert json.loads(run_json.read_text())["noop"]
    conv2 = tmp_path / "conv2.json"
    steps.convergence(run_jsons=[str(run_json)], previous_convergence=str(previous),
                      learning={"explore_ps": 2.0, "accurate_fraction": 0.95,
                                "require_stable_D": False},
                      trust=[0.1, 0.3], iteration=2, out_json=str(conv2))
    status = json.loads(conv2.read_text())
    assert status["noop"] and status["converged_models"] == 0
    selected, selection = tmp_path / "selected.extxyz", tmp_path / "selection.json"
    steps.select(runs=[(str(run_json), str(dump))],
                 learning={"max_frames_per_iteration": 5, "min_frame_separation_dumps": 2,
                           "spot_check_frames": 2},
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
    (old / "input.json").write_text(json.dumps({"training": {
        "training_data": {"systems": ["../../../train/data/training"]},
        "validation_data": {"systems": ["../../../train/data/validation"]}}}))
    (old / "lcurve.out").write_text("# step\n")
    new = tmp_path / "iter2/model_0"
    new.mkdir(parents=True)
    steps.retrain(training_dirs=[], validation_dirs=[], earlier_data=[],
                  new_data=[str(tmp_path / "data")],
                  stats_json="unused", previous_frozen=str(old / "frozen.pb"),
                  selections=[str(selection)], convergences=[str(conv2)], type_map=["Li"],
                  train_cfg={}, learning={}, index=0, iteration=2, backend="tensorflow", device="cpu", threads=1,
                  input_json=str(new / "input.json"), lcurve=str(new / "lcurve.out"),
                  frozen=str(new / "frozen.pb"), test_json=str(new / "validation.json"),
                  log=sys.stdout)
    assert (new / "frozen.pb").read_bytes() == b"model bytes of iteration 1"
    assert json.loads((new / "validation.json").read_text())["trained"] is False
    # learning_compress runs `dp compress -t input.json` in work/: the data paths still point at
    # the same directories from there
    copied = json.loads((new / "work/input.json").read_text())
    assert (new / "work" / copied["training"]["training_data"]["systems"][0]).resolve() == \
        (old / "work/../../../train/data/training").resolve()
    assert time.perf_counter() - start < 30


def test_retraining_fingerprint_changes_with_the_data_content_not_only_its_path(tmp_path):
    """Checkpoints of a retraining are resumed only for the same data, start model and input."""
    from dpglass.training.member import training_fingerprint

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


def test_exploration_starts_are_distinct_per_glass_and_never_move_when_iterations_are_added():
    """Every exploration (iteration, temperature) of a glass gets its own slot, glasses go
    round-robin, and a slot depends only on the explorations before it."""
    from dpglass.learning.settings import exploration_start

    n_t, n_g = 4, 2
    starts = {(k, t): exploration_start(t, k, n_t, n_g) for k in range(1, 6) for t in range(n_t)}
    for g in range(n_g):
        slots = [slot for (glass, slot) in starts.values() if glass == g]
        assert sorted(slots) == list(range(len(slots)))  # all distinct, no gaps
    assert {starts[(1, t)][0] for t in range(n_t)} == {0, 1}  # one iteration explores both
    assert [starts[(2, t)][0] for t in range(n_t)] == [1, 0, 1, 0]
    # one glass: slots count explorations in order
    assert [exploration_start(t, k, 3, 1)[1] for k in (1, 2) for t in range(3)] == list(range(6))
    with pytest.raises(ValueError):
        exploration_start(3, 1, 3, 1)


def test_spread_order_is_a_permutation_whose_first_entries_are_far_apart():
    from dpglass.learning.settings import spread_order

    for n in (1, 2, 3, 7, 38, 64):
        order = spread_order(n)
        assert sorted(order) == list(range(n))
    order = spread_order(38)
    assert order[:4] == [0, 19, 9, 28]  # 0, 1/2, 1/4, 3/4 of the hold
    assert min(abs(a - b) for a in order[:8] for b in order[:8] if a != b) >= 4


def test_an_exploration_starts_from_a_training_frame_of_the_hold(tmp_path):
    """Never a validation frame, never the melt: the hold's training frames, by slot."""
    from ase import Atoms
    from ase.io import write

    from dpglass.learning.exploration import start_frame

    frames = []
    for i, phase in enumerate(["melt"] * 4 + ["hold"] * 8 + ["sample_300K"] * 3):
        frames.append(Atoms("Li", positions=[[0.1 * i, 0, 0]], cell=[5, 5, 5], pbc=True,
                            info={"phase": phase, "time_ps": 0.01 * i}))
    write(tmp_path / "frames.extxyz", frames, format="extxyz")
    # hold frames 4..11: 9 and 10 validation, 8 and 11 the gaps
    split = {"training_frames": [[0, 3], [4, 8], [12, 14]], "validation_frames": [[9, 11]]}
    (tmp_path / "split.json").write_text(json.dumps(split))
    picked = [start_frame(str(tmp_path / "frames.extxyz"), str(tmp_path / "split.json"), slot)
              for slot in range(6)]
    assert [i for i, _ in picked[:4]] == [4, 6, 5, 7]  # spread over the hold's training frames
    assert all(i in (4, 5, 6, 7) for i, _ in picked)
    assert all(atoms.info["phase"] == "hold" for _, atoms in picked)


def test_selection_never_takes_an_excluded_frame():
    devi = {300.0: np.array([0.25, 0.21, 0.22, 0.23]), 450.0: np.array([0.3, 0.1, 0.1, 0.1])}
    picked = select_frames(devi, [0.2, 0.35], cap=10, min_separation=1,
                           exclude={300.0: {0}, 450.0: {0}})
    assert picked == {300.0: [1, 2, 3], 450.0: []}


def test_retraining_follows_the_init_model_recipe_and_scratch_the_first_training():
    """init_model: dpgen2's start learning rate, loss prefactors and old/new batch ratio (by
    default); scratch: the first training's schedule and prefactors, batches by size."""
    from dpglass.training.inputs import SCRATCH_START_PREFS
    from dpglass.training.member import retraining_input

    cfg = validate_config(with_learning(numb_steps=500))
    train, learning = cfg["train"], cfg["learning"]
    stats = {"descriptor": "se_e2_a", "blocks": {"descriptor": {"sel": [10, 10, 10, 10]}}}
    payload = retraining_input(train, learning, ["Li", "Al", "Cl", "O"], stats, 1,
                               ["../base", "../iter1"], ["../iter2"], ["../valid"])
    assert payload["learning_rate"]["start_lr"] == 1e-4 == learning["start_lr"]
    assert payload["learning_rate"]["stop_lr"] == train["stop_lr"]
    assert (payload["loss"]["start_pref_e"], payload["loss"]["start_pref_f"],
            payload["loss"]["start_pref_v"]) == (0.1, 100, 0.0)
    data = payload["training"]["training_data"]
    assert data["systems"] == ["../base", "../iter1", "../iter2"]
    assert data["auto_prob"] == "prob_sys_size; 0:2:0.9; 2:3:0.1"
    assert payload["training"]["numb_steps"] == 500
    scratch = retraining_input(train, {**learning, "retrain": "scratch"}, ["Li", "Al", "Cl", "O"],
                               stats, 1, ["../base"], ["../iter1"], ["../valid"])
    assert scratch["learning_rate"]["start_lr"] == train["start_lr"]
    assert scratch["loss"]["start_pref_f"] == SCRATCH_START_PREFS["f"]
    assert "auto_prob" not in scratch["training"]["training_data"]


def test_spot_checks_are_accurate_frames_at_random_never_the_start():
    from dpglass.learning.selection import spot_check_frames

    devi = np.array([0.05] * 10 + [0.25] * 5 + [0.05] * 10 + [0.5] * 5)
    a = spot_check_frames(devi, [0.2, 0.35], 4, 3, np.random.default_rng(1), exclude={0})
    assert len(a) == 4 and all(devi[i] < 0.2 for i in a) and 0 not in a
    assert all(abs(x - y) >= 3 for x in a for y in a if x != y)
    assert a == spot_check_frames(devi, [0.2, 0.35], 4, 3, np.random.default_rng(1), exclude={0})
    assert a != spot_check_frames(devi, [0.2, 0.35], 4, 3, np.random.default_rng(2), exclude={0})
    assert spot_check_frames(devi, [0.2, 0.35], 0, 3, np.random.default_rng(1)) == []
    # no accurate frame, no spot check
    assert spot_check_frames([0.3, 0.4], [0.2, 0.35], 2, 1, np.random.default_rng(1)) == []


def _lammps_dump(path, steps, n_atoms=2, box=5.0):
    lines = []
    for step in steps:
        lines += ["ITEM: TIMESTEP", str(step), "ITEM: NUMBER OF ATOMS", str(n_atoms),
                  "ITEM: BOX BOUNDS pp pp pp"] + [f"0 {box}"] * 3 + ["ITEM: ATOMS id type x y z"]
        lines += [f"{i + 1} 1 {1.0 + i + 0.01 * step} 1.0 1.0" for i in range(n_atoms)]
    path.write_text("\n".join(lines) + "\n")


def test_true_max_force_error_is_the_deviations_statistic_against_the_reference():
    """Members that agree on a wrong force have no deviation and the full error."""
    from dpglass.learning.selection import true_max_force_error

    reference = np.zeros((3, 3))
    agree = np.array([[[0.0, 0.0, 0.3]] * 3] * 2)  # both members 0.3 eV/Å off on every atom
    assert true_max_force_error(agree, reference) == pytest.approx(0.3)
    spread = np.zeros((2, 3, 3))
    spread[0, 1] = [0.4, 0.0, 0.0]  # one member off by 0.4 on atom 1: RMS over members 0.4/sqrt2
    assert true_max_force_error(spread, reference) == pytest.approx(0.4 / np.sqrt(2))


def test_spot_checks_the_reference_calls_inaccurate_stop_a_deviation_only_convergence():
    """Every frame below the low trust level by the deviation is not convergence when the labelled
    spot checks (frames the deviation called accurate) are truly above it: the verified accurate
    fraction (deviation's x truly accurate share of the spot checks) is what passes or fails."""
    good = {300.0: counts(100, 0, 0), 450.0: counts(98, 2, 0)}
    assert iteration_status(1, good, 0.95, None, 2.0)["converged"]  # the deviation alone
    blind = iteration_status(1, good, 0.95, None, 2.0, trust_low=0.2,
                             spot_checks={300.0: [0.22, 0.26], 450.0: [0.45, 0.44]})
    assert not blind["converged"] and blind["verified_by_spot_checks"]
    row = blind["temperatures"][0]
    assert row["spot_checks"]["accurate"] == 0 and row["verified_accurate_fraction"] == 0.0
    assert row["spot_checks"]["true_max_f"]["value"] == pytest.approx(0.26)
    half = iteration_status(1, good, 0.95, None, 2.0, trust_low=0.2,
                            spot_checks={300.0: [0.1, 0.3], 450.0: [0.1, 0.1]})
    assert [r["verified_accurate_fraction"] for r in half["temperatures"]] == [0.5, 0.98]
    assert [r["passed"] for r in half["temperatures"]] == [False, True]
    seen = iteration_status(1, good, 0.95, None, 2.0, trust_low=0.2,
                            spot_checks={300.0: [0.1, 0.15], 450.0: [0.12, 0.19]})
    assert seen["converged"] and seen["converged_models"] == 0
    with pytest.raises(ValueError, match="low trust level"):
        iteration_status(1, good, 0.95, None, 2.0, spot_checks={300.0: [0.1]})


def _exploration(tmp_path, devi):
    (tmp_path / "explore").mkdir()
    run_json, dump = tmp_path / "explore/run.json", tmp_path / "explore/dump.lammpstrj"
    run_steps = list(range(0, 10 * len(devi), 10))
    from dpglass.learning.selection import classify

    run_json.write_text(json.dumps({"temperature": {"value": 300.0}, "glass": 0,
                                    "explore_ps": 2.0, "deviation_steps": run_steps,
                                    "max_devi_f": devi,
                                    "classification": classify(devi, [0.2, 0.35])}))
    _lammps_dump(dump, run_steps)
    return run_json, dump


def test_selection_labels_candidates_and_spot_checks_and_the_final_check_only_spot_checks(
        tmp_path):
    from dpglass.steps import learning as steps

    run_json, dump = _exploration(tmp_path, [0.05] * 8 + [0.25, 0.05])
    learning = {"max_frames_per_iteration": 5, "min_frame_separation_dumps": 2,
                "spot_check_frames": 2}
    for verify_only, kinds in ((False, ["spot_check", "spot_check", "candidate"]),
                               (True, ["spot_check", "spot_check"])):
        selected, selection = tmp_path / "selected.extxyz", tmp_path / "selection.json"
        steps.select(runs=[(str(run_json), str(dump))], learning=learning, trust=[0.2, 0.35],
                     type_map=["Li"], iteration=1, out_frames=str(selected),
                     out_json=str(selection), verify_only=verify_only)
        frames = read(selected, index=":")
        assert sorted(a.info["kind"] for a in frames) == sorted(kinds)
        assert all(a.info["step"] != 0 for a in frames)  # the start is a training frame
        assert json.loads(selection.read_text())["verify_only"] is verify_only


def test_spot_checks_decide_the_loop_and_a_verified_iteration_retrains_nothing(tmp_path):
    """learning_convergence reads the spot checks' true errors from labelling.json: the same
    deviations converge or not by them; a converged iteration's retraining copies the models
    (its labels verified them), and the loop's verdict says how many spot checks the deviation
    missed."""
    from dpglass.steps import learning as steps
    from dpglass.report.loop import loop_record

    run_json, _ = _exploration(tmp_path, [0.05] * 10)
    learning = {"explore_ps": 2.0, "accurate_fraction": 0.95, "require_stable_D": False}
    statuses = {}
    for name, truths in (("blind", [0.31, 0.24]), ("seen", [0.12, 0.18])):
        labelling = tmp_path / f"labelling_{name}.json"
        labelling.write_text(json.dumps({"frames_labelled": 2, "frames_failed": 0, "frames": [
            {"kind": "spot_check", "temperature_K": 300.0, "step": 10 * (i + 1),
             "max_devi_f": 0.05, "true_max_f": t} for i, t in enumerate(truths)]}))
        out = tmp_path / f"conv_{name}.json"
        steps.convergence(run_jsons=[str(run_json)], previous_convergence=None, learning=learning,
                          trust=[0.2, 0.35], iteration=1, out_json=str(out),
                          labelling_json=str(labelling))
        statuses[name] = out
    assert not json.loads(statuses["blind"].read_text())["converged"]
    assert json.loads(statuses["seen"].read_text())["converged"]

    # retraining after the verified iteration: the previous model, byte for byte, although
    # this iteration's data directory holds the spot checks' labels
    data = tmp_path / "data/set.000"
    data.mkdir(parents=True)
    (data / "energy.npy").write_bytes(b"labels")
    selection = tmp_path / "selection.json"
    selection.write_text(json.dumps({"selected": 2}))
    old, new = tmp_path / "iter0/model_0", tmp_path / "iter1/model_0"
    old.mkdir(parents=True)
    new.mkdir(parents=True)
    (old / "frozen.pb").write_bytes(b"first training")
    (old / "input.json").write_text(json.dumps({"training": {
        "training_data": {"systems": ["../data"]}, "validation_data": {"systems": ["../data"]}}}))
    (old / "lcurve.out").write_text("# step\n")
    steps.retrain(training_dirs=[], validation_dirs=[], earlier_data=[],
                  new_data=[str(tmp_path / "data")], stats_json="unused",
                  previous_frozen=str(old / "frozen.pb"), selections=[str(selection)],
                  convergences=[str(statuses["seen"])], type_map=["Li"], train_cfg={},
                  learning={}, index=0, iteration=1, backend="tensorflow", device="cpu",
                  threads=1, input_json=str(new / "input.json"), lcurve=str(new / "lcurve.out"),
                  frozen=str(new / "frozen.pb"), test_json=str(new / "validation.json"),
                  log=sys.stdout)
    assert (new / "frozen.pb").read_bytes() == b"first training"

    # the verdict: the blind ensemble ran out, and says the deviation missed both spot checks
    blind = json.loads(statuses["blind"].read_text())
    final = iteration_status(2, {300.0: counts(10, 0, 0)}, 0.95, blind, 2.0, trust_low=0.2,
                             spot_checks={300.0: [0.5, 0.1]})
    paths = write_iteration_files(tmp_path, [blind, final], [2, 2], [2, 2], [[100.0]])
    loop = loop_record(convergence_paths=paths["convergence"], selection_paths=paths["selection"],
                       labelling_paths=paths["labelling"], validation_paths=paths["validation"],
                       n_models=1, max_iterations=1)
    assert not loop["converged"] and "verified 50.0%" in loop["verdict"]
    check = loop["spot_check_verification"]
    assert check["missed"] == 1 and check["frames"] == 2
    assert check["largest"]["value"] == pytest.approx(0.5)
    assert "missed the error on 1 of 2 spot checks" in loop["verdict"]
    from dpglass.report.loop import loop_markdown

    assert "| 1 of 2 (0.50 eV/Å) | 50.0% |" in loop_markdown(loop)
    assert loop["error_profile"] is None  # no per-frame profiles in this labelling
    # with them (the final check's labelling.json), the verdict says where the error is
    Path(paths["labelling"][1]).write_text(json.dumps({
        "frames_labelled": 2, "frames_failed": 0, "frames": [
            {"kind": "spot_check", "temperature_K": 300.0, "true_max_f": t, "rms_f": t / 2,
             "worst_species": "Li"} for t in (0.5, 0.1)]}))
    loop = loop_record(convergence_paths=paths["convergence"], selection_paths=paths["selection"],
                       labelling_paths=paths["labelling"], validation_paths=paths["validation"],
                       n_models=1, max_iterations=1)
    assert loop["error_profile"]["rms_force_error_needed"]["value"] == pytest.approx(0.1)
    assert "Where the error is: the worst atom of a spot check is Li in 2 of 2" in loop["verdict"]


def test_label_records_each_frame_s_deviation_and_true_error_as_json_numbers(tmp_path, monkeypatch):
    """The selected frames come back from extxyz with numpy scalars in their info (step,
    max_devi_f): labelling.json still records every labelled frame's kind, temperature, step,
    deviation and true max-atom error (the members' forces against the reference's) as plain
    numbers that learning_convergence reads back."""
    from ase.build import bulk
    from ase.io import write

    from dpglass.learning import certificate
    from dpglass.steps import learning as steps

    frames = []
    for step, kind in ((40, "candidate"), (80, "spot_check")):
        atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat((2, 1, 1))
        atoms[0].symbol = "Al"
        atoms.rattle(0.05, seed=step)
        atoms.info.update({"kind": kind, "temperature_K": 300.0, "step": np.int64(step),
                           "max_devi_f": np.float64(0.1)})
        frames.append(atoms)
    selected, selection = tmp_path / "selected.extxyz", tmp_path / "selection.json"
    write(selected, frames, format="extxyz")
    selection.write_text(json.dumps({"selected": 2}))
    offsets = {"a.pb": 0.3, "b.pb": -0.1}  # member forces = reference + offset on atom 0 only

    evaluated = []

    def predictions(model, labelled):
        evaluated.append(model)
        for atoms in labelled:
            forces = atoms.get_forces().copy()
            forces[0, 0] += offsets[model]
            yield atoms.get_potential_energy(), forces
    monkeypatch.setattr(certificate, "predictions", predictions)
    steps.label(selected_frames=str(selected), selection_json=str(selection),
                reference={"relabel": {}, "calculator": "ase.calculators.emt:EMT", "kwargs": {},
                           "max_failed_fraction": 0.5},
                type_map=["Al", "Cu"], out_frames=str(tmp_path / "labelled.extxyz"),
                out_report=str(tmp_path / "labelling.json"), data_dir=str(tmp_path / "data"),
                threads=1, models=["a.pb", "b.pb"])
    report = json.loads((tmp_path / "labelling.json").read_text())
    rows = report["frames"]
    assert [(r["kind"], r["temperature_K"], r["step"]) for r in rows] == [
        ("candidate", 300.0, 40), ("spot_check", 300.0, 80)]
    assert [r["max_devi_f"] for r in rows] == [0.1, 0.1]
    assert rows[0]["true_max_f"] == pytest.approx(np.sqrt((0.3**2 + 0.1**2) / 2))
    # the worst atom is the Al with the offset; the RMS over the 8 atoms is sqrt(8) below it
    assert [r["worst_species"] for r in rows] == ["Al", "Al"]
    assert rows[0]["rms_f"] == pytest.approx(rows[0]["true_max_f"] / np.sqrt(8))
    by_species = report["true_errors"][0]["force_rmse_by_species"]
    assert by_species["Al"]["value"] == pytest.approx(1000 * np.sqrt(0.05 / 3))
    assert by_species["Cu"]["value"] == pytest.approx(0.0, abs=1e-9)
    from dpglass.learning.convergence import spot_check_truth
    assert spot_check_truth(report) == {300.0: [pytest.approx(np.sqrt(0.05))]}
    # RMS force-error vector per kind: mean over members of (offset^2 / 8 atoms); each model
    # evaluated once for both statistics
    assert [r["force_error_vector_rms"]["value"] for r in report["true_errors"]] == [
        pytest.approx(1000 * np.sqrt((0.3**2 + 0.1**2) / 2 / 8))] * 2
    assert evaluated == ["a.pb", "b.pb"]


def test_loop_table_splits_the_validation_energy_error_into_offset_and_the_rest(tmp_path):
    """The demo's retrained members had a larger energy RMSE (2.0 -> 3.3 meV/atom) that was a
    constant offset; the loop table says so beside the RMSE (mean over the members)."""
    from dpglass.report.loop import loop_markdown, loop_record

    s1 = iteration_status(1, {300.0: counts(50, 50, 0)}, 0.95, None, 2.0)
    s2 = iteration_status(2, {300.0: counts(90, 10, 0)}, 0.95, s1, 2.0)
    paths = write_iteration_files(tmp_path, [s1, s2], [5, 0], [5, 0], [[100.0, 100.0]])
    for path, offset in zip(paths["validation"], (3.0, 5.0)):
        record = json.loads(Path(path).read_text())
        record["validation"].update({
            "energy_rmse": {"value": (offset ** 2 + 1.5 ** 2) ** 0.5, "error": None,
                            "unit": "meV/atom"},
            "energy_offset": {"value": offset, "error": None, "unit": "meV/atom"},
            "energy_rmse_without_offset": {"value": 1.5, "error": None, "unit": "meV/atom"}})
        Path(path).write_text(json.dumps(record))
    record = loop_record(convergence_paths=paths["convergence"],
                         selection_paths=paths["selection"], labelling_paths=paths["labelling"],
                         validation_paths=paths["validation"], n_models=2, max_iterations=1)
    val = record["iterations"][0]["validation_after_retraining"]
    assert val["energy_offset"]["value"] == pytest.approx(4.0)
    assert val["energy_offset"]["error"] == pytest.approx(1.0)
    assert "(offset 4 ± 1, without it 1.5 ± 0)" in loop_markdown(record)


def test_a_loop_that_ran_out_says_where_the_error_is_and_what_accuracy_would_pass():
    """From the final check's spot checks: which species holds each frame's worst atom, the
    force RMSE by species, and the RMS error at which the worst atom of the required fraction
    of frames would pass the low trust level (the worst-to-RMS ratio's quantile)."""
    from dpglass.report.loop import error_profile

    frames = [{"kind": "spot_check", "temperature_K": 300.0, "true_max_f": tm, "rms_f": rms,
               "worst_species": sp}
              for tm, rms, sp in ((0.30, 0.15, "Al"), (0.40, 0.20, "Al"), (0.24, 0.12, "O"),
                                  (0.45, 0.15, "Al"))]
    frames.append({"kind": "candidate", "temperature_K": 300.0, "true_max_f": 2.0,
                   "rms_f": 0.1, "worst_species": "Li"})  # not a spot check: ignored
    groups = [{"kind": "spot_check", "temperature_K": 300.0, "frames": 4,
               "force_rmse_by_species": {"Al": {"value": 100.0, "unit": "meV/Å"},
                                         "Li": {"value": 50.0, "unit": "meV/Å"}}}]
    profile = error_profile({"frames": frames, "true_errors": groups}, trust_low=0.2, target=0.5)
    assert profile["spot_checks"] == 4 and profile["worst_species"] == {"Al": 3, "O": 1}
    # ratios 2, 2, 2, 3: the median is 2, so the RMS error must fall to 0.2 / 2 eV/Å
    assert profile["worst_to_rms_ratio"]["value"] == pytest.approx([2.0, 3.0])
    assert profile["rms_force_error_needed"]["value"] == pytest.approx(0.1)
    assert profile["force_rmse_needed"]["value"] == pytest.approx(100 / np.sqrt(3))
    assert profile["rms_force_error_now"]["value"] == pytest.approx(
        np.sqrt(np.mean(np.square([0.15, 0.20, 0.12, 0.15]))))
    assert "Al in 3, O in 1 of 4" in profile["text"] and "Al 100, Li 50 meV/Å" in profile["text"]
    benchmarks = Path(__file__).resolve().parents[1] / "benchmarks"
    for script in ("bench_training_budget.py", "bench_teacher_locality.py"):  # it names them
        assert script in profile["text"] and (benchmarks / script).exists()
    assert error_profile({"frames": frames[-1:]}, 0.2, 0.5) is None
    # a stricter fraction needs a smaller error: the 95 % quantile of the ratios is near 3
    assert error_profile({"frames": frames}, 0.2, 0.95)["rms_force_error_needed"]["value"] < 0.075
