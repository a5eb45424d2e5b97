"""One ensemble member: its input.json, `dp train` in its work directory (resumed from the last
checkpoint), `dp freeze`, and input.json and lcurve.out copied beside the frozen model.

The first training (rule train_model) and every retraining of the learning loop (learning_train)
train a member here; they differ only in the input (member_input: the first training's schedule,
or retraining_input's) and in the previous member a retraining starts from (train_member's
`previous`). A member the loop does not retrain is carried over unchanged (carry_member).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

from dpglass.core.io import read_json, write_json
from dpglass.training.dp import dp
from dpglass.training.inputs import make_input, old_new_probability
from dpglass.training.train import run_training

FINGERPRINT = "learning_inputs.sha256"  # in work/ of a retraining: what its checkpoints learn from


def member_work(frozen: str | Path) -> Path:
    """The work directory of the member frozen to `frozen`: model_<i>/work. It is no Snakemake
    output, so its checkpoints survive a failed or killed job and the rerun resumes from them."""
    return Path(frozen).parent / "work"


def member_input(train_cfg: dict, type_map: list[str], stats: dict, seed: int, work: str | Path,
                 training_dirs: list[str], validation_dirs: list[str],
                 new_dirs: list[str] = (), learning: dict | None = None) -> dict:
    """The input.json of a member trained in `work` (data paths relative to it).

    learning None: the first training (make_input on training_dirs). Otherwise a retraining with
    the loop's settings (retraining_input) on training_dirs (the old data: the first training's
    and earlier iterations') and new_dirs (this iteration's labels)."""
    def relative(dirs):
        return [os.path.relpath(d, work) for d in dirs]

    if learning is None:
        if new_dirs:
            raise ValueError("new data without learning settings: a first training has none")
        return make_input(train_cfg, type_map, stats, seed, relative(training_dirs),
                          relative(validation_dirs))
    return retraining_input(train_cfg, learning, type_map, stats, seed, relative(training_dirs),
                            relative(new_dirs), relative(validation_dirs))


def retraining_input(train_cfg: dict, learning: dict, type_map: list[str], stats: dict,
                     seed: int, old_dirs: list[str], new_dirs: list[str],
                     validation_dirs: list[str]) -> dict:
    """input.json of a retraining on old (first training and earlier iterations) and new (this
    iteration's) systems.

    learning.retrain init_model follows dpgen2's init-model recipe (RunDPTrain's
    init_model_start_lr 1e-4, init_model_start_pref_e/f/v 0.1/100/0, init_model_old_ratio 0.9):
    the previous model is refined, not retrained, so the learning rate starts at learning.start_lr
    (not the first training's), the loss prefactors at learning.start_pref_*, and a fixed share
    learning.old_ratio of the batches comes from the old data, the rest from the new frames (which
    are otherwise drawn a few times in a whole retraining). scratch: the first training's
    schedule and prefactors, batches by system size."""
    cfg = dict(train_cfg, numb_steps=learning["numb_steps"])
    systems = list(old_dirs) + list(new_dirs)
    if learning["retrain"] == "scratch":
        return make_input(cfg, type_map, stats, seed, systems, validation_dirs)
    cfg["start_lr"] = learning["start_lr"]
    cfg["stop_lr"] = learning["stop_lr"] if learning["stop_lr"] is not None else \
        min(train_cfg["stop_lr"], learning["start_lr"])
    prefs = {k: learning[f"start_pref_{k}"] for k in "efv"}
    return make_input(cfg, type_map, stats, seed, systems, validation_dirs, start_prefs=prefs,
                      auto_prob=old_new_probability(len(old_dirs), len(new_dirs),
                                                    learning["old_ratio"]))


def training_fingerprint(data_dirs: list[str], start_model: str, payload: dict,
                         init: str | None) -> str:
    """Hash of what a retraining learns from: every data file, the start model, the input."""
    digest = hashlib.sha256(json.dumps([payload, init], sort_keys=True).encode())
    for directory in data_dirs:
        for path in sorted(Path(directory).rglob("*")):
            if path.is_file():
                digest.update(str(path.relative_to(directory)).encode())
                digest.update(path.read_bytes())
    digest.update(Path(start_model).read_bytes())
    return digest.hexdigest()


def train_member(*, work: str | Path, payload: dict, frozen: str, input_json: str, lcurve: str,
                 backend: str, threads: int, device: str, log, previous: str | None = None,
                 init_model: bool = False, data_dirs: list[str] = ()) -> dict:
    """Train `payload` in `work`, freeze it to `frozen`, copy work's input.json and lcurve.out to
    `input_json` and `lcurve`; returns what happened (trained, restarted_from, start_step,
    init_frz_model, seconds).

    run_training resumes work's last checkpoint when its network and training data are the
    payload's. A retraining (previous: the frozen model of the previous iteration) also stamps
    work/ with training_fingerprint(data_dirs, previous, payload, init): checkpoints of another
    stamp, or of none, belong to another training (a new selection labelled into the same
    directory, another previous model) and are removed first. init_model: a fresh start continues
    from `previous` (dp train --init-frz-model); otherwise it starts from random weights."""
    work = Path(work)
    if init_model and previous is None:
        raise ValueError("init_model needs the previous model to start from")
    init = os.path.relpath(previous, work) if init_model else None
    if previous is not None:
        fingerprint = training_fingerprint(list(data_dirs), previous, payload, init)
        stamp = work / FINGERPRINT
        stale = stamp.read_text().strip() != fingerprint if stamp.exists() else work.exists()
        if stale:
            print(f"training: the data or the start model changed since the checkpoints in "
                  f"{work} were written; training anew", file=log, flush=True)
            shutil.rmtree(work)
        work.mkdir(parents=True, exist_ok=True)
        stamp.write_text(fingerprint + "\n")
    start = time.perf_counter()
    state = run_training(work, payload, backend, threads, log, device, init_frz_model=init)
    seconds = time.perf_counter() - start
    print(f"training: done in {seconds:.1f} s", file=log, flush=True)
    dp(["freeze", "-o", os.path.relpath(frozen, work)], backend, work, threads, log, device=device)
    shutil.copyfile(work / "input.json", input_json)
    shutil.copyfile(work / "lcurve.out", lcurve)
    return {**state, "init_frz_model": init, "seconds": seconds}


def rebase_input(payload: dict, old_work: Path, new_work: Path) -> dict:
    """A copy of a DeePMD-kit input.json whose data systems, relative to `old_work`, are made
    relative to `new_work`."""
    import copy

    out = copy.deepcopy(payload)
    for section in ("training_data", "validation_data"):
        data = out["training"].get(section)
        if data:
            data["systems"] = [os.path.relpath(Path(old_work) / system, new_work)
                               for system in data["systems"]]
    return out


def carry_member(previous: str, *, frozen: str, input_json: str, lcurve: str) -> None:
    """The member not retrained: the previous frozen model copied to `frozen`, with its lcurve.out
    and its input.json, whose data paths (relative to the previous work directory) are rebased to
    this one's and written there too (`dp compress -t input.json` runs in work/)."""
    previous_dir, work = Path(previous).parent, member_work(frozen)
    work.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(previous, frozen)
    rebased = rebase_input(read_json(previous_dir / "input.json"), member_work(previous), work)
    write_json(input_json, rebased)
    write_json(work / "input.json", rebased)
    shutil.copyfile(previous_dir / "lcurve.out", lcurve)
