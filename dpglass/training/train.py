"""`dp train` in a work directory that survives a killed job: resuming from the last checkpoint."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from dpglass.training.dp import dp
from dpglass.training.inputs import CHECKPOINT_PREFIX, write_input


def latest_checkpoint(work: str | Path, backend: str) -> str | None:
    """The newest complete checkpoint that `dp train --restart` can take, or None.

    TensorFlow writes model.ckpt-N.data/.index, then its `checkpoint` state file, then .meta (which
    deepmd's restart reads), then the model.ckpt.* links; a kill can land anywhere in that order,
    so the newest prefix whose .index and .meta both exist is taken. PyTorch names its latest
    model.ckpt-N.pt in `checkpoint` after writing it.
    """
    work = Path(work)
    if backend == "tensorflow":
        steps = []
        for index in work.glob(f"{CHECKPOINT_PREFIX}-*.index"):
            prefix = index.name[: -len(".index")]
            step = prefix.rsplit("-", 1)[1]
            if step.isdigit() and (work / f"{prefix}.meta").exists():
                steps.append(int(step))
        return f"{CHECKPOINT_PREFIX}-{max(steps)}" if steps else None
    marker = work / "checkpoint"
    if not marker.exists():
        return None
    name = marker.read_text().strip()
    return name if name and (work / name).exists() else None


def lcurve_last_step(path: str | Path) -> int | None:
    try:
        rows = [line.split() for line in Path(path).read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    except FileNotFoundError:
        return None
    return int(float(rows[-1][0])) if rows else None


def read_lcurve(path: str | Path) -> dict[str, np.ndarray]:
    with open(path) as handle:
        header = handle.readline().lstrip("#").split()
    data = np.atleast_2d(np.loadtxt(path))
    return {name: data[:, i] for i, name in enumerate(header)}


DATA_DIGEST = "data.sha256"  # in work/: the content of the data its checkpoints learned from


def data_digest(work: Path, payload: dict) -> str:
    """Hash of the training and validation systems' files (paths relative to `work`, as in the
    input): relabelled frames under the same paths make another training."""
    digest = hashlib.sha256()
    for section in ("training_data", "validation_data"):
        for system in (payload["training"].get(section) or {}).get("systems", []):
            digest.update(f"{section}:{system}\n".encode())
            root = work / system
            for path in sorted(root.rglob("*")) if root.is_dir() else []:
                if path.is_file():
                    digest.update(str(path.relative_to(root)).encode())
                    digest.update(path.read_bytes())
    return digest.hexdigest()


def _clear_training(work: Path) -> None:
    for path in work.iterdir():
        if path.name.startswith((CHECKPOINT_PREFIX, "checkpoint", "lcurve.out", "out.json")):
            path.unlink()


def run_training(work: str | Path, payload: dict, backend: str, threads: int, log=None,
                 device: str = "cpu", init_frz_model: str | None = None) -> dict:
    """`dp train input.json` in `work`, restarting from the last checkpoint when there is one.

    `work` is not a Snakemake output, so a killed or failed job leaves its checkpoints for the rerun;
    at most one `save_freq` interval is lost. A checkpoint of a different model (changed network,
    type_map, data paths, or the content of the data files: data_digest) is not resumed:
    training starts from scratch and says so. A fresh start continues from `init_frz_model` (a
    frozen model, path relative to `work`) when given.
    """
    log = log or sys.stdout
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    input_path = work / "input.json"
    steps = payload["training"]["numb_steps"]
    checkpoint = latest_checkpoint(work, backend)
    digest = data_digest(work, payload)
    stamp = work / DATA_DIGEST
    if checkpoint and input_path.exists():
        previous = json.loads(input_path.read_text())
        # The network and its data (paths and content) decide whether a checkpoint can
        # continue; the learning-rate schedule and numb_steps may change (a longer run continues
        # from the checkpoint). Checkpoints without a data stamp are of unknown data.
        if previous["model"] != payload["model"] or \
                previous["training"]["training_data"] != payload["training"]["training_data"] or \
                not stamp.exists() or stamp.read_text().strip() != digest:
            print(f"training: the checkpoint in {work} belongs to another network or other data; "
                  f"starting from scratch", file=log, flush=True)
            _clear_training(work)
            checkpoint = None
    elif checkpoint:
        _clear_training(work)
        checkpoint = None
    write_input(input_path, payload)
    stamp.write_text(digest + "\n")
    done = lcurve_last_step(work / "lcurve.out") if checkpoint else None
    if checkpoint and done is not None and done >= steps:
        print(f"training: already finished ({done} of {steps} steps); not retraining",
              file=log, flush=True)
        return {"restarted_from": checkpoint, "start_step": done, "trained": False}
    # sel is explicit (from the neighbor_stat rule), so dp need not count neighbours again.
    args = ["train", "input.json", "--skip-neighbor-stat"]
    if checkpoint:
        args += ["--restart", checkpoint]
        print(f"training: restarting from checkpoint {checkpoint} (last lcurve step {done}); "
              f"{steps} steps in total", file=log, flush=True)
    else:
        for stale in ("lcurve.out", "out.json"):
            (work / stale).unlink(missing_ok=True)
        if init_frz_model:
            args += ["--init-frz-model", init_frz_model]
        print(f"training: {'from ' + init_frz_model if init_frz_model else 'from scratch'}, {steps} steps (deepmd prints progress with ETA every "
              f"{payload['training']['disp_freq']} steps)", file=log, flush=True)
    dp(args, backend, work, threads, log, device=device)
    return {"restarted_from": checkpoint, "start_step": done or 0, "trained": True}
