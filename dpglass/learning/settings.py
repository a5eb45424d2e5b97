"""The learning.* settings: defaults resolved from the sweep, cross-key checks, exploration runs.

Imported while Snakemake parses the workflow: light (no ASE, TF, LAMMPS).
"""

from __future__ import annotations

# Sweep keys read here, in one place (issue 16 renames some of them).
SWEEP_TRUST = "trust_level_eV_per_A"
SWEEP_SUPERCELL = "replicate"


class LearningConfigError(ValueError):
    """A learning.* value the loop cannot run with; the message names the key."""


def enabled(config: dict) -> bool:
    return config.get("learning", {}).get("max_iterations", 0) > 0


def trust_levels(config: dict) -> list[float]:
    levels = config["learning"]["trust_levels_eV_per_A"]
    return list(levels if levels is not None else config["sweep"][SWEEP_TRUST])


def explore_temperatures(config: dict, sweep_temperatures: list[float]) -> list[float]:
    """The sweep's temperatures (or learning.temperatures_K) plus learning.extra_temperatures_K."""
    base = config["learning"]["temperatures_K"]
    base = sweep_temperatures if base is None else base
    return sorted({float(t) for t in list(base) + list(config["learning"]["extra_temperatures_K"])})


def check(config: dict, sweep_temperatures: list[float]) -> None:
    """Cross-key constraints of learning.*, before anything runs."""
    learning = config["learning"]
    if learning["trust_levels_eV_per_A"] is not None:
        low, high = learning["trust_levels_eV_per_A"]
        if not high > low:
            raise LearningConfigError(f"config key 'learning.trust_levels_eV_per_A': "
                                      f"[{low}, {high}] must be increasing [low, high]")
    for key in ("accurate_fraction", "shorten_above_fraction"):
        value = learning[key]
        if not 0.0 <= value <= 1.0:
            raise LearningConfigError(f"config key 'learning.{key}': {value} is outside 0–1")
    if learning["max_frames_per_iteration"] < 1:
        raise LearningConfigError(f"config key 'learning.max_frames_per_iteration': "
                                  f"{learning['max_frames_per_iteration']} — the loop must "
                                  f"label at least one frame per iteration")
    if learning["temperatures_K"] is not None and not learning["temperatures_K"] \
            and not learning["extra_temperatures_K"]:
        raise LearningConfigError("config key 'learning.temperatures_K': empty, and "
                                  "learning.extra_temperatures_K is empty too: no exploration "
                                  "temperature")
    if not explore_temperatures(config, sweep_temperatures):
        raise LearningConfigError("config key 'learning.temperatures_K': no exploration "
                                  "temperature")
    low, high = trust_levels(config)
    if enabled(config) and not high > low:
        raise LearningConfigError(f"config key 'sweep.trust_level_eV_per_A' (the loop's trust "
                                  f"levels): [{low}, {high}] must be increasing")


def explore_sweep(sweep: dict, learning: dict, iteration: int, explore_ps: float,
                  trust: list[float]) -> dict:
    """The sweep settings of one exploration run: NVT only, no equilibration stage, the
    unreplicated quenched cell, one frame (dump and model deviation) every
    learning.explore_dump_every_steps, a velocity seed per iteration."""
    every = learning["explore_dump_every_steps"]
    out = dict(sweep)
    out.update({
        "equilibration_ps": 0.0,
        "npt_equilibration_ps": 0.0,
        "production_ps": explore_ps,
        "chunk_ps": 0,
        "dump_every_steps": every,
        "thermo_every_steps": every,
        "deviation_every_steps": every,
        "target_atoms": None,
        SWEEP_SUPERCELL: [1, 1, 1],
        "seed": sweep["seed"] + 7919 * iteration,
        SWEEP_TRUST: list(trust),
        "max_extrapolating_fraction": learning["shorten_above_fraction"],
    })
    return out


# The learning.* keys each rule's outputs depend on (rules get only these as params).
RULE_KEYS = {
    "explore": ("explore_ps", "explore_dump_every_steps", "shorten_above_fraction"),
    "convergence": ("explore_ps", "accurate_fraction", "shorten_above_fraction",
                    "require_stable_D"),
    "select": ("max_frames_per_iteration", "min_frame_separation_dumps"),
    "retrain": ("numb_steps", "start_lr", "retrain"),
}


def rule_settings(config: dict, rule: str) -> dict:
    return {key: config["learning"][key] for key in RULE_KEYS[rule]}
