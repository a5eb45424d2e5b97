"""DeePMD-kit stage: training data, neighbour statistics, input.json, and the `dp` commands
(neighbor-stat, train with restart, freeze, compress, test), the compression check and the quality gate.

Everything here writes files a user can rerun by hand: `input.json` in the training work directory
is exactly what `dp train` gets, and every `dp` command line is printed to the rule log.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from dpglass.units import quantity, write_json

MODEL_SUFFIX = {"tensorflow": ".pb", "pytorch": ".pth"}
BACKEND_FLAG = {"tensorflow": "--tf", "pytorch": "--pt"}
DESCRIPTORS = ("se_e2_a", "dpa1", "dpa2")
# DeePMD-kit 3.2 implements DPA-2 in the PyTorch (and JAX) backends only.
PYTORCH_ONLY_DESCRIPTORS = ("dpa2",)
# DPA-2's repformer block looks at a shorter range than its repinit block (the DPA-2 paper: 4 of 6 Å).
DPA2_REPFORMER_RCUT_RATIO = 2.0 / 3.0
CHECKPOINT_PREFIX = "model.ckpt"


class TrainingError(RuntimeError):
    """A training-stage check failed (dp exit status, compression accuracy, quality gate)."""


# ---------------------------------------------------------------------------------------- data


def time_block_split(n_frames: int, validation_fraction: float, n_blocks: int = 1,
                     gap: int = 0) -> tuple[list[int], list[int]]:
    """Frame indices for training and validation, validation being contiguous time blocks.

    A random split puts each validation frame between its correlated neighbours in the training set
    and makes the validation error look better than it is. Here validation is `n_blocks` contiguous
    blocks, spread evenly over the trajectory with the last one ending at the last frame (so the
    melt, the quench and the hold are all represented), and `gap` frames on each side of a block are
    left out of both sets as a decorrelation buffer.
    """
    if n_blocks < 1 or gap < 0:
        raise ValueError(f"n_blocks={n_blocks} must be >= 1 and gap={gap} >= 0")
    n_valid = max(n_blocks, int(round(n_frames * validation_fraction)))
    sizes = [n_valid // n_blocks + (1 if b < n_valid % n_blocks else 0) for b in range(n_blocks)]
    stride = n_frames / n_blocks
    valid: list[int] = []
    excluded: set[int] = set()
    for b, size in enumerate(sizes):
        stop = int(round((b + 1) * stride))
        block = range(stop - size, stop)
        valid.extend(block)
        excluded.update(range(max(0, block.start - gap), min(n_frames, block.stop + gap)))
    train = [i for i in range(n_frames) if i not in excluded]
    if not train or len(set(valid)) != len(valid) or min(valid) < 0:
        raise ValueError(f"{n_frames} labelled frames are too few to split (validation_fraction="
                         f"{validation_fraction}, {n_blocks} block(s), gap {gap})")
    return train, valid


def index_ranges(indices: list[int]) -> list[list[int]]:
    """[0, 1, 2, 5, 6] -> [[0, 3], [5, 7]] (half-open ranges, for the split record)."""
    ranges: list[list[int]] = []
    for i in indices:
        if ranges and ranges[-1][1] == i:
            ranges[-1][1] = i + 1
        else:
            ranges.append([i, i + 1])
    return ranges


def read_labelled_frames(frames_path: str | Path, type_map: list[str]):
    """All frames of an extxyz file with energy/forces (and stress) as one dpdata.LabeledSystem."""
    import dpdata
    from ase.io import iread

    system = None
    for atoms in iread(str(frames_path), index=":"):
        unknown = sorted(set(atoms.get_chemical_symbols()) - set(type_map))
        if unknown:
            raise ValueError(f"{frames_path}: species {unknown} are not in type_map {type_map}")
        frame = dpdata.LabeledSystem(atoms, fmt="ase/structure", type_map=type_map)
        if system is None:
            system = frame
        else:
            system.append(frame)
    if system is None:
        raise ValueError(f"{frames_path}: no labelled frames")
    return system


def build_datasets(frames_path: str | Path, type_map: list[str], validation_fraction: float,
                   out_dir: str | Path, validation_blocks: int = 1, gap_frames: int = 0) -> dict:
    """extxyz frames -> deepmd/npy `training` and `validation` systems; writes and returns the split record."""
    out_dir = Path(out_dir)
    system = read_labelled_frames(frames_path, type_map)
    train_idx, valid_idx = time_block_split(len(system), validation_fraction, validation_blocks,
                                            gap_frames)
    for name, idx in (("training", train_idx), ("validation", valid_idx)):
        shutil.rmtree(out_dir / name, ignore_errors=True)
        system.sub_system(idx).to("deepmd/npy", str(out_dir / name))
    split = {
        "method": "contiguous time blocks",
        "frames": len(system),
        "training_frames": index_ranges(train_idx),
        "validation_frames": index_ranges(valid_idx),
        "n_training": len(train_idx),
        "n_validation": len(valid_idx),
        "excluded_gap_frames": len(system) - len(train_idx) - len(valid_idx),
        "validation_blocks": validation_blocks,
        "type_map": type_map,
        "atoms_per_frame": system.get_natoms(),
        "has_virial": "virials" in system.data,
    }
    write_json(out_dir / "split.json", split)
    return split


# --------------------------------------------------------------------- neighbour statistics


def neighbor_stat_runs(train_cfg: dict) -> list[dict]:
    """The `dp neighbor-stat` calls a descriptor needs: one per cutoff; attention descriptors count
    all neighbours together (--mixed-type) because their `sel` is one number."""
    rcut, descriptor = train_cfg["rcut_A"], train_cfg["descriptor"]
    if descriptor == "se_e2_a":
        return [{"block": "descriptor", "rcut": rcut, "mixed_type": False}]
    if descriptor == "dpa1":
        return [{"block": "descriptor", "rcut": rcut, "mixed_type": True}]
    if descriptor == "dpa2":
        return [{"block": "repinit", "rcut": rcut, "mixed_type": True},
                {"block": "repformer", "rcut": round(rcut * DPA2_REPFORMER_RCUT_RATIO, 3),
                 "mixed_type": True}]
    raise ValueError(f"config key 'train.descriptor': unknown descriptor {descriptor!r} "
                     f"(known: {', '.join(DESCRIPTORS)})")


_MAX_NBOR = re.compile(r"max_nbor_size:\s*\[([0-9\s]+)\]")
_MIN_DIST = re.compile(r"min_nbor_dist:\s*([0-9.eE+-]+)")


def parse_neighbor_stat(text: str) -> tuple[float, list[int]]:
    """(min_nbor_dist in Å, max_nbor_size per type) from the output of `dp neighbor-stat`."""
    sizes, dists = _MAX_NBOR.findall(text), _MIN_DIST.findall(text)
    if not sizes or not dists:
        raise ValueError("`dp neighbor-stat` output has no max_nbor_size/min_nbor_dist lines")
    return float(dists[-1]), [int(n) for n in sizes[-1].split()]


def sel_from_counts(max_nbor: list[int], safety_factor: float) -> list[int]:
    """sel = max neighbours x safety factor, rounded up (at least 1: DeePMD needs a slot per type)."""
    return [max(1, math.ceil(n * safety_factor - 1e-9)) for n in max_nbor]


def neighbor_stat(data_dirs: list[str], type_map: list[str], train_cfg: dict, backend: str,
                  threads: int, out_json: str | Path, log=None) -> dict:
    """Run `dp neighbor-stat` on every data directory at every cutoff the descriptor needs; record
    the per-type maxima, the safety factor and the resulting `sel` in `out_json`."""
    log = log or sys.stdout
    work = Path(out_json).parent
    work.mkdir(parents=True, exist_ok=True)
    factor = train_cfg["sel_safety_factor"]
    blocks = {}
    for run in neighbor_stat_runs(train_cfg):
        min_dist, max_nbor = math.inf, None
        for data in data_dirs:
            args = ["neighbor-stat", "-s", os.path.relpath(data, work), "-r", f"{run['rcut']:g}",
                    "-t", *type_map] + (["--mixed-type"] if run["mixed_type"] else [])
            text = dp(args, backend, work, threads, log, capture=True)
            dist, counts = parse_neighbor_stat(text)
            min_dist = min(min_dist, dist)
            max_nbor = counts if max_nbor is None else [max(a, b) for a, b in zip(max_nbor, counts)]
        sel = sel_from_counts(max_nbor, factor)
        blocks[run["block"]] = {"rcut_A": run["rcut"], "mixed_type": run["mixed_type"],
                                "max_nbor_size": max_nbor, "min_nbor_dist_A": min_dist,
                                "sel": sel[0] if run["mixed_type"] else sel}
        print(f"neighbor-stat {run['block']} (rcut {run['rcut']:g} Å): max neighbours {max_nbor} "
              f"x {factor} -> sel {blocks[run['block']]['sel']}; closest pair {min_dist:.3f} Å",
              file=log, flush=True)
    record = {"descriptor": train_cfg["descriptor"], "type_map": type_map, "safety_factor": factor,
              "data": [str(d) for d in data_dirs], "blocks": blocks}
    write_json(out_json, record)
    return record


# ---------------------------------------------------------------------------------- input.json


def descriptor_section(train_cfg: dict, stats: dict, seed: int) -> dict:
    """Descriptor settings: se_e2_a (default), DPA-1 or DPA-2, sized from config and neighbour stats.

    Compression needs resnet_dt false in the embedding nets; DPA-1 without attention layers and with
    the "strip" type-embedding mode is the DPA-1 variant DeePMD-kit can compress on both backends.
    """
    descriptor = train_cfg["descriptor"]
    if stats.get("descriptor") not in (None, descriptor):
        raise ValueError(f"neighbour statistics were made for {stats['descriptor']!r}, "
                         f"not for config key 'train.descriptor' = {descriptor!r}")
    rcut, rcut_smth = train_cfg["rcut_A"], train_cfg["rcut_smth_A"]
    neurons, axis = train_cfg["descriptor_neurons"], train_cfg["axis_neuron"]
    blocks = stats["blocks"]
    if descriptor == "se_e2_a":
        return {"type": "se_e2_a", "sel": blocks["descriptor"]["sel"], "rcut": rcut,
                "rcut_smth": rcut_smth, "neuron": neurons, "axis_neuron": axis,
                "resnet_dt": False, "type_one_side": train_cfg["type_one_side"], "seed": seed}
    if descriptor == "dpa1":
        return {"type": "dpa1", "sel": blocks["descriptor"]["sel"], "rcut": rcut,
                "rcut_smth": rcut_smth, "neuron": neurons, "axis_neuron": axis, "tebd_dim": 8,
                "tebd_input_mode": "strip", "attn": 64, "attn_layer": 0, "attn_dotr": True,
                "resnet_dt": False, "type_one_side": True, "seed": seed}
    if descriptor == "dpa2":
        rep_rcut = blocks["repformer"]["rcut_A"]
        return {
            "type": "dpa2",
            "repinit": {"rcut": rcut, "rcut_smth": rcut_smth, "nsel": blocks["repinit"]["sel"],
                        "neuron": neurons, "axis_neuron": axis, "tebd_dim": 8,
                        "tebd_input_mode": "strip", "activation_function": "tanh"},
            "repformer": {"rcut": rep_rcut, "rcut_smth": round(rep_rcut * rcut_smth / rcut, 3),
                          "nsel": blocks["repformer"]["sel"], "nlayers": 3, "g1_dim": 64,
                          "g2_dim": 16, "attn2_hidden": 16, "attn2_nhead": 2, "attn1_hidden": 64,
                          "attn1_nhead": 2, "axis_neuron": 4, "update_h2": False,
                          "update_g1_has_conv": True, "update_g1_has_grrg": True,
                          "update_g1_has_drrd": True, "update_g1_has_attn": False,
                          "update_g2_has_g1g1": False, "update_g2_has_attn": True,
                          "attn2_has_gate": True, "activation_function": "tanh"},
            "add_tebd_to_repinit_out": False,
            "seed": seed,
        }
    raise ValueError(f"config key 'train.descriptor': unknown descriptor {descriptor!r}")


def make_input(train_cfg: dict, type_map: list[str], stats: dict, seed: int,
               training_dirs: list[str], validation_dirs: list[str]) -> dict:
    """The DeePMD-kit input.json for one ensemble member (members differ by `seed` only)."""
    steps = train_cfg["numb_steps"]
    return {
        "model": {
            "type_map": type_map,
            "descriptor": descriptor_section(train_cfg, stats, seed),
            "fitting_net": {"neuron": train_cfg["fitting_neurons"], "resnet_dt": True,
                            "seed": seed},
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
            "training_data": {"systems": list(training_dirs), "batch_size": train_cfg["batch_size"]},
            "validation_data": {"systems": list(validation_dirs), "batch_size": 1,
                                "numb_btch": 1},
            "numb_steps": steps,
            "seed": seed,
            "disp_file": "lcurve.out",
            "disp_freq": min(train_cfg["disp_freq"], steps),
            "save_freq": min(train_cfg["save_freq"], steps),
            "save_ckpt": CHECKPOINT_PREFIX,
        },
    }


def write_input(path: str | Path, payload: dict) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(payload, indent=2) + "\n")


# ----------------------------------------------------------------------------------- running dp


def thread_env(threads: int, device: str = "cpu", base: dict | None = None) -> dict[str, str]:
    """Environment for a `dp` process: TF/torch/OpenMP use the rule's threads and no more.

    GPU selection is left as the scheduler set it (CUDA_VISIBLE_DEVICES from SLURM is kept); on the
    CPU profile the PyTorch backend is told to stay on the CPU (DEVICE=cpu) even if a GPU is visible.
    """
    env = dict(os.environ if base is None else base)
    env.update(OMP_NUM_THREADS=str(threads), DP_INTRA_OP_PARALLELISM_THREADS=str(threads),
               DP_INTER_OP_PARALLELISM_THREADS="1", TF_CPP_MIN_LOG_LEVEL="2")
    if device == "cpu":
        env["DEVICE"] = "cpu"
    else:
        env.pop("DEVICE", None)
    return env


def dp_command(args: list[str], backend: str) -> list[str]:
    """`dp --tf|--pt ARGS` with the `dp` of this Python environment."""
    exe = os.environ.get("DPGLASS_DP") or str(Path(sys.executable).with_name("dp"))
    return [exe, BACKEND_FLAG[backend], *args]


def dp(args: list[str], backend: str, cwd: str | Path, threads: int, log=None,
       capture: bool = False, device: str = "cpu") -> str:
    """Run one `dp` subcommand; output goes to `log` (and is returned when `capture`). Raises on failure."""
    log = log or sys.stdout
    command = dp_command(args, backend)
    print("$ (cd " + str(cwd) + " && " + " ".join(command) + ")", file=log, flush=True)
    env = thread_env(threads, device)
    if capture:
        result = subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        log.write(result.stdout)
        log.flush()
    else:
        result = subprocess.run(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        raise TrainingError(f"`dp {BACKEND_FLAG[backend]} {' '.join(args)}` failed with exit code "
                            f"{result.returncode} (see the log above)")
    return result.stdout if capture else ""


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


def _clear_training(work: Path) -> None:
    for path in work.iterdir():
        if path.name.startswith((CHECKPOINT_PREFIX, "checkpoint", "lcurve.out", "out.json")):
            path.unlink()


def run_training(work: str | Path, payload: dict, backend: str, threads: int, log=None,
                 device: str = "cpu") -> dict:
    """`dp train input.json` in `work`, restarting from the last checkpoint when there is one.

    `work` is not a Snakemake output, so a killed or failed job leaves its checkpoints for the rerun;
    at most one `save_freq` interval is lost. A checkpoint of a different model (changed network,
    type_map or data) is not resumed: training starts from scratch and says so.
    """
    log = log or sys.stdout
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    input_path = work / "input.json"
    steps = payload["training"]["numb_steps"]
    checkpoint = latest_checkpoint(work, backend)
    if checkpoint and input_path.exists():
        previous = json.loads(input_path.read_text())
        # The network and its data decide whether a checkpoint can continue; the learning-rate
        # schedule and numb_steps may change (a longer run continues from the checkpoint).
        if previous["model"] != payload["model"] or \
                previous["training"]["training_data"] != payload["training"]["training_data"]:
            print(f"training: the checkpoint in {work} belongs to a different input.json; "
                  f"starting from scratch", file=log, flush=True)
            _clear_training(work)
            checkpoint = None
    elif checkpoint:
        _clear_training(work)
        checkpoint = None
    write_input(input_path, payload)
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
        print(f"training: from scratch, {steps} steps (deepmd prints progress with ETA every "
              f"{payload['training']['disp_freq']} steps)", file=log, flush=True)
    dp(args, backend, work, threads, log, device=device)
    return {"restarted_from": checkpoint, "start_step": done or 0, "trained": True}


# ----------------------------------------------------------------------- compression check


def load_systems(dirs: list[str]):
    """deepmd/npy systems (each dir may hold several) as dpdata.LabeledSystem objects."""
    import dpdata

    systems = []
    for root in dirs:
        for type_raw in sorted(Path(root).rglob("type.raw")):
            systems.append(dpdata.LabeledSystem(str(type_raw.parent), fmt="deepmd/npy"))
    if not systems:
        raise ValueError(f"no deepmd/npy systems under {dirs}")
    return systems


def predict(model, system) -> tuple[np.ndarray, np.ndarray]:
    """Energies (nframes,) and forces (nframes, natoms, 3) of a DeepPot on a dpdata system."""
    model_types = model.get_type_map()
    names = system["atom_names"]
    try:
        atype = np.array([model_types.index(names[t]) for t in system["atom_types"]])
    except ValueError as err:
        raise ValueError(f"species of the data {names} not in the model's type_map "
                         f"{model_types}") from err
    nframes = len(system)
    coords = system["coords"].reshape(nframes, -1)
    cells = system["cells"].reshape(nframes, -1)
    energy, force, _ = model.eval(coords, cells, atype)
    return np.asarray(energy).reshape(nframes), np.asarray(force).reshape(nframes, -1, 3)


def compare_models(model_a: str, model_b: str, systems_dirs: list[str]) -> dict:
    """Max |ΔF| (meV/Å) and max |ΔE|/atom (meV/atom) between two models on the given frames."""
    from deepmd.infer import DeepPot

    a, b = DeepPot(str(model_a)), DeepPot(str(model_b))
    max_df, max_de, frames = 0.0, 0.0, 0
    for system in load_systems(systems_dirs):
        ea, fa = predict(a, system)
        eb, fb = predict(b, system)
        max_df = max(max_df, float(np.abs(fa - fb).max()) * 1000.0)
        max_de = max(max_de, float(np.abs(ea - eb).max()) / system.get_natoms() * 1000.0)
        frames += len(system)
    return {"frames": frames,
            "max_force_deviation": quantity(max_df, unit="meV/Å"),
            "max_energy_deviation": quantity(max_de, unit="meV/atom")}


def check_compression(deviation: dict, tolerance_meV_per_A: float) -> None:
    measured = deviation["max_force_deviation"]["value"]
    if not measured <= tolerance_meV_per_A:
        raise TrainingError(
            f"compressed and uncompressed models disagree: max force deviation {measured:.4g} "
            f"meV/Å on {deviation['frames']} validation frames exceeds config key "
            f"'train.compress_tolerance_meV_per_A' = {tolerance_meV_per_A:g} meV/Å")


# --------------------------------------------------------------------------------- dp test


_RMSE = re.compile(r"(Energy|Force|Virial)\s+RMSE(/Natoms)?\s*:\s*([0-9.eE+-]+|nan)\s*(\S+)")


def parse_dp_test(text: str) -> dict:
    """Energy RMSE/atom (meV/atom), force RMSE (meV/Å), virial RMSE/atom (meV/atom) from `dp test`.

    With several systems dp test ends with their weighted average, which is the last match.
    """
    found: dict[str, float] = {}
    for kind, per_atom, value, _unit in _RMSE.findall(text):
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


def quality_gate(metrics: dict, max_energy_meV_per_atom: float | None,
                 max_force_meV_per_A: float | None) -> None:
    """Raise TrainingError naming the measured RMSE and the config threshold it exceeds."""
    failures = []
    for key, limit, config_key in (
            ("energy_rmse", max_energy_meV_per_atom, "train.max_energy_rmse_meV_per_atom"),
            ("force_rmse", max_force_meV_per_A, "train.max_force_rmse_meV_per_A")):
        value = metrics[key]["value"]
        if limit is not None and not value <= limit:
            failures.append(f"{key.replace('_', ' ')} {value:.4g} {metrics[key]['unit']} exceeds "
                            f"config key '{config_key}' = {limit:g}")
    if failures:
        raise TrainingError("model quality gate failed on the validation frames: "
                            + "; ".join(failures))


def read_detail(path: str | Path) -> np.ndarray:
    """A `dp test -d` detail file (data columns, then prediction columns), all systems stacked."""
    return np.atleast_2d(np.loadtxt(path, comments="#"))


def plot_parity(detail_prefix: str | Path, energy_png: str | Path, force_png: str | Path,
                title: str = "") -> None:
    """Parity plots from `dp test -d PREFIX`: energy per atom and force components, with RMSE."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    energy = read_detail(f"{detail_prefix}.e_peratom.out")
    force = read_detail(f"{detail_prefix}.f.out")
    panels = [(energy[:, 0], energy[:, 1], "energy (eV/atom)", "meV/atom", energy_png),
              (force[:, :3].ravel(), force[:, 3:6].ravel(), "force component (eV/Å)", "meV/Å",
               force_png)]
    for reference, predicted, label, unit, png in panels:
        rmse = float(np.sqrt(np.mean((predicted - reference) ** 2))) * 1000.0
        fig, ax = plt.subplots(figsize=(4.5, 4.5))
        ax.plot(reference, predicted, ".", ms=3, alpha=0.6)
        low, high = float(min(reference.min(), predicted.min())), float(max(reference.max(),
                                                                          predicted.max()))
        ax.plot([low, high], [low, high], "k--", lw=0.8)
        ax.set_xlabel(f"reference {label}")
        ax.set_ylabel(f"DeePMD {label}")
        ax.set_title(f"{title} RMSE {rmse:.3g} {unit}".strip())
        fig.tight_layout()
        fig.savefig(png, dpi=120)
        plt.close(fig)


def read_lcurve(path: str | Path) -> dict[str, np.ndarray]:
    with open(path) as handle:
        header = handle.readline().lstrip("#").split()
    data = np.atleast_2d(np.loadtxt(path))
    return {name: data[:, i] for i, name in enumerate(header)}


def plot_lcurve(path: str | Path, png: str | Path, title: str = "") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curve = read_lcurve(path)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for ax, kind, unit in ((axes[0], "e", "eV/atom"), (axes[1], "f", "eV/Å")):
        for split in ("trn", "val"):
            name = f"rmse_{kind}_{split}"
            if name in curve:
                ax.semilogy(curve["step"], curve[name], label=split)
        ax.set_xlabel("training step")
        ax.set_ylabel(f"RMSE {'energy' if kind == 'e' else 'force'} ({unit})")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(frameon=False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    plt.close(fig)


def model_file(directory: str | Path, stem: str, backend: str) -> Path:
    return Path(directory) / f"{stem}{MODEL_SUFFIX[backend]}"
