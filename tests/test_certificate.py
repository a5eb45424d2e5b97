"""The teacher–student certificate on a Lennard-Jones stand-in: a teacher against independent
teacher runs passes in >= 90 % of trials, a student trained 10x shorter fails, bad input is
refused with a message that says what is wrong."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from labelled_frames import fcc_li_cl  # noqa: E402

from dpglass.learning import certificate as cert  # noqa: E402
from dpglass.learning.settings import CertificateConfigError  # noqa: E402

PAIRS = ["Li-Li", "Li-Cl", "Cl-Cl"]
# 32-atom fcc Li/Cl with LJ (minimum at the nearest-neighbour distance), a hot solid at 600 K
PROTOCOL = {"thermostat": "langevin", "damping_ps": 0.1, "temperature_K": 600.0,
            "timestep_fs": 2.0, "steps": 600, "every_steps": 4}


def lj():
    from ase.calculators.lj import LennardJones

    return LennardJones(epsilon=0.1, sigma=2.5, rc=6.0, smooth=True)


def teacher_runs(directory: Path, n: int, first_seed: int, protocol: dict = PROTOCOL) -> list:
    """`n` LJ runs from the same fcc frame, other velocities: the teacher's own runs."""
    from dpglass.reference.meltquench import nvt_run

    paths = []
    for k in range(n):
        path = directory / f"teacher{first_seed + k}.extxyz"
        if not path.exists():
            nvt_run(fcc_li_cl(), lj(), protocol, first_seed + k, path, f"teacher {k}", "lj")
        paths.append(str(path))
    return paths


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    return teacher_runs(tmp_path_factory.mktemp("teacher"), 12, 100)


@pytest.mark.md
def test_a_teacher_against_independent_teacher_runs_passes_in_at_least_90_percent(pool):
    """Real MD, every run from the same frame with its own velocities: trials of 2 'teacher' and
    6 'student' runs drawn from 12 teacher runs. The certificate's structure-and-dynamics test
    passes in >= 90 % of them (27/28 by construction when it is exact), and its p-values are
    spread over (0, 1], not piled up at the smallest (an asymmetric treatment of the two sides
    would fail this)."""
    frames = [cert.read_run(p) for p in pool]
    lags = cert.msd_lags(len(frames[0]))
    features = [cert.run_features(f, PAIRS, 3.9, "Li", 60, lags) for f in frames]
    groups = cert.feature_groups(features)
    rng = np.random.default_rng(0)
    p_values = []
    for _ in range(200):
        pick = rng.choice(len(pool), 8, replace=False)
        test = cert.permutation_test({k: v[pick] for k, v in groups.items()}, 2)
        p_values.append(test["omnibus"]["p_value"])
    p_values = np.array(p_values)
    assert np.mean(p_values >= 0.05) >= 0.90
    assert 0.3 <= np.median(p_values) <= 0.7


def train_student(work: Path, frames_path: Path, steps: int) -> str:
    """A one-model DeePMD 'ensemble' trained `steps` steps on LJ frames."""
    from dpglass.config import validate_config
    from dpglass.training.data import build_datasets
    from dpglass.training.dp import dp
    from dpglass.training.inputs import make_input, write_input
    from dpglass.training.neighbors import neighbor_stat

    type_map = ["Li", "Cl"]
    data = work / "data"
    if not data.exists():
        build_datasets(frames_path, type_map, 0.2, data)
    train = validate_config({"compositions": {"X": {"formula": "LiCl"}}})["train"]
    train.update({"descriptor": "se_e2_a", "rcut_A": 5.0, "rcut_smth_A": 0.5,
                  "descriptor_neurons": [8, 16], "axis_neuron": 4, "fitting_neurons": [32, 32],
                  "numb_steps": steps, "start_lr": 3e-3, "stop_lr": 1e-5, "batch_size": 1,
                  "disp_freq": steps, "save_freq": steps})
    with open(work / "train.log", "a") as log:
        stats = neighbor_stat([str(data / "training"), str(data / "validation")], type_map,
                              train, "tensorflow", 1, work / "neighbor_stat.json", log)
        model = work / f"model_{steps}"
        model.mkdir(exist_ok=True)
        write_input(model / "input.json", make_input(train, type_map, stats, 3,
                                                     ["../data/training"],
                                                     ["../data/validation"]))
        dp(["train", "input.json", "--skip-neighbor-stat"], "tensorflow", model, 1, log)
        dp(["freeze", "-o", "frozen.pb"], "tensorflow", model, 1, log)
    return str(model / "frozen.pb")


@pytest.fixture(scope="module")
def students(tmp_path_factory):
    """Students trained 2000 and 200 steps on frames of other LJ runs (not the teacher's)."""
    from ase.io import read, write

    work = tmp_path_factory.mktemp("students")
    runs = teacher_runs(work, 3, 500, {**PROTOCOL, "every_steps": 10})
    frames = [a for path in runs for a in read(path, index=":")]
    write(work / "frames.extxyz", frames, format="extxyz")
    return {steps: train_student(work, work / "frames.extxyz", steps) for steps in (2000, 200)}


