"""Training stage, fast parts: split, neighbour statistics -> sel, input.json for every descriptor
and backend, the `dp` environment and commands, restart decisions, dp test parsing, quality gate,
plots, and the workflow plan (per-composition and shared models, .pb/.pth)."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import numpy as np
import pytest

from dpglass.config import ConfigError, model_type_map, train_scope, validate_config
from dpglass.report.figures import plot_lcurve, plot_parity
from dpglass.training.backends import BACKEND_FLAG, model_file
from dpglass.training.compression import check_compression
from dpglass.training.data import build_datasets, index_ranges, time_block_split
from dpglass.training.dp import TrainingError, dp
from dpglass.training.evaluation import parse_dp_test, quality_gate
from dpglass.training.inputs import make_input
from dpglass.training.neighbors import neighbor_stat, neighbor_stat_runs, parse_neighbor_stat, sel_from_counts
from dpglass.training.train import latest_checkpoint, lcurve_last_step, run_training
from labelled_frames import lj_frames
from workflow_helpers import dry_run

TYPE_MAP = ["Li", "Al", "Cl", "O"]


def config(**train):
    return validate_config({"compositions": {"LACO75": {"formula": "LiAlCl2.5O0.75"}},
                            "train": train})


def stats_for(descriptor, max_nbor=(4, 3, 8, 3), factor=1.2):
    """A neighbor_stat.json record as the neighbor_stat rule writes it."""
    cfg = config(descriptor=descriptor, backend="pytorch")["train"]
    blocks = {}
    for run in neighbor_stat_runs(cfg):
        counts = [sum(max_nbor)] if run["mixed_type"] else list(max_nbor)
        sel = sel_from_counts(counts, factor)
        blocks[run["block"]] = {"rcut_A": run["rcut"], "mixed_type": run["mixed_type"],
                                "max_nbor_size": counts, "min_nbor_dist_A": 1.8,
                                "sel": sel[0] if run["mixed_type"] else sel}
    return {"descriptor": descriptor, "type_map": TYPE_MAP, "safety_factor": factor,
            "blocks": blocks}


# --------------------------------------------------------------------------------- split


def test_time_block_split_is_contiguous_and_leaves_a_gap():
    train, valid = time_block_split(40, 0.2, n_blocks=1, gap=2)
    assert valid == list(range(32, 40))  # the last contiguous block
    assert train == list(range(30))  # frames 30, 31 are the decorrelation gap
    assert not set(train) & set(valid)


def test_time_block_split_several_blocks_cover_the_trajectory():
    train, valid = time_block_split(100, 0.2, n_blocks=4, gap=1)
    ranges = index_ranges(valid)
    assert len(ranges) == 4 and all(stop - start == 5 for start, stop in ranges)
    assert ranges[-1][1] == 100 and ranges[0][0] < 25  # spread over the run, last ends at the end
    for start, stop in ranges:  # no training frame touches a validation block
        assert start - 1 not in train and stop not in train
    assert len(train) == 100 - 20 - 7  # 4 blocks x 2 gap frames, minus the one past the end


def test_time_block_split_rejects_too_few_frames():
    with pytest.raises(ValueError, match="too few"):
        time_block_split(3, 0.5, n_blocks=1, gap=2)


def test_build_datasets_keeps_time_order_and_records_split(tmp_path):
    frames = lj_frames(tmp_path / "frames.extxyz", 30)
    union = ["Li", "Na", "Al", "Cl", "O"]  # a shared model's type map: Na absent from this data
    split = build_datasets(tmp_path / "frames.extxyz", union, 0.2, tmp_path / "data",
                                    validation_blocks=1, gap_frames=1)
    recorded = json.loads((tmp_path / "data" / "split.json").read_text())
    assert recorded == split
    assert split["validation_frames"] == [[24, 30]] and split["training_frames"] == [[0, 23]]
    assert split["method"] == "contiguous time blocks inside every phase" and split["has_virial"]
    assert split["per_phase"] == [{"phase": "md", "frames": 30, "training": 23, "validation": 6}]
    valid_e = np.load(tmp_path / "data" / "validation" / "set.000" / "energy.npy").ravel()
    train_e = np.load(tmp_path / "data" / "training" / "set.000" / "energy.npy").ravel()
    assert np.allclose(valid_e, [f.get_potential_energy() for f in frames[24:]])
    assert np.allclose(train_e, [f.get_potential_energy() for f in frames[:23]])
    type_map_raw = (tmp_path / "data" / "training" / "type_map.raw").read_text().split()
    assert type_map_raw == union


def test_phase_block_split_validates_and_trains_in_every_phase():
    """Validation blocks inside every phase (melt, cool, hold, each sampling run), training
    frames from each too, and the gap on both sides of every block, across phase borders."""
    from dpglass.training.data import phase_block_split

    phases = (["melt"] * 40 + ["cool"] * 30 + ["hold"] * 20 + ["sample_213K"] * 10
              + ["sample_393K"] * 10)
    train, valid, rows = phase_block_split(phases, 0.2, n_blocks=1, gap=1)
    assert [r["phase"] for r in rows] == ["melt", "cool", "hold", "sample_213K", "sample_393K"]
    for row in rows:
        assert row["validation"] == round(0.2 * row["frames"]) and row["training"] > 0
        members = [i for i, p in enumerate(phases) if p == row["phase"]]
        assert {i for i in valid if phases[i] == row["phase"]} == set(members[-row["validation"]:])
    assert not set(train) & set(valid)
    for i in valid:  # no training frame next to a validation frame, phase border or not
        assert i - 1 not in train and i + 1 not in train
    assert 40 not in train  # the first cool frame follows the melt's validation block
    # the old single block would have put every frame after frame 88 in validation
    assert {p for i, p in enumerate(phases) if i in valid} == set(phases)


def test_phase_block_split_names_the_phase_and_the_keys_when_a_phase_is_too_short():
    from dpglass.training.data import phase_block_split

    with pytest.raises(ValueError, match=r"phase 'sample_213K' has 2 labelled frames.*"
                                         r"train\.split_gap_frames"):
        phase_block_split(["melt"] * 30 + ["sample_213K"] * 2, 0.2, gap=1)


def test_build_datasets_rejects_species_outside_type_map(tmp_path):
    lj_frames(tmp_path / "frames.extxyz", 5)
    with pytest.raises(ValueError, match=r"species \['O'\] are not in type_map"):
        build_datasets(tmp_path / "frames.extxyz", ["Li", "Al", "Cl"], 0.2, tmp_path)


# ------------------------------------------------------------------- neighbour statistics


NEIGHBOR_STAT_OUTPUT = """\
[2026-11-25 15:08:45,505] DEEPMD INFO    Neighbor statistics: training data with minimal neighbor distance: 1.860455
[2026-11-25 15:08:45,506] DEEPMD INFO    Neighbor statistics: training data with maximum neighbor size: [4 3 8 3 0] (cutoff radius: 4.000000)
[2026-11-25 15:08:45,506] DEEPMD INFO    min_nbor_dist: 1.860455
[2026-11-25 15:08:45,506] DEEPMD INFO    max_nbor_size: [ 4  3 18  3  0]
"""


def test_parse_neighbor_stat_and_sel():
    dist, counts = parse_neighbor_stat(NEIGHBOR_STAT_OUTPUT)
    assert dist == pytest.approx(1.860455) and counts == [4, 3, 18, 3, 0]
    # ceil(n x 1.2); a type without neighbours still gets one slot
    assert sel_from_counts(counts, 1.2) == [5, 4, 22, 4, 1]
    assert sel_from_counts([10], 1.0) == [10]
    with pytest.raises(ValueError, match="max_nbor_size"):
        parse_neighbor_stat("no statistics here")


def test_neighbor_stat_runs_per_descriptor():
    assert [r["mixed_type"] for r in neighbor_stat_runs(config()["train"])] == [False]
    assert [r["mixed_type"] for r in
            neighbor_stat_runs(config(descriptor="dpa1")["train"])] == [True]
    cfg = config(descriptor="dpa2", backend="pytorch")["train"]
    dpa2 = neighbor_stat_runs(cfg)
    assert [r["block"] for r in dpa2] == ["repinit", "repformer"]
    assert dpa2[1]["rcut"] < dpa2[0]["rcut"] == cfg["rcut_A"]


def test_neighbor_stat_runs_dp_per_data_dir_and_takes_the_max(tmp_path, fake_dp):
    cfg = config(rcut_A=4.5, sel_safety_factor=1.5)["train"]
    fake_dp.neighbor_counts = {"a": "[4 3 8 3]", "b": "[6 1 8 2]"}
    record = neighbor_stat([str(tmp_path / "a"), str(tmp_path / "b")], TYPE_MAP, cfg,
                                    "tensorflow", 2, tmp_path / "ns" / "neighbor_stat.json")
    calls = fake_dp.calls()
    assert [c["argv"][:2] for c in calls] == [["--tf", "neighbor-stat"]] * 2
    assert calls[0]["argv"][2:] == ["-s", "../a", "-r", "4.5", "-t", *TYPE_MAP]
    block = record["blocks"]["descriptor"]
    assert block["max_nbor_size"] == [6, 3, 8, 3] and block["sel"] == [9, 5, 12, 5]
    assert json.loads((tmp_path / "ns" / "neighbor_stat.json").read_text()) == record


# ------------------------------------------------------------------------------ input.json


@pytest.mark.parametrize("descriptor", ["se_e2_a", "dpa1", "dpa2"])
def test_make_input_is_valid_deepmd_input(descriptor):
    from deepmd.utils.argcheck import normalize

    cfg = config(descriptor=descriptor, backend="pytorch", rcut_A=5.0, rcut_smth_A=0.8,
                 descriptor_neurons=[4, 8], fitting_neurons=[16, 16])["train"]
    stats = stats_for(descriptor)
    payload = make_input(cfg, TYPE_MAP, stats, 7, ["../t"], ["../v"])
    normalized = normalize(json.loads(json.dumps(payload)))  # what dp train checks first
    model = normalized["model"]
    assert model["type_map"] == TYPE_MAP
    desc = model["descriptor"]
    assert desc["type"] == {"dpa1": "se_atten"}.get(descriptor, descriptor)  # dpa1 is an alias
    if descriptor == "se_e2_a":
        assert desc["sel"] == [5, 4, 10, 4] and desc["rcut"] == 5.0 and desc["rcut_smth"] == 0.8
        assert desc["resnet_dt"] is False  # required by dp compress
        assert desc["type_one_side"] is cfg["type_one_side"] and desc["axis_neuron"] == cfg["axis_neuron"]
    elif descriptor == "dpa1":
        assert desc["sel"] == 22 and desc["attn_layer"] == 0 and desc["tebd_input_mode"] == "strip"
    else:
        assert desc["repinit"]["nsel"] == 22 and desc["repinit"]["rcut"] == 5.0
        assert desc["repformer"]["rcut"] < 5.0 and desc["repformer"]["nsel"] >= 1
        assert desc["repformer"]["rcut_smth"] < desc["repformer"]["rcut"]
    assert normalized["training"]["save_ckpt"] == "model.ckpt"
    assert normalized["training"]["training_data"]["systems"] == ["../t"]


def test_ensemble_members_differ_by_seed_only():
    cfg = config()["train"]
    a = make_input(cfg, TYPE_MAP, stats_for("se_e2_a"), 1, ["t"], ["v"])
    b = make_input(cfg, TYPE_MAP, stats_for("se_e2_a"), 2, ["t"], ["v"])
    assert a != b
    for payload in (a, b):
        seed = payload["training"]["seed"]
        payload["training"]["seed"] = payload["model"]["descriptor"]["seed"] = None
        payload["model"]["fitting_net"]["seed"] = None
        assert seed in (1, 2)
    assert a == b


def test_type_one_side_follows_config():
    for one_side in (True, False):
        payload = make_input(config(type_one_side=one_side)["train"], TYPE_MAP,
                                      stats_for("se_e2_a"), 1, ["t"], ["v"])
        assert payload["model"]["descriptor"]["type_one_side"] is one_side


def test_make_input_refuses_stats_of_another_descriptor():
    with pytest.raises(ValueError, match="train.descriptor"):
        make_input(config(descriptor="dpa1")["train"], TYPE_MAP, stats_for("se_e2_a"),
                            1, ["t"], ["v"])


# ----------------------------------------------------------------------------------- config


def test_config_descriptor_backend_and_shared_checks():
    with pytest.raises(ConfigError, match="'train.descriptor': dpa2 needs the PyTorch backend"):
        config(descriptor="dpa2")
    assert config(descriptor="dpa2", backend="pytorch")["train"]["descriptor"] == "dpa2"
    assert validate_config({"compositions": {"X": {"formula": "LiCl"}},
                            "execution": {"device": "gpu"}, "train": {"descriptor": "dpa2"}})
    with pytest.raises(ConfigError, match="'compositions.shared'"):
        validate_config({"compositions": {"shared": {"formula": "LiCl"}},
                         "train": {"shared_model": True}})
    with pytest.raises(ConfigError, match="compress_tolerance_meV_per_A"):
        config(compress_tolerance_meV_per_A=0)
    cfg = config()["train"]
    assert cfg["max_energy_rmse_meV_per_atom"] is None and cfg["max_force_rmse_meV_per_A"] is None


def test_shared_model_type_map_is_the_union():
    comps = {"LACO75": {"formula": "LiAlCl2.5O0.75"}, "NACO75": {"formula": "NaAlCl2.5O0.75"}}
    shared = validate_config({"compositions": comps, "train": {"shared_model": True}})
    own = validate_config({"compositions": comps})
    assert model_type_map(shared, "LACO75") == ["Li", "Na", "Al", "Cl", "O"]
    assert model_type_map(own, "LACO75") == ["Li", "Al", "Cl", "O"]
    assert train_scope(shared, "LACO75") == "shared" and train_scope(own, "LACO75") == "LACO75"


# --------------------------------------------------------------------- dp process and commands


FAKE_DP = r'''#!{python}
"""Stands in for `dp`: records argv, cwd and environment, mimics what dp writes."""
import json, os, sys
from pathlib import Path
log = Path(os.environ["FAKE_DP_LOG"])
with log.open("a") as f:
    f.write(json.dumps({{"argv": sys.argv[1:], "cwd": os.getcwd(), "env": dict(os.environ)}}) + "\n")
args = sys.argv[2:]
if args[0] == "neighbor-stat":
    counts = json.loads(os.environ.get("FAKE_DP_COUNTS", "{{}}"))
    name = Path(args[args.index("-s") + 1]).name
    print("min_nbor_dist: 1.9\nmax_nbor_size: " + counts.get(name, "[1 1 1 1]"))
elif args[0] == "train":
    steps = json.load(open("input.json"))["training"]["numb_steps"]
    start = 0
    if "--restart" in args:
        start = int(Path("lcurve.out").read_text().splitlines()[-1].split()[0])
    with open("lcurve.out", "a") as f:
        if not start:
            f.write("#  step  rmse_val\n")
        f.write(f"{{steps}} 0.5\n")
    Path("checkpoint").write_text("model.ckpt-%d.pt" % steps)
    Path("model.ckpt-%d.pt" % steps).write_text("")
    Path("model.ckpt-%d.index" % steps).write_text("")
    Path("model.ckpt-%d.meta" % steps).write_text("")
elif args[0] == "freeze":
    Path(args[args.index("-o") + 1]).write_text("model")
elif args[0] == "test":
    Path(args[args.index("-l") + 1]).write_text(
        "Energy RMSE/Natoms : 1.0e-03 eV\nForce  RMSE        : 5.5e-02 eV/A\n")
    if "-d" in args:  # per-atom energies, data then prediction: offset 0.8, rest 0.6 meV/atom
        Path(args[args.index("-d") + 1] + ".e_peratom.out").write_text(
            "# data_e pred_e\n-4.0 -3.9986\n-4.0 -3.9998\n")
'''


class FakeDp:
    """Handle on the fake `dp`: the calls it recorded, and the neighbour counts it reports."""

    def __init__(self, record: Path, monkeypatch):
        self.record, self._monkeypatch = record, monkeypatch

    @property
    def neighbor_counts(self) -> dict:
        return json.loads(os.environ.get("FAKE_DP_COUNTS", "{}"))

    @neighbor_counts.setter
    def neighbor_counts(self, counts: dict) -> None:
        self._monkeypatch.setenv("FAKE_DP_COUNTS", json.dumps(counts))

    def calls(self) -> list[dict]:
        if not self.record.exists():
            return []
        return [json.loads(line) for line in self.record.read_text().splitlines()]


@pytest.fixture
def fake_dp(tmp_path, monkeypatch):
    exe = tmp_path / "fake_dp"
    exe.write_text(FAKE_DP.format(python=sys.executable))
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("DPGLASS_DP", str(exe))
    monkeypatch.setenv("FAKE_DP_LOG", str(tmp_path / "dp_calls.jsonl"))
    return FakeDp(tmp_path / "dp_calls.jsonl", monkeypatch)


def test_dp_subprocess_gets_the_rule_threads_and_keeps_gpu_selection(tmp_path, fake_dp,
                                                                     monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")  # as SLURM sets it
    monkeypatch.setenv("OMP_NUM_THREADS", "64")  # whatever the login shell had
    dp(["freeze", "-o", "x.pb"], "tensorflow", tmp_path, 3)
    dp(["freeze", "-o", "x.pth"], "pytorch", tmp_path, 8, device="gpu")
    cpu, gpu = fake_dp.calls()
    for call, threads in ((cpu, "3"), (gpu, "8")):
        env = call["env"]
        assert env["OMP_NUM_THREADS"] == threads
        assert env["DP_INTRA_OP_PARALLELISM_THREADS"] == threads
        assert env["DP_INTER_OP_PARALLELISM_THREADS"] == "1"
        assert env["CUDA_VISIBLE_DEVICES"] == "3"
    assert cpu["argv"][0] == "--tf" and gpu["argv"][0] == "--pt"
    assert cpu["env"]["DEVICE"] == "cpu"  # the PyTorch backend stays off a visible GPU on CPU
    assert "DEVICE" not in gpu["env"]
    assert Path(cpu["cwd"]) == tmp_path


def test_dp_failure_names_the_command(tmp_path, monkeypatch):
    monkeypatch.setenv("DPGLASS_DP", "/bin/false")
    with pytest.raises(TrainingError, match=r"`dp --pt train input.json` failed"):
        dp(["train", "input.json"], "pytorch", tmp_path, 1)


def _payload(steps=100, neurons=(4, 8)):
    cfg = config(numb_steps=steps, descriptor_neurons=list(neurons))["train"]
    return make_input(cfg, TYPE_MAP, stats_for("se_e2_a"), 1, ["../t"], ["../v"])


@pytest.mark.parametrize("backend,restart_arg", [("tensorflow", "model.ckpt-100"),
                                                  ("pytorch", "model.ckpt-100.pt")])
def test_run_training_restarts_from_checkpoint(tmp_path, fake_dp, backend, restart_arg):
    work = tmp_path / "work"
    (work).mkdir()
    (work / "model.ckpt-50.index").write_text("")  # a checkpoint cut off by a kill: no .meta
    assert latest_checkpoint(work, backend) is None
    first = run_training(work, _payload(100), backend, 2)
    assert first == {"restarted_from": None, "start_step": 0, "trained": True}
    # same model, more steps (or a rerun after a kill): dp train --restart
    second = run_training(work, _payload(300), backend, 2)
    assert second["restarted_from"] == restart_arg and second["start_step"] == 100
    argv = [c["argv"] for c in fake_dp.calls() if c["argv"][1] == "train"]
    assert argv[0] == [BACKEND_FLAG[backend], "train", "input.json",
                       "--skip-neighbor-stat"]
    assert argv[1][-2:] == ["--restart", restart_arg]
    assert lcurve_last_step(work / "lcurve.out") == 300
    # finished: not trained again
    third = run_training(work, _payload(300), backend, 2)
    assert third["trained"] is False and len(argv) == 2 == len(
        [c for c in fake_dp.calls() if c["argv"][1] == "train"])
    # a different network: the old checkpoint is not resumed
    fourth = run_training(work, _payload(300, neurons=(8, 16)), backend, 2)
    assert fourth["restarted_from"] is None
    assert fake_dp.calls()[-1]["argv"][-1] == "--skip-neighbor-stat"
    assert (work / "lcurve.out").read_text().count("# ") == 1


def test_run_training_does_not_resume_checkpoints_of_other_data(tmp_path, fake_dp):
    """Relabelled frames under the same system paths (a new reference calculator) are another
    training: the finished checkpoint must not stand for it."""
    work = tmp_path / "work"
    energies = tmp_path / "t" / "set.000" / "energy.npy"
    energies.parent.mkdir(parents=True)
    np.save(energies, np.array([-4.0, -4.1]))
    assert run_training(work, _payload(100), "tensorflow", 1)["trained"]
    assert run_training(work, _payload(100), "tensorflow", 1)["trained"] is False
    np.save(energies, np.array([-300.0, -301.0]))  # same path, other labels
    again = run_training(work, _payload(100), "tensorflow", 1)
    assert again == {"restarted_from": None, "start_step": 0, "trained": True}
    # a checkpoint without the data stamp (written by another version) is of unknown data
    (work / "data.sha256").unlink()
    assert run_training(work, _payload(100), "tensorflow", 1)["restarted_from"] is None


def test_pytorch_commands_and_suffixes(tmp_path, fake_dp):
    """dp --pt cannot run here (deepmd-kit 3.2's PyTorch op library is built for torch 2.11, this
    environment has torch 2.13 for CHGNet), so the PyTorch path is checked by its commands and files."""
    from dpglass.steps import workflow as steps

    train_dirs, valid_dirs = [str(tmp_path / "t")], [str(tmp_path / "v")]
    stats = tmp_path / "neighbor_stat.json"
    stats.write_text(json.dumps(stats_for("dpa2")))
    cfg = config(descriptor="dpa2", backend="pytorch", numb_steps=50)["train"]
    model = tmp_path / "shared" / "train" / "model_1"
    model.mkdir(parents=True)
    steps.train_model(training_dirs=train_dirs, validation_dirs=valid_dirs, stats_json=str(stats),
                      type_map=TYPE_MAP, train_cfg=cfg, index=1, backend="pytorch", device="gpu",
                      threads=4, input_json=str(model / "input.json"),
                      lcurve=str(model / "lcurve.out"), frozen=str(model / "frozen.pth"),
                      lcurve_png=str(model / "lcurve.png"), log=sys.stdout)
    calls = [c["argv"] for c in fake_dp.calls()]
    assert calls == [["--pt", "train", "input.json", "--skip-neighbor-stat"],
                     ["--pt", "freeze", "-o", "../frozen.pth"]]
    written = json.loads((model / "input.json").read_text())
    assert written["model"]["descriptor"]["type"] == "dpa2"
    assert written["model"]["descriptor"]["seed"] == cfg["seed"] + 1
    assert written["training"]["training_data"]["systems"] == ["../../../../t"]
    assert (model / "frozen.pth").exists() and (model / "lcurve.png").stat().st_size > 0
    assert model_file(model, "compressed", "pytorch").name == "compressed.pth"


# ------------------------------------------------ one member: the first training, a retraining


def _member_layout(tmp_path) -> dict:
    """The workflow's layout for member 1 of a composition: its first training's data and model,
    iteration 1's labels (3 frames selected) and model directory."""
    cfg = validate_config({"compositions": {"LACO75": {"formula": "LiAlCl2.5O0.75"}},
                           "train": {"numb_steps": 20},
                           "learning": {"max_iterations": 1, "numb_steps": 10}})
    paths = {"training": tmp_path / "train/data/training",
             "validation": tmp_path / "train/data/validation",
             "new": tmp_path / "learning/iter1/data",
             "first": tmp_path / "train/model_1", "retrained": tmp_path / "learning/iter1/model_1"}
    for key in ("training", "validation", "new"):
        (paths[key] / "set.000").mkdir(parents=True)
        (paths[key] / "type.raw").write_text("0\n")
        (paths[key] / "set.000/energy.npy").write_bytes(b"labels of " + key.encode())
    for key in ("first", "retrained"):
        paths[key].mkdir(parents=True)
    paths["stats"] = tmp_path / "train/neighbor_stat.json"
    paths["stats"].write_text(json.dumps(stats_for("se_e2_a")))
    paths["selection"] = tmp_path / "learning/iter1/selection.json"
    paths["selection"].write_text(json.dumps({"selected": 3}))
    paths["convergence"] = tmp_path / "learning/iter1/convergence.json"
    paths["convergence"].write_text(json.dumps({"converged": False}))
    return {"cfg": cfg, **{k: str(v) for k, v in paths.items()}}


