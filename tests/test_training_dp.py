"""Training stage with the real DeePMD-kit (TensorFlow backend) on tiny Lennard-Jones data:
dpdata split -> dp neighbor-stat -> dp train -> freeze -> compress + DeepPot check -> dp test,
and a training run killed after its first checkpoint that resumes on rerun."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from dpglass.steps import workflow as steps
from dpglass.config import validate_config
from dpglass.training.compression import check_compression, compare_models
from dpglass.training.dp import TrainingError
from dpglass.training.evaluation import read_detail
from dpglass.training.train import latest_checkpoint, lcurve_last_step, read_lcurve
from labelled_frames import lj_frames

pytestmark = pytest.mark.md  # DeePMD-kit

TYPE_MAP = ["Li", "Al", "Cl", "O"]
TINY = {"n_models": 1, "descriptor_neurons": [4, 8], "axis_neuron": 4, "fitting_neurons": [16, 16],
        "rcut_A": 4.0, "rcut_smth_A": 0.5, "numb_steps": 100, "disp_freq": 20, "save_freq": 50,
        "start_lr": 0.002, "stop_lr": 1e-4, "compress_tolerance_meV_per_A": 1.0}


def train_config(**overrides) -> dict:
    return validate_config({"compositions": {"X": {"formula": "LiAlCl2.5O0.75"}},
                            "train": {**TINY, **overrides}})["train"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Labelled frames -> deepmd/npy split -> neighbour statistics, as the first two rules do."""
    root = tmp_path_factory.mktemp("dp")
    lj_frames(root / "frames.extxyz", 40)
    cfg = train_config()
    steps.training_data(frames_path=str(root / "frames.extxyz"), type_map=TYPE_MAP, train_cfg=cfg,
                        split_path=str(root / "data" / "split.json"))
    dirs = [str(root / "data" / "training"), str(root / "data" / "validation")]
    with open(root / "neighbor_stat.log", "w") as log:
        steps.neighbor_stat(data_dirs=dirs, type_map=TYPE_MAP, train_cfg=cfg, backend="tensorflow",
                            threads=2, out_json=str(root / "X" / "neighbor_stat.json"), log=log)
    return root


@pytest.fixture(scope="module")
def chain(data):
    """train -> freeze -> compress (+ check) -> dp test for one model."""
    cfg = train_config()
    model = data / "X" / "train" / "model_0"
    model.mkdir(parents=True)
    log_path = data / "chain.log"
    with open(log_path, "w") as log:
        steps.train_model(training_dirs=[str(data / "data" / "training")],
                          validation_dirs=[str(data / "data" / "validation")],
                          stats_json=str(data / "X" / "neighbor_stat.json"), type_map=TYPE_MAP,
                          train_cfg=cfg, index=0, backend="tensorflow", device="cpu", threads=2,
                          input_json=str(model / "input.json"), lcurve=str(model / "lcurve.out"),
                          frozen=str(model / "frozen.pb"), lcurve_png=str(model / "lcurve.png"),
                          log=log)
        steps.compress_model(frozen=str(model / "frozen.pb"),
                             validation_dirs=[str(data / "data" / "validation")],
                             backend="tensorflow", threads=2,
                             tolerance_meV_per_A=cfg["compress_tolerance_meV_per_A"],
                             compressed=str(model / "compressed.pb"),
                             check_json=str(model / "compress_check.json"), log=log)
        steps.test_model(model=str(model / "compressed.pb"),
                         validation_dir=str(data / "data" / "validation"),
                         lcurve=str(model / "lcurve.out"), backend="tensorflow", threads=2,
                         max_energy_rmse=None, max_force_rmse=None,
                         result_path=str(model / "test.json"),
                         parity_energy_png=str(model / "parity_energy.png"),
                         parity_force_png=str(model / "parity_force.png"), log=log)
    return model, log_path.read_text()


def test_sel_comes_from_neighbor_stat(data, chain):
    model, _ = chain
    record = json.loads((data / "X" / "neighbor_stat.json").read_text())
    block = record["blocks"]["descriptor"]
    assert block["sel"] == [max(1, math.ceil(n * 1.2)) for n in block["max_nbor_size"]]
    assert max(block["max_nbor_size"]) > 0 and 1.0 < block["min_nbor_dist_A"] < 4.0
    used = json.loads((model / "input.json").read_text())["model"]["descriptor"]
    assert used["sel"] == block["sel"] and used["rcut"] == 4.0
    split = json.loads((data / "data" / "split.json").read_text())
    assert split["validation_frames"] == [[32, 40]] and split["training_frames"] == [[0, 31]]


