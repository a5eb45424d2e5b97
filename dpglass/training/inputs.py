"""The DeePMD-kit input.json of an ensemble member: descriptor, fitting net, schedule and loss."""

from __future__ import annotations

import json
from pathlib import Path

DESCRIPTORS = ("se_e2_a", "dpa1", "dpa2")
# DeePMD-kit 3.2 implements DPA-2 in the PyTorch (and JAX) backends only.
PYTORCH_ONLY_DESCRIPTORS = ("dpa2",)
# DPA-2's repformer block looks at a shorter range than its repinit block (the DPA-2 paper: 4 of 6 Å).
DPA2_REPFORMER_RCUT_RATIO = 2.0 / 3.0
CHECKPOINT_PREFIX = "model.ckpt"


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


# Loss prefactors at the start of a training from scratch (DeePMD-kit's examples): forces first,
# energy and virial weighted up as the learning rate decays; every training ends at 1, 1, 1.
SCRATCH_START_PREFS = {"e": 0.02, "f": 1000.0, "v": 0.02}


def old_new_probability(n_old: int, n_new: int, old_ratio: float) -> str:
    """DeePMD-kit's `auto_prob` for systems [old..., new...]: a fraction `old_ratio` of the
    batches from the old systems, the rest from the new ones, each group by system size
    (dpgen2's init-model recipe)."""
    if n_old < 1 or n_new < 1:
        raise ValueError(f"old/new data ratio needs both groups: {n_old} old, {n_new} new systems")
    total = n_old + n_new
    return f"prob_sys_size; 0:{n_old}:{old_ratio:g}; {n_old}:{total}:{1.0 - old_ratio:g}"


def make_input(train_cfg: dict, type_map: list[str], stats: dict, seed: int,
               training_dirs: list[str], validation_dirs: list[str],
               start_prefs: dict | None = None, auto_prob: str | None = None) -> dict:
    """The DeePMD-kit input.json for one ensemble member (members differ by `seed` only).

    start_prefs: loss prefactors {e, f, v} at the first step (default SCRATCH_START_PREFS);
    auto_prob: how batches are drawn from the training systems (default: by system size)."""
    steps = train_cfg["numb_steps"]
    prefs = start_prefs or SCRATCH_START_PREFS
    training_data = {"systems": list(training_dirs), "batch_size": train_cfg["batch_size"]}
    if auto_prob is not None:
        training_data["auto_prob"] = auto_prob
    descriptor = descriptor_section(train_cfg, stats, seed)
    fitting = {"neuron": train_cfg["fitting_neurons"], "resnet_dt": True, "seed": seed}
    precision = train_cfg.get("precision", "float64")
    if precision != "float64":  # DeePMD-kit's default; an input.json without the key stays as it was
        descriptor["precision"] = fitting["precision"] = precision
    return {
        "model": {"type_map": type_map, "descriptor": descriptor, "fitting_net": fitting},
        "learning_rate": {
            "type": "exp",
            "decay_steps": max(1, min(5000, steps // 20)),
            "start_lr": train_cfg["start_lr"],
            "stop_lr": train_cfg["stop_lr"],
        },
        "loss": {
            "type": "ener",
            "start_pref_e": prefs["e"], "limit_pref_e": train_cfg.get("limit_pref_e", 1.0),
            "start_pref_f": prefs["f"], "limit_pref_f": 1.0,
            "start_pref_v": prefs["v"], "limit_pref_v": 1.0,
        },
        "training": {
            "training_data": training_data,
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