def _first_training(layout, log=sys.stdout):
    from dpglass.steps import workflow as steps
    from dpglass.config import train_settings

    first = Path(layout["first"])
    steps.train_model(training_dirs=[layout["training"]], validation_dirs=[layout["validation"]],
                      stats_json=layout["stats"], type_map=TYPE_MAP,
                      train_cfg=train_settings(layout["cfg"], "train_model"), index=1,
                      backend="tensorflow", device="cpu", threads=1,
                      input_json=str(first / "input.json"), lcurve=str(first / "lcurve.out"),
                      frozen=str(first / "frozen.pb"), lcurve_png=str(first / "lcurve.png"),
                      log=log)


def _retraining(layout, log=sys.stdout, **learning) -> dict:
    from dpglass.config import train_settings
    from dpglass.steps import learning as learning_steps
    from dpglass.learning.settings import rule_settings

    new = Path(layout["retrained"])
    learning_steps.retrain(
        training_dirs=[layout["training"]], validation_dirs=[layout["validation"]],
        earlier_data=[], new_data=[layout["new"]], stats_json=layout["stats"],
        previous_frozen=str(Path(layout["first"]) / "frozen.pb"),
        selections=[layout["selection"]], convergences=[layout["convergence"]], type_map=TYPE_MAP,
        train_cfg=train_settings(layout["cfg"], "train_model"),
        learning={**rule_settings(layout["cfg"], "retrain"), **learning}, index=1, iteration=1,
        backend="tensorflow", device="cpu", threads=1, input_json=str(new / "input.json"),
        lcurve=str(new / "lcurve.out"), frozen=str(new / "frozen.pb"),
        test_json=str(new / "validation.json"), log=log)
    return json.loads((new / "validation.json").read_text())


