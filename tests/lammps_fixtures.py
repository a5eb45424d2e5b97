"""A tiny DeePMD ensemble for the LAMMPS tests, built from scratch (no workflow results needed).

Frames: labelled_frames.rattled_frames (a rattled 32-atom fcc Li/Cl cell, Lennard-Jones labels),
two models trained 150 steps with different seeds.
"""

from __future__ import annotations

from pathlib import Path

from labelled_frames import fcc_li_cl, rattled_frames

TYPE_MAP = ["Li", "Cl"]


def build_tiny_ensemble(work: Path, n_models: int = 2, steps: int = 150) -> dict:
    """Train, freeze; returns {'models': [...], 'data': data.lmp, 'type_map': [...]}."""

    from ase.io import write

    from dpglass.config import validate_config
    from dpglass.lammps.data import write_data_file
    from dpglass.training.data import build_datasets
    from dpglass.training.dp import dp
    from dpglass.training.inputs import make_input, write_input
    from dpglass.training.neighbors import neighbor_stat

    work.mkdir(parents=True, exist_ok=True)
    write(work / "frames.extxyz", rattled_frames(30), format="extxyz")
    build_datasets(work / "frames.extxyz", TYPE_MAP, 0.2, work / "data")
    # the workflow's own train settings (schema defaults), shrunk to a few seconds of training
    train = validate_config({"compositions": {"X": {"formula": "LiAlCl4"}}})["train"]
    train.update({"descriptor": "se_e2_a", "rcut_A": 4.5, "rcut_smth_A": 0.5,
                  "descriptor_neurons": [4, 8], "axis_neuron": 4, "fitting_neurons": [8, 8],
                  "numb_steps": steps, "start_lr": 0.003, "stop_lr": 1e-4, "batch_size": 1,
                  "disp_freq": steps, "save_freq": steps})
    models = []
    log = open(work / "train.log", "w")
    data_dirs = [str(work / "data" / "training"), str(work / "data" / "validation")]
    stats = neighbor_stat(data_dirs, TYPE_MAP, train, "tensorflow", 1, work / "neighbor_stat.json", log)
    for i in range(n_models):
        model_dir = work / f"model_{i}"
        model_dir.mkdir(exist_ok=True)
        write_input(model_dir / "input.json",
                    make_input(train, TYPE_MAP, stats, 11 + i, ["../data/training"],
                               ["../data/validation"]))
        dp(["train", "input.json"], "tensorflow", model_dir, 1, log)
        dp(["freeze", "-o", "frozen.pb"], "tensorflow", model_dir, 1, log)
        models.append(str(model_dir / "frozen.pb"))
    log.close()
    data = work / "data.lmp"
    write_data_file(fcc_li_cl(), data, TYPE_MAP)
    return {"models": models, "data": str(data), "type_map": list(TYPE_MAP)}
