"""A tiny DeePMD ensemble for the LAMMPS tests, built from scratch (no workflow results needed).

Frames: a rattled 32-atom fcc Li/Cl cell labelled with ASE's Lennard-Jones calculator (smooth and
stable at room temperature), two models trained 150 steps with different seeds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

TYPE_MAP = ["Li", "Cl"]


def lj_cell(seed: int = 0):
    from ase.build import bulk

    atoms = bulk("Ar", "fcc", a=3.97, cubic=True).repeat((2, 2, 2))
    rng = np.random.default_rng(seed)
    symbols = np.array(["Li"] * 16 + ["Cl"] * 16)
    rng.shuffle(symbols)
    atoms.set_chemical_symbols(list(symbols))
    return atoms


def lj_frames(n: int, seed: int = 1):
    from ase.calculators.lj import LennardJones
    from ase.calculators.singlepoint import SinglePointCalculator

    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n):
        atoms = lj_cell()
        atoms.rattle(stdev=0.03 + 0.12 * i / n, seed=int(rng.integers(1 << 30)))
        atoms.set_cell(atoms.cell * (1 + rng.normal(0, 0.01)), scale_atoms=True)
        atoms.calc = LennardJones(epsilon=0.1, sigma=2.5, rc=6.0, smooth=True)
        energy, forces = atoms.get_potential_energy(), atoms.get_forces()
        stress = atoms.get_stress()
        atoms.calc = SinglePointCalculator(atoms, energy=energy, forces=forces, stress=stress)
        frames.append(atoms)
    return frames


def build_tiny_ensemble(work: Path, n_models: int = 2, steps: int = 150) -> dict:
    """Train, freeze; returns {'models': [...], 'data': data.lmp, 'type_map': [...]}."""

    from ase.io import write

    from dpglass.config import validate_config
    from dpglass.lammps_md import write_data_file
    from dpglass.training import build_datasets, dp, make_input, neighbor_stat, write_input

    work.mkdir(parents=True, exist_ok=True)
    write(work / "frames.extxyz", lj_frames(30), format="extxyz")
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
    write_data_file(lj_cell(), data, TYPE_MAP)
    return {"models": models, "data": str(data), "type_map": list(TYPE_MAP)}
