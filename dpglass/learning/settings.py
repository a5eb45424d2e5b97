"""The learning.* settings: defaults resolved from the sweep, cross-key checks, exploration runs.

Imported while Snakemake parses the workflow: light (no ASE, TF, LAMMPS).
"""

from __future__ import annotations

import math

# Sweep and melt_quench keys read here, in one place.
SWEEP_SUPERCELL = "supercell"


class LearningConfigError(ValueError):
    """A learning.* value the loop cannot run with; the message names the key."""


class CertificateConfigError(LearningConfigError):
    """Settings or input the certificate cannot work with; the message says what and where."""


# The certificate's MSD lags: n_frames / LAG_DIVISOR, halved MSD_LAGS - 1 times
MSD_LAGS = 5
LAG_DIVISOR = 3


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
    value = learning["accurate_fraction"]
    if not 0.0 <= value <= 1.0:
        raise LearningConfigError(f"config key 'learning.accurate_fraction': {value} is outside 0–1")
    if learning["stop_lr"] is not None and learning["stop_lr"] > learning["start_lr"]:
        raise LearningConfigError(f"config key 'learning.stop_lr': {learning['stop_lr']} is above "
                                  f"learning.start_lr {learning['start_lr']} (the rate decays)")
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
    check_certificate(learning["certificate"], config["melt_quench"])


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


def exploration_start(temperature_index: int, iteration: int, n_temperatures: int,
                      n_glasses: int) -> tuple[int, int]:
    """(glass, slot) of exploration (iteration >= 1, temperature_index): glasses round-robin over
    temperatures and iterations; `slot` counts the earlier explorations of the same glass (in the
    order iteration, temperature), so every exploration of a glass starts from its own frame
    (spread_order) and adding iterations never moves an earlier one."""
    if not (iteration >= 1 and 0 <= temperature_index < n_temperatures and n_glasses >= 1):
        raise ValueError(f"no exploration {iteration}, temperature {temperature_index} of "
                         f"{n_temperatures} with {n_glasses} glass(es)")
    order = (iteration - 1) * n_temperatures + temperature_index
    glass = (temperature_index + iteration - 1) % n_glasses
    slot = sum(1 for n in range(order)
               if (n % n_temperatures + n // n_temperatures) % n_glasses == glass)
    return glass, slot


def spread_order(n: int) -> list[int]:
    """A permutation of range(n) that spreads its first entries over the whole range (van der
    Corput fractions 0, 1/2, 1/4, 3/4, ... mapped to indices, repeats skipped): slot j of an
    exploration start takes entry j mod n, so early slots are far apart in time."""
    order: list[int] = []
    seen: set[int] = set()
    j = 0
    while len(order) < n:
        fraction, denominator, m = 0.0, 1.0, j
        while m:
            denominator *= 2.0
            m, bit = divmod(m, 2)
            fraction += bit / denominator
        index = int(fraction * n)
        if index not in seen:
            seen.add(index)
            order.append(index)
        j += 1
    return order


def certificate_protocol(config_certificate: dict, melt_quench: dict) -> dict:
    """The NVT protocol of every certificate run, from learning.certificate and melt_quench."""
    temperature = config_certificate["temperature_K"] or melt_quench["final_temperature_K"]
    dt = melt_quench["timestep_fs"]
    every = config_certificate["every_steps"] or melt_quench["sample_every_steps"]
    steps = int(round(config_certificate["time_ps"] * 1000.0 / dt))
    steps -= steps % every
    return {"thermostat": melt_quench["thermostat"],
            "damping_ps": melt_quench["thermostat_damping_ps"],
            "temperature_K": float(temperature), "timestep_fs": float(dt),
            "steps": steps, "every_steps": int(every)}


def check_certificate(config_certificate: dict, melt_quench: dict) -> None:
    """Cross-key checks before anything runs: enough runs and frames for what is asked."""
    confidence = config_certificate["confidence"]
    n_t, n_s = config_certificate["teacher_runs"], config_certificate["student_runs"]
    if math.comb(n_t + n_s, n_t) * (1.0 - confidence) < 1.0:
        raise CertificateConfigError(
            f"config keys learning.certificate.teacher_runs={n_t} and student_runs={n_s}: "
            f"{math.comb(n_t + n_s, n_t)} ways to assign the runs cannot resolve a p-value of "
            f"{1 - confidence:g} (learning.certificate.confidence={confidence}); add runs")
    protocol = certificate_protocol(config_certificate, melt_quench)
    frames = protocol["steps"] // protocol["every_steps"] + 1
    if frames < LAG_DIVISOR * 2 ** (MSD_LAGS - 1):
        raise CertificateConfigError(
            f"config key learning.certificate.time_ps={config_certificate['time_ps']}: "
            f"{frames} frames per run (every {protocol['every_steps']} steps of "
            f"{protocol['timestep_fs']} fs) are too few for {MSD_LAGS} MSD lags; need at least "
            f"{LAG_DIVISOR * 2 ** (MSD_LAGS - 1)}")


# The learning.* keys each rule's outputs depend on (rules get only these as params).
RULE_KEYS = {
    "explore": ("explore_ps", "explore_dump_every_steps"),
    "convergence": ("explore_ps", "accurate_fraction", "require_stable_D"),
    "select": ("max_frames_per_iteration", "min_frame_separation_dumps", "spot_check_frames"),
    "retrain": ("numb_steps", "start_lr", "stop_lr", "start_pref_e", "start_pref_f",
                "start_pref_v", "old_ratio", "retrain"),
}


def rule_settings(config: dict, rule: str) -> dict:
    return {key: config["learning"][key] for key in sorted(RULE_KEYS[rule])}