def test_the_first_training_and_a_retraining_train_freeze_and_copy_alike(tmp_path, fake_dp):
    """Both train member i with seed train.seed + i in model_i/work, freeze it beside work/ and
    copy input.json and lcurve.out there; the retraining starts from the previous member
    (--init-frz-model) on the old and the new data with the loop's schedule, stamps work/ with
    its fingerprint, and measures the validation error before and after."""
    from dpglass.training.member import FINGERPRINT

    layout = _member_layout(tmp_path)
    first, new = Path(layout["first"]), Path(layout["retrained"])
    _first_training(layout)
    assert [c["argv"] for c in fake_dp.calls()] == [
        ["--tf", "train", "input.json", "--skip-neighbor-stat"],
        ["--tf", "freeze", "-o", "../frozen.pb"]]
    assert not (first / "work" / FINGERPRINT).exists()  # the first training resumes by its input
    record = _retraining(layout)
    calls = [c["argv"] for c in fake_dp.calls()][2:]
    assert calls[:2] == [["--tf", "train", "input.json", "--skip-neighbor-stat",
                          "--init-frz-model", "../../../../train/model_1/frozen.pb"],
                         ["--tf", "freeze", "-o", "../frozen.pb"]]
    # dp test of the previous model, then of the new one, on the validation system
    assert [(c[1], c[c.index("-m") + 1]) for c in calls[2:]] == [
        ("test", "../../../../train/model_1/frozen.pb"), ("test", "../frozen.pb")]
    assert all(Path(c["cwd"]) == first / "work" for c in fake_dp.calls()[:2])
    assert all(Path(c["cwd"]) == new / "work" for c in fake_dp.calls()[2:4])
    # the validation error before and after, with the energy offset read from dp test's detail
    for key in ("validation_before", "validation"):
        assert record[key]["energy_offset"]["value"] == pytest.approx(0.8)
        assert record[key]["energy_rmse_without_offset"]["value"] == pytest.approx(0.6)
    for model in (first, new):
        assert (model / "frozen.pb").read_text() == "model"
        assert (model / "input.json").read_text() == (model / "work/input.json").read_text()
        assert (model / "lcurve.out").read_text() == (model / "work/lcurve.out").read_text()
    assert (first / "lcurve.png").stat().st_size > 0 and not (new / "lcurve.png").exists()
    assert (new / "work" / FINGERPRINT).exists()
    cfg = layout["cfg"]
    once, again = (json.loads((m / "input.json").read_text()) for m in (first, new))
    for payload in (once, again):
        assert payload["model"]["descriptor"]["seed"] == cfg["train"]["seed"] + 1
    assert once["training"]["training_data"]["systems"] == ["../../data/training"]
    assert once["training"]["validation_data"]["systems"] == ["../../data/validation"]
    assert once["training"]["numb_steps"] == 20
    assert once["learning_rate"]["start_lr"] == cfg["train"]["start_lr"]
    assert "auto_prob" not in once["training"]["training_data"]
    assert again["training"]["training_data"]["systems"] == ["../../../../train/data/training",
                                                              "../../data"]
    assert again["training"]["validation_data"]["systems"] == ["../../../../train/data/validation"]
    assert again["training"]["numb_steps"] == 10
    assert again["learning_rate"]["start_lr"] == cfg["learning"]["start_lr"] != \
        cfg["train"]["start_lr"]
    assert again["training"]["training_data"]["auto_prob"] == "prob_sys_size; 0:1:0.9; 1:2:0.1"
    assert record["trained"] is True and record["restarted_from"] is None
    assert record["init_frz_model"] == "../../../../train/model_1/frozen.pb"
    assert (record["training_systems"], record["new_systems"], record["numb_steps"]) == (2, 1, 10)
    assert record["validation"]["force_rmse"]["value"] == pytest.approx(55.0)
    assert record["validation_before"]["systems"] == 1


