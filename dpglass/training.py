"""DeePMD-kit training data, input.json, and the `dp` commands (train, freeze, compress, test)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

from dpglass.units import quantity, write_json

MODEL_SUFFIX = {"tensorflow": ".pb", "pytorch": ".pth"}
BACKEND_FLAG = {"tensorflow": "--tf", "pytorch": "--pt"}


def time_block_split(n_frames: int, validation_fraction: float) -> tuple[list[int], list[int]]:
    """Training = the earlier frames, validation = the last contiguous block.

    A random split would put each validation frame next to its correlated neighbours in the
    training set and make the validation error look better than it is.
    """
    n_valid = max(1, int(round(n_frames * validation_fraction)))
    if n_frames - n_valid < 1:
        raise ValueError(f"{n_frames} labelled frames are too few to split "
                         f"(validation_fraction={validation_fraction})")
    cut = n_frames - n_valid
    return list(range(cut)), list(range(cut, n_frames))


def build_datasets(frames_path: str | Path, type_map: list[str], validation_fraction: float,
                   out_dir: str | Path) -> dict:
    """extxyz frames -> deepmd/npy training and validation systems via dpdata; returns the split record."""
    import dpdata
    from ase.io import iread

    out_dir = Path(out_dir)
    system = None
    for atoms in iread(str(frames_path), index=":"):
        frame = dpdata.LabeledSystem(atoms, fmt="ase/structure", type_map=type_map)
        if system is None:
            system = frame
        else:
            system.append(frame)
    if system is None:
        raise ValueError(f"{frames_path}: no labelled frames")
    train_idx, valid_idx = time_block_split(len(system), validation_fraction)
    system.sub_system(train_idx).to("deepmd/npy", str(out_dir / "training"))
    system.sub_system(valid_idx).to("deepmd/npy", str(out_dir / "validation"))
    split = {"frames": len(system), "training_frames": [train_idx[0], train_idx[-1]],
             "validation_frames": [valid_idx[0], valid_idx[-1]], "method": "contiguous time blocks",
             "type_map": type_map, "atoms_per_frame": system.get_natoms()}
    write_json(out_dir / "split.json", split)
    return split


def make_input(train_cfg: dict, type_map: list[str], seed: int, training_dir: str,
               validation_dir: str) -> dict:
    """The DeePMD-kit input.json for one ensemble member."""
    steps = train_cfg["numb_steps"]
    return {
        "model": {
            "type_map": type_map,
            "descriptor": {
                "type": train_cfg["descriptor"],
                "sel": "auto",  # dp neighbor-stat on the training data, with 10 % headroom
                "rcut": train_cfg["rcut_A"],
                "rcut_smth": train_cfg["rcut_smth_A"],
                "neuron": train_cfg["descriptor_neurons"],
                "axis_neuron": train_cfg["axis_neuron"],
                "resnet_dt": False,
                "seed": seed,
            },
            "fitting_net": {"neuron": train_cfg["fitting_neurons"], "resnet_dt": True, "seed": seed},
        },
        "learning_rate": {
            "type": "exp",
            "decay_steps": max(1, min(5000, steps // 20)),
            "start_lr": train_cfg["start_lr"],
            "stop_lr": train_cfg["stop_lr"],
        },
        "loss": {
            "type": "ener",
            "start_pref_e": 0.02, "limit_pref_e": 1.0,
            "start_pref_f": 1000.0, "limit_pref_f": 1.0,
            "start_pref_v": 0.02, "limit_pref_v": 1.0,
        },
        "training": {
            "training_data": {"systems": [training_dir], "batch_size": train_cfg["batch_size"]},
            "validation_data": {"systems": [validation_dir], "batch_size": 1, "numb_btch": 1},
            "numb_steps": steps,
            "seed": seed,
            "disp_file": "lcurve.out",
            "disp_freq": min(train_cfg["disp_freq"], steps),
            "save_freq": min(train_cfg["save_freq"], steps),
            "save_ckpt": "model.ckpt",
        },
    }


def thread_env(threads: int) -> dict[str, str]:
    """Environment that makes TF/torch use the rule's threads and no more."""
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS=str(threads), DP_INTRA_OP_PARALLELISM_THREADS=str(threads),
               DP_INTER_OP_PARALLELISM_THREADS="1", TF_CPP_MIN_LOG_LEVEL="2")
    return env


def dp(args: list[str], backend: str, cwd: str | Path, threads: int, log) -> None:
    """Run one `dp` subcommand; its output goes to the rule's log. Raises on failure."""
    exe = Path(sys.executable).with_name("dp")
    command = [str(exe), BACKEND_FLAG[backend], *args]
    print("$ " + " ".join(command), file=log, flush=True)
    result = subprocess.run(command, cwd=cwd, env=thread_env(threads), stdout=log,
                            stderr=subprocess.STDOUT)
    if result.returncode != 0:
        raise RuntimeError(f"`dp {' '.join(args)}` failed with exit code {result.returncode} "
                           f"(see the log above)")


_RMSE = re.compile(r"(Energy|Force|Virial)\s+RMSE(/Natoms)?\s*:\s*([0-9.eE+-]+)\s*(\S+)")


def parse_dp_test(text: str) -> dict:
    """Energy RMSE/atom (meV/atom), force RMSE (meV/Å), virial RMSE/atom (meV/atom) from `dp test` output."""
    found: dict[str, float] = {}
    for kind, per_atom, value, unit in _RMSE.findall(text):
        key = kind.lower() + ("_per_atom" if per_atom else "")
        found[key] = float(value) * 1000.0  # eV -> meV
    missing = {"energy_per_atom", "force"} - set(found)
    if missing:
        raise ValueError(f"dp test output lacks {', '.join(sorted(missing))} RMSE")
    return {
        "energy_rmse": quantity(found["energy_per_atom"], unit="meV/atom"),
        "force_rmse": quantity(found["force"], unit="meV/Å"),
        **({"virial_rmse": quantity(found["virial_per_atom"], unit="meV/atom")}
           if "virial_per_atom" in found else {}),
    }


def read_lcurve(path: str | Path) -> dict[str, np.ndarray]:
    with open(path) as handle:
        header = handle.readline().lstrip("#").split()
    data = np.atleast_2d(np.loadtxt(path))
    return {name: data[:, i] for i, name in enumerate(header)}


def plot_lcurve(path: str | Path, png: str | Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curve = read_lcurve(path)
    fig, ax = plt.subplots(figsize=(6, 4))
    for name in ("rmse_e_trn", "rmse_e_val", "rmse_f_trn", "rmse_f_val"):
        if name in curve:
            ax.semilogy(curve["step"], curve[name], label=name)
    ax.set_xlabel("training step")
    ax.set_ylabel("RMSE (eV/atom for e, eV/Å for f)")
    ax.legend(frameon=False)
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    plt.close(fig)


def model_file(directory: str | Path, stem: str, backend: str) -> Path:
    return Path(directory) / f"{stem}{MODEL_SUFFIX[backend]}"


def write_input(path: str | Path, payload: dict) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(payload, indent=2) + "\n")
