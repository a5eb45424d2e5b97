"""The chain with DFT labels, as a user runs it: reference.relabel.calculator cp2k labels the
melt-quench frames and the loop's frames of a tiny glass (CP2K installed from Debian when missing),
the ensemble trains on them, the sweep and summary finish, and summary.json names the labels'
code, version, functional, basis, pseudopotentials and cutoff. The run is SIGKILLed while CP2K
relabels the melt-quench frames and resumed: no finished single point is computed again.

Sized to minutes, not to accuracy (tests/test_cp2k.py checks CP2K's numbers): 11 melt-quench
frames and 30 compressed, rattled copies of the training frames (train.perturbed_frames, labelled
by CP2K like the rest: the repulsive wall that 3 MD training frames do not show; with 12 copies
and a minimal basis the models blew up in the sweep's preflight) and up to 4 loop frames, each a
21-atom CP2K single point at DZVP-MOLOPT-SR-GTH / 300 Ry (~10 s on 2 quiet cores), one loop
iteration without spot checks, a short certificate whose teacher is reference.calculator
(CHGNet), short training, two short sweep temperatures. Measured 2026-12-05: 19 min wall with
other jobs on the 2 cores (melt-quench labels 387 s, perturbed 447 s, loop 49 s, the rest
~4 min); 13.5 min in a clean-clone run of the whole suite on 2 quiet cores.
"""

import json
import os
import signal
import subprocess

import numpy as np
import pytest
import yaml

from cp2k_helpers import ensure_cp2k
from workflow_helpers import REPO, SNAKEMAKE

pytestmark = [pytest.mark.dft, pytest.mark.md, pytest.mark.snakemake]

CUTOFF_RY = 300
BASIS = "DZVP-MOLOPT-SR-GTH"
MELT_QUENCH_FRAMES = 11
PERTURBED_FRAMES = 30
CONFIG = {
    "compositions": {"LACO75": {"formula": "LiAlCl2.5O0.75"}},
    "structure": {"n_atoms": 21, "density_g_cm3": 2.2, "prerelax_steps": 40},
    "reference": {"relabel": {"calculator": "cp2k",
                              "kwargs": {"basis_set": BASIS, "cutoff_Ry": CUTOFF_RY}}},
    # 0.1 ps melt, 0.1 ps cooling, 0.1 ps hold at 2 fs (150 CHGNet steps), a frame every 15
    # steps: 11 frames, each phase split into training and validation blocks (no gap frames)
    "melt_quench": {"timestep_fs": 2.0, "melt_temperature_K": 600, "melt_time_ps": 0.1,
                    "cool_rate_K_per_ps": 3000, "final_temperature_K": 300, "hold_time_ps": 0.1,
                    "sample_every_steps": 15, "relax_steps": 20},
    "train": {"n_models": 2, "descriptor_neurons": [4, 8], "axis_neuron": 4,
              # 4000 steps as config/test.yaml: with 300, the models of the 3 training frames blew
              # the sweep's preflight up within 50 steps (2042 K)
              "fitting_neurons": [16, 16], "rcut_A": 5.0, "numb_steps": 4000, "disp_freq": 500,
              "save_freq": 1000, "start_lr": 0.002, "stop_lr": 1.0e-4, "compress": False,
              "split_gap_frames": 0,
              # compressed, rattled copies of the training frames (CP2K-labelled like the rest):
              # the repulsive wall below the contacts MD visits, which 3 MD frames do not show
              "perturbed_frames": {"count": PERTURBED_FRAMES, "displacement_A": 0.15,
                                   "cell_scale": [0.94, 1.0]}},
    "sweep": {"temperatures_K": [333, 363], "supercell": [1, 1, 1], "timestep_fs": 1.0,
              "equilibration_ps": 0.1, "production_ps": 0.4, "dump_every_steps": 20,
              "thermo_every_steps": 100},
    "execution": {"training_threads": 1},
    "analysis": {"hop_distance_A": 1.0},
    # every exploration frame a candidate: the loop labels (4 frames) whatever the models do
    "learning": {"max_iterations": 1, "trust_levels_eV_per_A": [0.001, 100.0],
                 "temperatures_K": [363], "explore_ps": 0.1, "explore_dump_every_steps": 10,
                 "max_frames_per_iteration": 4, "min_frame_separation_dumps": 2,
                 "spot_check_frames": 0, "numb_steps": 100, "start_lr": 5.0e-4,
                 # 2 CHGNet teacher runs of 100 steps, 51 frames each (48 needed)
                 "certificate": {"time_ps": 0.2, "every_steps": 2}},
}