def test_a_rerun_resumes_its_own_checkpoints_and_a_retraining_drops_another_s(tmp_path,
                                                                            fake_dp):
    """A rerun (after a kill, or of a finished job) continues from the checkpoint in work/; a
    retraining whose data, start model or input changed since its checkpoints were written
    trains anew, from the previous member (init_model) or from scratch."""
    layout = _member_layout(tmp_path)
    _first_training(layout)
    _retraining(layout)

    def trainings():
        return [c["argv"][2:] for c in fake_dp.calls() if c["argv"][1] == "train"]

    assert len(trainings()) == 2
    with open(tmp_path / "rerun.log", "w") as log:
        _first_training(layout, log)
        record = _retraining(layout, log)
    assert len(trainings()) == 2  # both finished: neither trains again
    assert record["trained"] is False and record["restarted_from"] == "model.ckpt-10"
    assert (tmp_path / "rerun.log").read_text().count("already finished") == 2
    # a new selection labelled into the same directory: the checkpoints belong to other data
    (Path(layout["new"]) / "set.000/energy.npy").write_bytes(b"other labels")
    with open(tmp_path / "relabelled.log", "w") as log:
        record = _retraining(layout, log)
    assert "changed since the checkpoints" in (tmp_path / "relabelled.log").read_text()
    assert trainings()[-1] == ["input.json", "--skip-neighbor-stat", "--init-frz-model",
                               "../../../../train/model_1/frozen.pb"]
    assert record["trained"] is True and record["restarted_from"] is None
    # scratch: another input, trained anew from random weights
    record = _retraining(layout, retrain="scratch")
    assert trainings()[-1] == ["input.json", "--skip-neighbor-stat"]
    assert record["init_frz_model"] is None and record["restarted_from"] is None
    assert len(trainings()) == 4