def test_training_ran_and_logged_progress(chain):
    model, log = chain
    curve = read_lcurve(model / "lcurve.out")
    assert list(curve["step"]) == [0, 20, 40, 60, 80, 100]
    assert "eta = " in log  # deepmd's own progress/ETA lines reach the rule log
    assert (model / "lcurve.png").stat().st_size > 1000
    assert (model / "work" / "checkpoint").exists()  # the resumable state stays in work/


def test_compressed_model_agrees_with_frozen(data, chain):
    model, log = chain
    check = json.loads((model / "compress_check.json").read_text())
    assert check["frames"] == 8  # every validation frame
    measured = check["max_force_deviation"]["value"]
    # Compression tabulates the embedding nets: close to the frozen model, but never bit-identical
    # (a zero here would mean the check compared a model with itself).
    assert 0.0 < measured <= 1.0 and check["tolerance"]["value"] == 1.0
    assert (model / "compressed.pb").stat().st_size > (model / "frozen.pb").stat().st_size
    # the same measurement, made again, against a tolerance it does not meet
    again = compare_models(model / "frozen.pb", model / "compressed.pb",
                                     [str(data / "data" / "validation")])
    assert again["max_force_deviation"]["value"] == pytest.approx(measured, rel=1e-6, abs=1e-9)
    with pytest.raises(TrainingError, match="max force deviation"):
        check_compression(again, measured / 2)
    check_compression(again, measured * 2)  # within tolerance: no error


def test_dp_test_metrics_match_detail_files(chain):
    model, _ = chain
    result = json.loads((model / "test.json").read_text())
    energy = read_detail(model / "parity.e_peratom.out")
    force = read_detail(model / "parity.f.out")
    assert len(energy) == 8 and force.shape == (8 * 12, 6)
    e_rmse = np.sqrt(np.mean((energy[:, 1] - energy[:, 0]) ** 2)) * 1000
    f_rmse = np.sqrt(np.mean((force[:, 3:] - force[:, :3]) ** 2)) * 1000
    assert result["energy_rmse"]["value"] == pytest.approx(e_rmse, rel=1e-2)
    assert result["force_rmse"]["value"] == pytest.approx(f_rmse, rel=1e-2)
    assert result["virial_rmse"]["unit"] == "meV/atom"
    assert result["training_steps"] == 100
    for png in ("parity_energy.png", "parity_force.png"):
        assert (model / png).stat().st_size > 1000


def test_quality_gate_fails_the_rule_with_measured_and_threshold(data, chain, tmp_path):
    model, _ = chain
    out = tmp_path / "gate"
    with open(tmp_path / "gate.log", "w") as log, \
            pytest.raises(TrainingError) as err:
        steps.test_model(model=str(model / "compressed.pb"),
                         validation_dir=str(data / "data" / "validation"),
                         lcurve=str(model / "lcurve.out"), backend="tensorflow", threads=2,
                         max_energy_rmse=None, max_force_rmse=0.001,
                         result_path=str(out / "test.json"), parity_energy_png=str(out / "e.png"),
                         parity_force_png=str(out / "f.png"), log=log)
    measured = json.loads((model / "test.json").read_text())["force_rmse"]["value"]
    assert f"force rmse {measured:.4g} meV/Å exceeds config key " \
           f"'train.max_force_rmse_meV_per_A' = 0.001" in str(err.value)
    assert not (out / "test.json").exists()


def _dp_train_process(parent: int):
    import psutil

    for child in psutil.Process(parent).children(recursive=True):
        try:
            if "train" in child.cmdline() and any(a.endswith("dp") for a in child.cmdline()):
                return child
        except psutil.NoSuchProcess:
            continue
    return None