@pytest.mark.md
def test_a_student_trained_ten_times_shorter_fails_through_the_cli(pool, students, tmp_path):
    """`dpglass certificate` on the student trained 200 steps: FAIL, its structure and ion MSD
    the most extreme of the 28 assignments and its force error above the threshold; the student
    trained 2000 steps has a force error less than half of it. The certificate.json/md are the
    workflow rule's."""
    from dpglass.cli import main

    results = {}
    for steps, model in students.items():
        out = tmp_path / f"cert_{steps}"
        code = main(["certificate", "--models", model, "--reference", pool[0], pool[1],
                     "--ion", "Li", "--out", str(out), "--pairs", ",".join(PAIRS),
                     "--student-runs", "6"])
        assert code == 0
        results[steps] = json.loads((out / "certificate.json").read_text())
        assert "## Teacher–student certificate" in (out / "certificate.md").read_text()
        assert len(list((out / "student").glob("run*.extxyz"))) == 6
    short, full = results[200], results[2000]
    assert not short["passed"] and short["verdict"]["text"].startswith("FAIL")
    assert short["permutation_test"]["omnibus"]["p_value"] == pytest.approx(1 / 28)
    assert not short["forces"]["passed"]
    rmse = {steps: r["forces"]["members"][0]["force_rmse"]["value"] for steps, r in
            results.items()}
    assert rmse[2000] < 0.5 * rmse[200]
    assert full["forces"]["members"][0]["force_rmse"]["error"] > 0
    # the student ran the teacher's protocol, read from the teacher file
    assert full["temperature"]["value"] == 600.0 and full["frames_per_run"] == 151


def test_bad_input_is_refused_with_a_message_that_says_what(tmp_path):
    from ase.io import write

    with pytest.raises(CertificateConfigError, match="at least 2 runs"):
        cert.certify_ensemble(models=["m.pb"], teacher_paths=["one.extxyz"], out_dir=str(tmp_path),
                              ion="Li", student_runs=6, rdf_pairs=PAIRS, rdf_r_max_A=6.0,
                              trust_low_eV_per_A=0.2, confidence=0.95, seed=1, overrides={})
    with pytest.raises(CertificateConfigError, match="cannot resolve p = 0.05"):
        cert.certify_ensemble(models=["m.pb"], teacher_paths=["a", "b"], out_dir=str(tmp_path),
                              ion="Li", student_runs=3, rdf_pairs=PAIRS, rdf_r_max_A=6.0,
                              trust_low_eV_per_A=0.2, confidence=0.95, seed=1, overrides={})
    # a teacher file without forces
    atoms = fcc_li_cl()
    atoms.info["time_ps"] = 0.0
    write(tmp_path / "noforces.extxyz", [atoms, atoms], format="extxyz")
    runs = [cert.read_run(str(tmp_path / "noforces.extxyz"))] * 2
    with pytest.raises(CertificateConfigError, match="without energy and forces"):
        cert._check_runs(runs, runs, [str(tmp_path / "noforces.extxyz")] * 2, ["s1", "s2"])
    # a protocol the teacher file does not state, and no option for it
    with pytest.raises(CertificateConfigError, match="--temperature-K"):
        cert.teacher_protocol(str(tmp_path / "noforces.extxyz"), {})
    # too few frames for the MSD lags
    with pytest.raises(CertificateConfigError, match="too few for 5 MSD lags"):
        cert.msd_lags(20)


def test_energy_error_splits_into_a_constant_offset_and_the_frame_to_frame_error():
    """A member whose energies are shifted by a constant per atom (a drifted per-type bias: no
    force, no dynamics) has a large energy RMSE; the certificate names the offset and the error
    of energy differences separately, each with its error from blocks."""
    import numpy as np

    from dpglass.learning.certificate import blocked_rmse

    rng = np.random.default_rng(7)
    offset, spread, n_atoms = 4.5e-3, 1.4e-3, 42  # eV/atom, as the demo's retrained members
    runs = []
    for _ in range(2):
        energy = offset + spread * rng.standard_normal(300)
        force_sq = (0.12 ** 2) * n_atoms * (1 + 0.1 * rng.standard_normal(300))
        runs.append(np.column_stack([force_sq, np.full(300, n_atoms), energy]))
    errors = blocked_rmse(runs, block=25, confidence=0.95)
    got_offset, got_spread = errors["energy_offset"], errors["energy_rmse_without_offset"]
    assert got_offset["unit"] == got_spread["unit"] == "meV/atom"
    assert abs(got_offset["value"] - 4.5) < 3 * got_offset["error"] + 1e-9
    assert abs(got_spread["value"] - 1.4) < 3 * got_spread["error"]
    assert got_offset["error"] < 0.2 and got_spread["error"] < 0.2
    rmse = errors["energy_rmse"]["value"]
    assert abs(rmse ** 2 - (got_offset["value"] ** 2 + got_spread["value"] ** 2)) < 1e-6 * rmse ** 2
    # no offset: the offset is zero within its error and the two RMSEs agree
    for run in runs:
        run[:, 2] -= offset
    errors = blocked_rmse(runs, block=25, confidence=0.95)
    assert abs(errors["energy_offset"]["value"]) < 3 * errors["energy_offset"]["error"]
    assert abs(errors["energy_rmse"]["value"] - errors["energy_rmse_without_offset"]["value"]) < 0.02