def _named(cls, items: dict):
    """A Snakemake input list as a job gets it: list items flattened, their names spanning them."""
    named = cls()
    for key, value in items.items():
        start = len(named)
        named.extend(value if isinstance(value, list) else [value])
        named._set_name(key, start, len(named) if isinstance(value, list) else None)
    return named


def test_one_script_feeds_both_trainings(tmp_path, fake_dp, capfd):
    """scripts/train_model.py runs for train_model and for learning_train (`use rule`): the
    input `previous` makes it a retraining of that member."""
    from snakemake.iocontainers import InputFiles, Log, OutputFiles, Params, Snakemake, Wildcards

    from dpglass.config import train_settings
    from dpglass.learning.settings import rule_settings
    from workflow_helpers import REPO

    layout = _member_layout(tmp_path)
    first, new = Path(layout["first"]), Path(layout["retrained"])
    common = {"training": [layout["training"]], "validation": [layout["validation"]],
              "neighbor_stat": layout["stats"]}
    params = {"type_map": TYPE_MAP, "train": train_settings(layout["cfg"], "train_model"),
              "backend": "tensorflow", "device": "cpu"}
    outputs = {"input_json": "input.json", "lcurve": "lcurve.out", "frozen": "frozen.pb"}
    jobs = [("train_model", first, common, {"lcurve_png": "lcurve.png"}, {"i": "1"}, params),
            ("learning_train", new,
             {**common, "earlier_data": [], "new_data": [layout["new"]],
              "selections": [layout["selection"]], "convergences": [layout["convergence"]],
              "previous": str(first / "frozen.pb")},
             {"validation": "validation.json"}, {"k": "1", "i": "1"},
             {**params, "learning": rule_settings(layout["cfg"], "retrain")})]
    script = (REPO / "scripts" / "train_model.py").read_text()
    for rule, model, inputs, extra, wildcards, rule_params in jobs:
        out = {key: str(model / name) for key, name in {**outputs, **extra}.items()}
        job = Snakemake(_named(InputFiles, inputs), OutputFiles(fromdict=out),
                        Params(fromdict=rule_params), Wildcards(fromdict=wildcards), 1,
                        None, Log(fromdict={"log": str(tmp_path / f"{rule}.log")}), {}, rule, 0)
        exec(compile(script, "train_model.py", "exec"), {"snakemake": job})
    trainings = [c["argv"][2:] for c in fake_dp.calls() if c["argv"][1] == "train"]
    assert trainings == [["input.json", "--skip-neighbor-stat"],
                         ["input.json", "--skip-neighbor-stat", "--init-frz-model",
                          "../../../../train/model_1/frozen.pb"]]
    assert (first / "lcurve.png").exists() and not (first / "validation.json").exists()
    assert json.loads((new / "validation.json").read_text())["trained"] is True
    # the rule log is sys.stdout (here pytest's)
    assert "iteration 1, model 1: init_model" in capfd.readouterr().out


