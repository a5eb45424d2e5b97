"""The one place that reads the workflow config: schema validation, defaults and derived values.

Imported while Snakemake parses the workflow, so it must stay light (no ASE, TF, torch, LAMMPS).
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from dpglass.composition import FormulaError, check_neutral, parse_formula, type_map

SHARED_SCOPE = "shared"  # results/shared/train/... holds the ensemble of train.shared_model
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "workflow" / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    """A config value the workflow cannot run with; the message names the key."""


def load_schema(path: str | Path = SCHEMA_PATH) -> dict:
    with open(path) as handle:
        return yaml.safe_load(handle)


def _key(path) -> str:
    return ".".join(str(p) for p in path) or "<top level>"


def _fill_defaults(instance: Any, schema: dict) -> None:
    """Insert schema defaults for missing keys, recursively (objects and additionalProperties maps)."""
    if not isinstance(instance, dict) or schema.get("type") != "object":
        return
    for name, sub in schema.get("properties", {}).items():
        if name not in instance and "default" in sub:
            instance[name] = copy.deepcopy(sub["default"])
        if name in instance:
            _fill_defaults(instance[name], sub)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        for name, value in instance.items():
            if name not in schema.get("properties", {}):
                _fill_defaults(value, extra)


def validate_config(config: dict, schema: dict | None = None) -> dict:
    """Validate `config` against the schema, fill defaults, check cross-key constraints.

    Returns a new dict; raises ConfigError whose message names the offending key.
    """
    schema = schema or load_schema()
    config = copy.deepcopy(dict(config))
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        lines = []
        for error in errors:
            if error.validator == "additionalProperties":
                allowed = sorted(error.schema.get("properties", {}))
                lines.append(f"config key '{_key(error.absolute_path)}': {error.message} "
                             f"(allowed: {', '.join(allowed)})")
            else:
                lines.append(f"config key '{_key(error.absolute_path)}': {error.message}")
        raise ConfigError("invalid config:\n  " + "\n  ".join(lines))
    _fill_defaults(config, schema)
    _check_consistency(config)
    return config


def _check_consistency(config: dict) -> None:
    sweep = config["sweep"]
    if "temperatures_K" not in sweep and sweep["T_max_K"] < sweep["T_min_K"]:
        raise ConfigError(f"config key 'sweep.T_max_K': {sweep['T_max_K']} is below "
                          f"sweep.T_min_K = {sweep['T_min_K']}")
    low, high = sweep["trust_level_eV_per_A"]
    if high < low:
        raise ConfigError(f"config key 'sweep.trust_level_eV_per_A': [{low}, {high}] must be [low, high]")
    if sweep["chunk_ps"] and sweep["chunk_ps"] * 1000.0 < sweep["timestep_fs"]:
        raise ConfigError(f"config key 'sweep.chunk_ps': {sweep['chunk_ps']} ps is shorter than one "
                          f"timestep ({sweep['timestep_fs']} fs)")
    mq = config["melt_quench"]
    if mq["t_final_K"] > mq["t_melt_K"]:
        raise ConfigError(f"config key 'melt_quench.t_final_K': {mq['t_final_K']} is above "
                          f"melt_quench.t_melt_K = {mq['t_melt_K']} (a quench cools)")
    train = config["train"]
    if train["rcut_smth_A"] >= train["rcut_A"]:
        raise ConfigError(f"config key 'train.rcut_smth_A': {train['rcut_smth_A']} must be below "
                          f"train.rcut_A = {train['rcut_A']}")
    if train["stop_lr"] > train["start_lr"]:
        raise ConfigError(f"config key 'train.stop_lr': {train['stop_lr']} is above train.start_lr")
    if train["descriptor"] == "dpa2" and backend(config) != "pytorch":
        raise ConfigError("config key 'train.descriptor': dpa2 needs the PyTorch backend "
                          "(train.backend: pytorch, or execution.device: gpu); DeePMD-kit's "
                          "TensorFlow backend has no DPA-2")
    if train["shared_model"] and SHARED_SCOPE in config["compositions"]:
        raise ConfigError(f"config key 'compositions.{SHARED_SCOPE}': the name is reserved for "
                          f"the shared model's results when train.shared_model is true")
    batch = train["batch_size"]
    if not (batch == "auto" or (isinstance(batch, int) and not isinstance(batch, bool) and batch > 0)):
        raise ConfigError(f"config key 'train.batch_size': {batch!r} must be a positive integer or 'auto'")
    low, high = config["analysis"]["arrhenius_window_K"]
    if high <= low:
        raise ConfigError(f"config key 'analysis.arrhenius_window_K': [{low}, {high}] must be increasing")
    formulas = []
    for name, comp in config["compositions"].items():
        try:
            formula = parse_formula(comp["formula"])
            check_neutral(formula)
        except FormulaError as err:
            raise ConfigError(f"config key 'compositions.{name}.formula': {err}") from None
        formulas.append(formula)
    _check_start_cells_and_reference(config)
    _check_learning(config)
    ion = config["analysis"]["ion"]
    if ion not in type_map(formulas):
        raise ConfigError(f"config key 'analysis.ion': {ion!r} is in none of the compositions "
                          f"({', '.join(type_map(formulas))})")


def _check_learning(config: dict) -> None:
    from dpglass.learning import settings as learning

    try:
        learning.check(config, temperatures(config))
    except learning.LearningConfigError as err:
        raise ConfigError(str(err)) from None


def _check_start_cells_and_reference(config: dict) -> None:
    """Cell sizes that give whole atom counts, a crystal where one is asked for, known calculators."""
    from dpglass.reference import check_calculator_name

    structure = config["structure"]
    for name, comp in config["compositions"].items():
        if composition_setting(config, name, "source") == "crystal":
            if not (comp.get("crystal_file") or structure.get("crystal_file")):
                raise ConfigError(f"config key 'compositions.{name}.crystal_file': structure.source "
                                  f"is 'crystal' but no crystal_file is given")
            continue
        units = comp.get("formula_units", None if "n_atoms" in comp else structure.get("formula_units"))
        if units is not None:
            key = "formula_units" if "formula_units" in comp else "structure.formula_units"
            try:
                parse_formula(comp["formula"]).counts_for_units(units)
            except FormulaError as err:
                raise ConfigError(f"config key '{key}' ({name}): {err}") from None
    reference = config["reference"]
    for key, name in (("reference.calculator", reference["calculator"]),
                      ("reference.relabel.calculator", reference["relabel"].get("calculator"))):
        if name is not None:
            try:
                check_calculator_name(name, key)
            except ValueError as err:
                raise ConfigError(str(err)) from None


def temperatures(config: dict) -> list[float]:
    """Sweep temperatures in K, ascending."""
    sweep = config["sweep"]
    if "temperatures_K" in sweep:
        return sorted(float(t) for t in sweep["temperatures_K"])
    t_min, t_max, step = sweep["T_min_K"], sweep["T_max_K"], sweep["T_step_K"]
    count = int((t_max - t_min) / step + 1e-9) + 1
    return [round(t_min + i * step, 6) for i in range(count)]


def sweep_packs(config: dict) -> list[list[tuple[str, str]]]:
    """(temperature label, replica) runs in groups of execution.temperatures_per_gpu_job."""
    size = config["execution"]["temperatures_per_gpu_job"]
    runs = [(temperature_label(t), str(r)) for t in temperatures(config)
            for r in range(config["sweep"]["replicas"])]
    return [runs[i:i + size] for i in range(0, len(runs), size)]


def temperature_label(temperature: float) -> str:
    """Temperature as it appears in paths: 213 -> '213', 213.5 -> '213.5'."""
    return f"{temperature:g}"


def composition_setting(config: dict, name: str, key: str):
    """A structure setting for one composition: its own override, else the global value."""
    return config["compositions"][name].get(key, config["structure"][key])


def backend(config: dict) -> str:
    """DeePMD-kit backend: explicit choice, else TensorFlow on CPU and PyTorch on GPU."""
    choice = config["train"]["backend"]
    if choice != "auto":
        return choice
    return "pytorch" if config["execution"]["device"] == "gpu" else "tensorflow"


def config_hash(config: dict) -> str:
    """Stable hash of the effective (validated, defaulted) config, for provenance."""
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# The train.* keys each training rule's outputs depend on. Rules get only these as params, so a
# change of, e.g., a quality-gate threshold reruns dp test, not the training.
TRAIN_KEYS = {
    "training_data": ("validation_fraction", "validation_blocks", "split_gap_frames"),
    "neighbor_stat": ("descriptor", "rcut_A", "sel_safety_factor"),
    "train_model": ("seed", "descriptor", "rcut_A", "rcut_smth_A", "descriptor_neurons",
                    "axis_neuron", "type_one_side", "fitting_neurons", "numb_steps", "start_lr", "stop_lr",
                    "batch_size", "disp_freq", "save_freq"),
}


def train_settings(config: dict, rule: str) -> dict:
    """The part of config['train'] that rule `rule` uses (see TRAIN_KEYS)."""
    return {key: config["train"][key] for key in TRAIN_KEYS[rule]}


def train_scope(config: dict, composition: str) -> str:
    """Where a composition's models live: its own name, or 'shared' with train.shared_model."""
    return SHARED_SCOPE if config["train"]["shared_model"] else composition


def model_type_map(config: dict, composition: str | None = None) -> list[str]:
    """DeePMD type_map: the composition's species, or the union over all compositions when the
    model is shared (or composition is None)."""
    if composition is None or config["train"]["shared_model"]:
        names = list(config["compositions"])
    else:
        names = [composition]
    return type_map([parse_formula(config["compositions"][n]["formula"]) for n in names])