@pytest.fixture(scope="module")
def cp2k_chain(tmp_path_factory):
    """The run, killed (snakemake and its jobs) once the melt-quench relabelling has finished
    its first single point, unlocked and resumed with --rerun-incomplete, as a user would."""
    ensure_cp2k()
    workdir = tmp_path_factory.mktemp("cp2k_chain")
    config = workdir / "cp2k.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    args = [SNAKEMAKE, "-s", str(REPO / "Snakefile"), "--configfile", str(config), "--cores", "2"]
    label_work = workdir / "results/LACO75/melt_quench/label_work"
    with open(workdir / "killed_run.log", "w") as log:
        first = subprocess.Popen(args, cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True)
        while first.poll() is None and not list(label_work.glob("frame_*.json")):
            try:
                first.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                pass
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    done_before = sorted(p.name for p in label_work.glob("frame_*.json"))
    assert done_before, (workdir / "killed_run.log").read_text()[-5000:]
    subprocess.run(args + ["--unlock"], cwd=workdir, capture_output=True, timeout=300, check=True)
    result = subprocess.run(args + ["--rerun-incomplete"], cwd=workdir, capture_output=True,
                            text=True, timeout=1800)
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    return workdir, done_before


def test_killed_relabel_resumes_without_recomputing_a_single_point(cp2k_chain):
    workdir, done_before = cp2k_chain
    report = json.loads((workdir / "results/LACO75/melt_quench/labelling.json").read_text())
    assert report["calculator"] == "cp2k" and report["frames_attempted"] == MELT_QUENCH_FRAMES
    assert report["frames_attempted"] > len(done_before), "the kill came too late to test resume"
    assert report["single_points_reused"] == len(done_before)
    assert report["single_points_computed"] == report["frames_attempted"] - len(done_before)
    assert report["frames_labelled"] + report["frames_failed"] == MELT_QUENCH_FRAMES
    log = (workdir / "logs/LACO75/label_frames.log").read_text()
    assert f"{len(done_before)} reused from an earlier attempt" in log


def test_cp2k_labels_train_the_ensemble_and_the_loop(cp2k_chain):
    from ase.io import read

    workdir, _ = cp2k_chain
    results = workdir / "results/LACO75"
    frames = read(results / "melt_quench/frames.extxyz", index=":")
    assert {f.info["label_source"] for f in frames} == {"cp2k"}
    # CP2K's total energies with GTH pseudopotentials (~ -300 eV/atom here), not CHGNet's
    # (~ -4 eV/atom, the melt-quench's own labels)
    sampled = read(results / "melt_quench/sampled.extxyz", index=":")
    assert all(f.get_potential_energy() / len(f) < -100 for f in frames)
    assert all(s.get_potential_energy() / len(s) > -10 for s in sampled)
    energies = np.concatenate([np.load(p) for p in sorted(
        (results / "train/data").glob("*/set.000/energy.npy"))])
    assert len(energies) >= MELT_QUENCH_FRAMES - 1 and np.all(energies / 21 < -100)  # training + validation data
    loop = json.loads((results / "learning/iter1/labelling.json").read_text())
    assert loop["calculator"] == "cp2k" and loop["frames_labelled"] >= 1
    assert loop["reference"][0]["code"] == "CP2K"
    labelled = read(results / "learning/iter1/labelled.extxyz", index=":")
    assert all(f.get_potential_energy() / len(f) < -100 for f in labelled)
    assert (results / "learning/iter1/data/type.raw").exists()
    assert json.loads((results / "learning/iter1/model_0/validation.json").read_text())["trained"]
    for temperature in (333, 363):
        assert (results / f"sweep/T{temperature}/r0/run.json").exists()


def test_summary_names_the_labels_code_version_functional_basis_potentials_cutoff(cp2k_chain):
    workdir, _ = cp2k_chain
    summary = json.loads((workdir / "results/LACO75/summary.json").read_text())
    (labels,) = summary["provenance"]["labels"]
    assert labels["code"] == "CP2K" and labels["version"].startswith("CP2K version 2023")
    assert labels["functional"] == "PBE" and labels["basis_set"] == BASIS
    assert labels["pseudopotential"] == "GTH-PBE"
    assert labels["pseudopotential_file"] == "GTH_POTENTIALS"
    assert labels["cutoff"] == {"value": float(CUTOFF_RY), "error": None, "unit": "Ry"}
    assert {s["report"] for s in labels["sources"]} == {
        "results/LACO75/melt_quench/labelling.json", "results/LACO75/train/data/perturbed.json",
        "results/LACO75/learning/iter1/labelling.json"}
    markdown = (workdir / "results/LACO75/summary.md").read_text()
    assert "- labels: CP2K version 2023" in markdown and f"{BASIS} basis" in markdown