def test_member_routine_refuses_inconsistent_requests(tmp_path):
    from dpglass.training.member import member_input, train_member

    cfg = config(numb_steps=10)["train"]
    with pytest.raises(ValueError, match="first training"):
        member_input(cfg, TYPE_MAP, stats_for("se_e2_a"), 1, tmp_path / "work", ["t"], ["v"],
                     new_dirs=["n"])
    with pytest.raises(ValueError, match="previous model"):
        train_member(work=tmp_path / "work", payload=_payload(), frozen="f.pb", input_json="i",
                     lcurve="l", backend="tensorflow", threads=1, device="cpu", log=sys.stdout,
                     init_model=True)
    assert not (tmp_path / "work").exists()


# --------------------------------------------------------------------- dp test and the gate


DP_TEST_ONE = """\
DEEPMD INFO    # number of test data : 8
DEEPMD INFO    Energy MAE         : 1.0e-02 eV
DEEPMD INFO    Energy RMSE        : 1.2e-02 eV
DEEPMD INFO    Energy MAE/Natoms  : 8.3e-04 eV
DEEPMD INFO    Energy RMSE/Natoms : 1.0e-03 eV
DEEPMD INFO    Force  MAE         : 4.0e-02 eV/Å
DEEPMD INFO    Force  RMSE        : 5.5e-02 eV/Å
DEEPMD INFO    Virial RMSE        : 2.4e-02 eV
DEEPMD INFO    Virial RMSE/Natoms : 2.0e-03 eV
"""