def test_killed_training_resumes_from_checkpoint(data, tmp_path):
    """SIGKILL the `dp train` process after its first checkpoint; the rerun restarts from it."""
    steps_total, save_freq = 600, 50
    cfg = train_config(numb_steps=steps_total, save_freq=save_freq, disp_freq=10)
    model = tmp_path / "X" / "train" / "model_0"
    model.mkdir(parents=True)
    args = dict(training_dirs=[str(data / "data" / "training")],
                validation_dirs=[str(data / "data" / "validation")],
                stats_json=str(data / "X" / "neighbor_stat.json"), type_map=TYPE_MAP, train_cfg=cfg,
                index=0, backend="tensorflow", device="cpu", threads=1,
                input_json=str(model / "input.json"), lcurve=str(model / "lcurve.out"),
                frozen=str(model / "frozen.pb"), lcurve_png=str(model / "lcurve.png"))
    script = ("import json, sys\nfrom dpglass.steps.workflow import train_model\n"
              f"args = json.loads({json.dumps(json.dumps(args))})\n"
              "train_model(**args, log=sys.stdout)\n")
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="5")  # as a scheduler would set it
    first_log = open(tmp_path / "first.log", "w")
    job = subprocess.Popen([sys.executable, "-c", script], stdout=first_log,
                           stderr=subprocess.STDOUT, env=env)
    work = model / "work"
    deadline = time.monotonic() + 600
    dp_proc = None
    try:
        while not latest_checkpoint(work, "tensorflow"):  # first complete checkpoint
            assert job.poll() is None, (tmp_path / "first.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "no checkpoint within 10 min"
            dp_proc = dp_proc or _dp_train_process(job.pid)
            time.sleep(0.05)
        dp_proc = dp_proc or _dp_train_process(job.pid)
        assert dp_proc is not None
        environ = dp_proc.environ()
        dp_proc.send_signal(signal.SIGKILL)
    finally:
        returncode = job.wait(timeout=120)
        first_log.close()
    # the dp process ran with the rule's threads and the scheduler's GPU selection
    assert environ["OMP_NUM_THREADS"] == "1" and environ["DP_INTRA_OP_PARALLELISM_THREADS"] == "1"
    assert environ["DP_INTER_OP_PARALLELISM_THREADS"] == "1"
    assert environ["CUDA_VISIBLE_DEVICES"] == "5" and environ["DEVICE"] == "cpu"
    assert returncode != 0 and "failed with exit code -9" in (tmp_path / "first.log").read_text()
    killed_at = lcurve_last_step(work / "lcurve.out")
    assert killed_at is not None and killed_at < steps_total, "training finished before the kill"
    assert not (model / "frozen.pb").exists()

    with open(tmp_path / "second.log", "w") as log:
        steps.train_model(**args, log=log)
    second = (tmp_path / "second.log").read_text()
    step_column = read_lcurve(work / "lcurve.out")["step"].astype(int)
    assert list(step_column).count(0) == 1  # not started again from scratch
    # dp train --restart appends to lcurve.out: its first line repeats (or precedes) the last one
    boundary = next(i for i in range(1, len(step_column)) if step_column[i] <= step_column[i - 1])
    resumed_at = step_column[boundary]
    checkpoint = f"model.ckpt-{resumed_at}"
    assert f"training: restarting from checkpoint {checkpoint} " in second
    assert f"--restart {checkpoint}" in second
    assert 0 < resumed_at and killed_at - resumed_at <= save_freq  # lost < one checkpoint interval
    assert step_column[-1] == steps_total
    assert (model / "frozen.pb").exists()
    assert lcurve_last_step(model / "lcurve.out") == steps_total


def test_dpa1_trains_freezes_and_compresses_with_tensorflow(tmp_path):
    """DPA-1 (attention-free, strip type embedding) runs the same chain on the TF backend."""
    lj_frames(tmp_path / "frames.extxyz", 20)
    cfg = train_config(descriptor="dpa1", numb_steps=20, disp_freq=10, save_freq=20)
    steps.training_data(frames_path=str(tmp_path / "frames.extxyz"), type_map=TYPE_MAP, train_cfg=cfg,
                        split_path=str(tmp_path / "data" / "split.json"))
    training_dirs, validation_dirs = [str(tmp_path / "data" / "training")], \
        [str(tmp_path / "data" / "validation")]
    model = tmp_path / "X" / "train" / "model_0"
    model.mkdir(parents=True)
    with open(tmp_path / "dpa1.log", "w") as log:
        steps.neighbor_stat(data_dirs=training_dirs + validation_dirs, type_map=TYPE_MAP,
                            train_cfg=cfg, backend="tensorflow", threads=2,
                            out_json=str(tmp_path / "X" / "neighbor_stat.json"), log=log)
        steps.train_model(training_dirs=training_dirs, validation_dirs=validation_dirs,
                          stats_json=str(tmp_path / "X" / "neighbor_stat.json"), type_map=TYPE_MAP,
                          train_cfg=cfg, index=0, backend="tensorflow", device="cpu", threads=2,
                          input_json=str(model / "input.json"), lcurve=str(model / "lcurve.out"),
                          frozen=str(model / "frozen.pb"), lcurve_png=str(model / "lcurve.png"),
                          log=log)
        steps.compress_model(frozen=str(model / "frozen.pb"), validation_dirs=validation_dirs,
                             backend="tensorflow", threads=2, tolerance_meV_per_A=1.0,
                             compressed=str(model / "compressed.pb"),
                             check_json=str(model / "compress_check.json"), log=log)
    stats = json.loads((tmp_path / "X" / "neighbor_stat.json").read_text())
    block = stats["blocks"]["descriptor"]
    assert block["mixed_type"] and len(block["max_nbor_size"]) == 1  # all types counted together
    used = json.loads((model / "input.json").read_text())["model"]["descriptor"]
    assert used["type"] == "dpa1" and used["sel"] == block["sel"]
    check = json.loads((model / "compress_check.json").read_text())
    assert check["max_force_deviation"]["value"] <= 1.0 and check["frames"] == 4


@pytest.mark.snakemake
def test_snakemake_rerun_incomplete_resumes_a_killed_training_job(tmp_path):
    """Kill the whole Snakemake process group mid-training (as a node failure or a wall-time limit
    would); `snakemake --rerun-incomplete` reruns the job, which resumes from the checkpoint that
    survived in model_0/work/ (not an output, so Snakemake's clean-up leaves it)."""
    repo = Path(__file__).resolve().parent.parent
    snakemake = str(Path(sys.executable).with_name("snakemake"))
    lj_frames_dir = tmp_path / "results" / "LACO75" / "melt_quench"
    lj_frames_dir.mkdir(parents=True)
    lj_frames(lj_frames_dir / "frames.extxyz", 40)  # Li, Al, Cl, O: the species of LACO75
    config = tmp_path / "config.yaml"
    config.write_text(json.dumps({
        "compositions": {"LACO75": {"formula": "LiAlCl2.5O0.75"}},
        "train": {**TINY, "n_models": 1, "numb_steps": 600, "save_freq": 50, "disp_freq": 10}}))
    target = "results/LACO75/train/model_0/frozen.pb"
    command = [snakemake, "-s", str(repo / "Snakefile"), "--configfile", str(config),
               "--directory", str(tmp_path), "--cores", "2", target]
    work = tmp_path / "results" / "LACO75" / "train" / "model_0" / "work"
    with open(tmp_path / "first.out", "w") as out:
        job = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                               start_new_session=True)
        deadline = time.monotonic() + 900
        try:
            while not latest_checkpoint(work, "tensorflow"):
                assert job.poll() is None, (tmp_path / "first.out").read_text()[-3000:]
                assert time.monotonic() < deadline, "no checkpoint within 15 min"
                time.sleep(0.05)
        finally:
            os.killpg(job.pid, signal.SIGKILL)
            job.wait()
    killed_at = lcurve_last_step(work / "lcurve.out")
    assert killed_at < 600 and not (tmp_path / target).exists()

    # the killed Snakemake left its lock: the usual recovery is --unlock, then --rerun-incomplete
    subprocess.run(command[:-1] + ["--unlock"], capture_output=True, timeout=300, check=True)
    again = subprocess.run(command[:-1] + ["--rerun-incomplete", target], capture_output=True,
                           text=True, timeout=900)
    assert again.returncode == 0, (again.stdout + again.stderr)[-3000:]
    log = (tmp_path / "logs" / "LACO75" / "train_model_0.log").read_text()
    assert "training: restarting from checkpoint model.ckpt-" in log
    steps_done = read_lcurve(tmp_path / "results" / "LACO75" / "train" / "model_0" /
                                      "lcurve.out")["step"].astype(int)
    assert list(steps_done).count(0) == 1 and steps_done[-1] == 600
    assert (tmp_path / target).exists()
