"""The learning.* settings: defaults resolved from the sweep, cross-key checks, exploration runs.

Imported while Snakemake parses the workflow: light (no ASE, TF, LAMMPS).
"""

from __future__ import annotations

# Sweep and melt_quench keys read here, in one place (issue 16 renames some of them).
SWEEP_SUPERCELL = "supercell"
MQ_FINAL_T = "final_temperature_K"  # melt_quench key read here and by the certificate


class LearningConfigError(ValueError):
    """A learning.* value the loop cannot run with; the message names the key."""


def enabled(config: dict) -> bool:
    return config.get("learning", {}).get("max_iterations", 0) > 0


def trust_levels(config: dict) -> list[float]:
    return list(config["learning"]["trust_levels_eV_per_A"])


def explore_temperatures(config: dict, sweep_temperatures: list[float]) -> list[float]:
    """The sweep's temperatures (or learning.temperatures_K) plus learning.extra_temperatures_K."""
    base = config["learning"]["temperatures_K"]
    base = sweep_temperatures if base is None else base
    return sorted({float(t) for t in list(base) + list(config["learning"]["extra_temperatures_K"])})


def check(config: dict, sweep_temperatures: list[float]) -> None:
    """Cross-key constraints of learning.*, before anything runs."""
    learning = config["learning"]
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


# The sweep.* keys an exploration or certificate run depends on: its thermostat, seed and halt
# test. Length, frame interval, cell and ensemble are the loop's own (fixed-length NVT runs: never
# adaptive, whatever sweep.target_relative_error says).
RUN_SWEEP_KEYS = ("timestep_fs", "thermostat_damping_ps", "seed", "halt_temperature_factor")


def run_sweep_settings(config: dict) -> dict:
    """Params of the exploration and certificate rules: the sweep keys their MD depends on."""
    return {key: config["sweep"][key] for key in sorted(RUN_SWEEP_KEYS)}


def label_reference_settings(config: dict) -> dict:
    """The reference keys the loop's labelling depends on: the calculators, not relabel.stride
    (which thins the melt-quench's frames only)."""
    reference = config["reference"]
    relabel = {key: reference["relabel"][key] for key in ("calculator", "kwargs")
               if key in reference["relabel"]}
    return {"calculator": reference["calculator"], "kwargs": reference["kwargs"],
            "max_failed_fraction": reference["max_failed_fraction"], "relabel": relabel}


def certificate_melt_quench_settings(config: dict) -> dict:
    """The melt_quench keys of the hold the certificate repeats: its temperature and timestep."""
    return {key: config["melt_quench"][key] for key in sorted(("timestep_fs", MQ_FINAL_T))}


def fixed_nvt(sweep: dict, length_ps: float, every_steps: int, seed: int) -> dict:
    """Full sweep settings of a fixed-length NVT run on the unreplicated cell (no equilibration,
    no NPT, no adaptive length), one frame (dump, thermo, model deviation) every `every_steps`."""
    return {**{key: sweep[key] for key in RUN_SWEEP_KEYS},
            "equilibration_ps": 0.0, "npt_equilibration_ps": 0.0,
            "pressure_bar": 1.0, "barostat_damping_ps": 1.0,  # unused: NPT is off
            "production_ps": length_ps, "chunk_ps": 0,
            "target_relative_error": None, "max_production_ps": None,
            "dump_every_steps": every_steps, "thermo_every_steps": every_steps,
            "deviation_every_steps": every_steps, "target_atoms": None,
            SWEEP_SUPERCELL: [1, 1, 1], "seed": seed}


def explore_sweep(sweep: dict, learning: dict, iteration: int, explore_ps: float) -> dict:
    """The sweep settings of one exploration run (fixed_nvt): one frame every
    learning.explore_dump_every_steps, a velocity seed per iteration. (The frames are classified
    with the loop's trust levels by dpglass.learning.selection.classify, not by the run.)"""
    return fixed_nvt(sweep, explore_ps, learning["explore_dump_every_steps"],
                     sweep["seed"] + 7919 * iteration)


# The learning.* keys each rule's outputs depend on (rules get only these as params).
RULE_KEYS = {
    "explore": ("explore_ps", "explore_dump_every_steps"),
    "convergence": ("explore_ps", "accurate_fraction", "shorten_above_fraction",
                    "require_stable_D"),
    "select": ("max_frames_per_iteration", "min_frame_separation_dumps"),
    "retrain": ("numb_steps", "start_lr", "retrain"),
}


def rule_settings(config: dict, rule: str) -> dict:
    return {key: config["learning"][key] for key in sorted(RULE_KEYS[rule])}