def test_parse_dp_test_single_and_weighted_average():
    metrics = parse_dp_test(DP_TEST_ONE)
    assert metrics["energy_rmse"] == {"value": pytest.approx(1.0), "error": None,
                                      "unit": "meV/atom"}
    assert metrics["force_rmse"]["value"] == pytest.approx(55.0)
    assert metrics["virial_rmse"]["value"] == pytest.approx(2.0)
    average = DP_TEST_ONE + "# ----------weighted average of errors-----------\n" + \
        DP_TEST_ONE.replace("5.5e-02", "7.0e-02").replace("1.0e-03", "3.0e-03")
    metrics = parse_dp_test(average)
    assert metrics["force_rmse"]["value"] == pytest.approx(70.0)
    assert metrics["energy_rmse"]["value"] == pytest.approx(3.0)
    with pytest.raises(ValueError, match="force"):
        parse_dp_test("Energy RMSE/Natoms : 1.0e-03 eV")


def test_quality_gate_names_measured_value_and_threshold():
    metrics = parse_dp_test(DP_TEST_ONE)  # 1.0 meV/atom, 55 meV/Å
    quality_gate(metrics, None, None)
    quality_gate(metrics, 2.0, 60.0)
    with pytest.raises(TrainingError) as err:
        quality_gate(metrics, 2.0, 50.0)
    assert "force rmse 55 meV/Å exceeds config key 'train.max_force_rmse_meV_per_A' = 50" in \
        str(err.value)
    assert "energy" not in str(err.value)
    with pytest.raises(TrainingError, match="max_energy_rmse_meV_per_atom' = 0.5"):
        quality_gate(metrics, 0.5, None)


def test_check_compression_message():
    deviation = {"frames": 8, "max_force_deviation": {"value": 7.5, "error": None,
                                                       "unit": "meV/Å"}}
    check_compression(deviation, 10.0)
    with pytest.raises(TrainingError, match=r"max force deviation 7.5 meV/Å on 8 "
                       r"validation frames exceeds config key 'train.compress_tolerance_meV_per_A'"
                       r" = 5 meV/Å"):
        check_compression(deviation, 5.0)


def test_parity_and_lcurve_plots(tmp_path):
    rng = np.random.default_rng(0)
    e = rng.normal(-3, 0.01, 10)
    np.savetxt(tmp_path / "p.e_peratom.out", np.c_[e, e + 1e-3], header="sys: data_e pred_e")
    f = rng.normal(0, 1, (40, 3))
    np.savetxt(tmp_path / "p.f.out", np.c_[f, f + 0.05], header="sys: data_f pred_f")
    plot_parity(tmp_path / "p", tmp_path / "e.png", tmp_path / "f.png")
    assert (tmp_path / "e.png").stat().st_size > 1000 and (tmp_path / "f.png").stat().st_size > 1000
    (tmp_path / "lcurve.out").write_text(
        "# step rmse_val rmse_trn rmse_e_val rmse_e_trn rmse_f_val rmse_f_trn lr\n"
        "0 1 1 0.1 0.1 0.5 0.5 1e-3\n100 0.5 0.5 0.05 0.05 0.2 0.2 1e-4\n")
    plot_lcurve(tmp_path / "lcurve.out", tmp_path / "lcurve.png")
    assert (tmp_path / "lcurve.png").stat().st_size > 1000


# ------------------------------------------------------------------------------ workflow plan


def planned_jobs(cfg: dict) -> str:
    result = dry_run(json.dumps(cfg))
    assert result.returncode == 0, result.stderr + result.stdout
    return result.stdout


TWO = {"LACO75": {"formula": "LiAlCl2.5O0.75"}, "NACO75": {"formula": "NaAlCl2.5O0.75"}}


@pytest.mark.snakemake
def test_plan_shared_model_used_by_every_composition():
    plan = planned_jobs({"compositions": TWO, "train": {"shared_model": True, "n_models": 2},
                         "sweep": {"temperatures_K": [303]}})
    assert "output: results/shared/train/neighbor_stat.json" in plan
    assert plan.count("rule train_model:") == 2  # one ensemble, not one per composition
    assert "results/shared/train/model_1/frozen.pb" in plan
    for comp in TWO:
        assert (f"input: results/{comp}/sweep/data.lmp, results/shared/train/model_0/"
                f"compressed.pb, results/shared/train/model_1/compressed.pb") in plan
        assert f"results/{comp}/train/model_1/test.json" in plan
    assert "results/LACO75/train/model_0/frozen.pb" not in plan


@pytest.mark.snakemake
def test_plan_per_composition_pytorch_and_uncompressed():
    plan = planned_jobs({"compositions": TWO, "sweep": {"temperatures_K": [303]},
                         "train": {"backend": "pytorch", "compress": False, "n_models": 1}})
    assert plan.count("rule train_model:") == 2
    assert "results/LACO75/train/model_0/frozen.pth" in plan
    assert "results/NACO75/train/model_0/frozen.pth" in plan
    assert "compress_model" not in plan and ".pb" not in plan
    assert "input: results/LACO75/sweep/data.lmp, results/LACO75/train/model_0/frozen.pth" in plan


def test_training_rules_see_only_the_keys_they_use(tmp_path, fake_dp):
    """Each rule gets a subset of train.* as params (a gate threshold change must not retrain);
    the step functions work from exactly that subset."""
    from dpglass.steps import workflow as steps
    from dpglass.config import train_settings

    full = config(numb_steps=10)
    lj_frames(tmp_path / "frames.extxyz", 10)
    steps.training_data(frames_path=str(tmp_path / "frames.extxyz"), type_map=TYPE_MAP,
                        train_cfg=train_settings(full, "training_data"),
                        split_path=str(tmp_path / "d" / "split.json"))
    neighbor_stat([str(tmp_path / "d" / "training")], TYPE_MAP,
                           train_settings(full, "neighbor_stat"), "tensorflow", 1,
                           tmp_path / "neighbor_stat.json")
    model = tmp_path / "model_0"
    model.mkdir()
    steps.train_model(training_dirs=[str(tmp_path / "d" / "training")],
                      validation_dirs=[str(tmp_path / "d" / "validation")],
                      stats_json=str(tmp_path / "neighbor_stat.json"), type_map=TYPE_MAP,
                      train_cfg=train_settings(full, "train_model"), index=0, backend="tensorflow",
                      device="cpu", threads=1, input_json=str(model / "input.json"),
                      lcurve=str(model / "lcurve.out"), frozen=str(model / "frozen.pb"),
                      lcurve_png=str(model / "lcurve.png"), log=sys.stdout)
    assert json.loads((model / "input.json").read_text())["training"]["numb_steps"] == 10
    gate_keys = {"max_energy_rmse_meV_per_atom", "max_force_rmse_meV_per_A",
                 "compress_tolerance_meV_per_A", "n_models", "compress"}
    for rule in ("training_data", "neighbor_stat", "train_model"):
        assert not gate_keys & set(train_settings(full, rule))


def deepmd_tf_saves(steps: int, disp_freq: int, save_freq: int) -> list[int]:
    """The steps at which DeePMD-kit 3.2's TensorFlow trainer writes a checkpoint
    (deepmd/tf/train/trainer.py: inside the display block, and at the end unless the last step
    is a multiple of save_freq)."""
    saved = [s for s in range(1, steps + 1) if s % disp_freq == 0 and s % save_freq == 0]
    if steps % save_freq != 0:
        saved.append(steps)
    return saved


@pytest.mark.parametrize("steps", [60, 100, 150, 599, 600, 6000, 40000])
@pytest.mark.parametrize("disp_freq, save_freq", [(100, 150), (20, 50), (500, 2000), (10, 7),
                                                  (500, 1000), (1000, 100)])
def test_every_training_ends_with_a_checkpoint_and_saves_on_the_way(steps, disp_freq, save_freq):
    """150 steps, disp_freq 100 and save_freq 150 (clamped to the steps) left no checkpoint at
    all, and `dp freeze` of a retraining failed; periodic checkpoints are at most about one
    save_freq apart."""
    cfg = validate_config({"compositions": {"X": {"formula": "LiCl"}},
                           "train": {"numb_steps": steps, "disp_freq": disp_freq,
                                     "save_freq": save_freq}})["train"]
    stats = {"blocks": {"descriptor": {"sel": [4, 4]}}}
    training = make_input(cfg, ["Li", "Cl"], stats, 1, ["t"], ["v"])["training"]
    saved = deepmd_tf_saves(steps, training["disp_freq"], training["save_freq"])
    assert saved and saved[-1] == steps
    gaps = np.diff([0] + saved)
    assert gaps.max() <= max(1.5 * save_freq, 2 * min(disp_freq, steps)) or len(saved) == 1


def test_energy_offset_reads_dp_tests_detail_file_as_prediction_minus_reference(tmp_path):
    """`dp test -d` writes per-atom energies as data then prediction; the offset is their mean
    difference (prediction - reference) and the rest the RMSE about it."""
    from dpglass.training.evaluation import energy_offset

    data = np.array([-4.10, -4.12, -4.11, -4.09])
    pred = data + 0.004 + np.array([0.001, -0.001, 0.001, -0.001])
    detail = tmp_path / "detail_0.e_peratom.out"
    np.savetxt(detail, np.column_stack([data, pred]), header="data_e pred_e")
    got = energy_offset(detail)
    assert got["energy_offset"] == {"value": pytest.approx(4.0), "error": None, "unit": "meV/atom"}
    assert got["energy_rmse_without_offset"]["value"] == pytest.approx(1.0)
