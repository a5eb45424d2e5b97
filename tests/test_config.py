"""Config validation: every bad value stops the workflow with a message that names the key."""

import copy

import pytest
import yaml

from dpglass import config as dpconfig
from dpglass.config import ConfigError, validate_config

from workflow_helpers import REPO, run_snakemake


def load(name):
    return yaml.safe_load((REPO / "config" / name).read_text())


@pytest.mark.parametrize("name", ["config.yaml", "test.yaml", "paper.yaml"])
def test_shipped_configs_validate(name):
    cfg = validate_config(load(name))
    assert cfg["execution"]["device"] == "cpu"  # default filled in
    assert set(cfg) >= {"compositions", "structure", "melt_quench", "train", "sweep", "analysis"}


def test_defaults_come_from_the_schema():
    cfg = validate_config({"compositions": {"X": {"formula": "LiAlCl4"}}})
    schema = dpconfig.load_schema()
    assert cfg["sweep"]["T_min_K"] == schema["properties"]["sweep"]["properties"]["T_min_K"]["default"]
    assert cfg["train"]["n_models"] == 4
    assert dpconfig.temperatures(cfg) == [213 + 15 * i for i in range(13)]


def test_demo_config_sweeps_all_13_temperatures():
    temps = dpconfig.temperatures(validate_config(load("config.yaml")))
    assert temps[0] == 213 and temps[-1] == 393 and len(temps) == 13


def test_paper_config_has_the_five_compositions_and_protocol():
    cfg = validate_config(load("paper.yaml"))
    formulas = {c["formula"] for c in cfg["compositions"].values()}
    assert formulas == {"LiAlCl4", "LiAlCl2.5O0.75", "Li0.5AlCl2O0.75", "Li1.5AlCl3O0.75",
                        "LiAlCl3.5O0.25"}
    mq = cfg["melt_quench"]
    assert (mq["melt_temperature_K"], mq["melt_time_ps"], mq["cool_rate_K_per_ps"], mq["final_temperature_K"]) == (600, 30, 100, 300)
    assert cfg["sweep"]["production_ps"] == 3500
    assert len(dpconfig.temperatures(cfg)) == 13


BASE = {"compositions": {"LACO75": {"formula": "LiAlCl2.5O0.75"}}}


def with_change(path, value):
    cfg = copy.deepcopy(BASE)
    node = cfg
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    return cfg


@pytest.mark.parametrize("path, value, expected", [
    (("sweep", "T_min_K"), -5, "sweep.T_min_K"),
    (("sweep", "T_step_K"), "15", "sweep.T_step_K"),
    (("sweep", "T_max_K"), 100, "sweep.T_max_K"),                 # below T_min_K = 213
    (("sweep", "temperature_K"), 300, "temperature_K"),            # unknown key (typo)
    (("train", "n_models"), 0, "train.n_models"),
    (("train", "rcut_smth_A"), 7.0, "train.rcut_smth_A"),          # above rcut_A
    (("melt_quench", "final_temperature_K"), 900, "melt_quench.final_temperature_K"),  # above melt_temperature_K
    (("execution", "device"), "tpu", "execution.device"),
    (("analysis", "ion"), "Li", "analysis.ion"),                  # moved to compositions.<name>.ion
    (("compositions", "LACO75", "ion"), "Na", "compositions.LACO75.ion"),  # not in the formula
    (("compositions", "LACO75", "formula"), "LiAlCl3O", "compositions.LACO75.formula"),
    (("compositions", "LACO75", "formula"), "LiXxCl4", "compositions.LACO75.formula"),
])
def test_bad_values_name_the_key(path, value, expected):
    with pytest.raises(ConfigError) as err:
        validate_config(with_change(path, value))
    assert expected in str(err.value)


def test_non_neutral_formula_reports_net_charge():
    with pytest.raises(ConfigError, match=r"net charge -1 e"):
        validate_config(with_change(("compositions", "LACO75", "formula"), "LiAlCl3O"))


def test_config_hash_changes_with_the_config():
    a = validate_config(BASE)
    b = validate_config(with_change(("sweep", "seed"), 99))
    assert dpconfig.config_hash(a) != dpconfig.config_hash(b)
    assert dpconfig.config_hash(a) == dpconfig.config_hash(validate_config(BASE))


def test_backend_follows_the_device():
    assert dpconfig.backend(validate_config(BASE)) == "tensorflow"
    assert dpconfig.backend(validate_config(with_change(("execution", "device"), "gpu"))) == "pytorch"


def test_each_composition_has_its_own_mobile_ion():
    config = validate_config({"compositions": {"LACO75": {"formula": "LiAlCl2.5O0.75"},
                                               "NACO75": {"formula": "NaAlCl2.5O0.75"},
                                               "mixed": {"formula": "LiNaAl2Cl8", "ion": "Na"}}})
    assert [c["ion"] for c in config["compositions"].values()] == ["Li", "Na", "Na"]
    with pytest.raises(ConfigError, match=r"compositions\.mixed\.ion' is needed.*Li, Na"):
        validate_config({"compositions": {"mixed": {"formula": "LiNaAl2Cl8"}}})
    with pytest.raises(ConfigError, match=r"compositions\.alumina\.ion' is needed.*no alkali"):
        validate_config({"compositions": {"alumina": {"formula": "Al2O3"}}})


def test_paper_numbers_belong_to_each_composition():
    from dpglass.core.paper import paper_arrhenius, paper_rdf_distances

    laco, licl = paper_arrhenius("LiAlCl2.5O0.75"), paper_arrhenius("LiAlCl4")
    assert laco["Ea_md"]["value"] == 0.30 and laco["sigma_303K_experiment"]["value"] == 1.52
    assert licl == {"sigma_literature": {"value": 1.2e-3, "error": None, "unit": "mS/cm"}}
    assert paper_arrhenius("NaAlCl2.5O0.75")["sigma_303K_experiment"]["value"] == 1.33
    assert paper_arrhenius("Li1.5AlCl3O0.75") == {} and paper_rdf_distances("Li1.5AlCl3O0.75") == {}
    assert paper_rdf_distances("LiAlCl4") == {"Li-Li": {"value": [4.22, 4.88], "error": None, "unit": "Å"},
                                              "Al-Al": {"value": [4.63], "error": None, "unit": "Å"}}
    assert paper_rdf_distances("LiAlCl2.5O0.75")["Al-Al"]["value"] == [2.55]


def test_rule_params_hold_no_verdict_or_placement_keys():
    """Params are Snakemake's rerun trigger: MD rules must not see verdict or GPU-placement keys."""
    from dpglass.config import melt_quench_settings, start_cell_settings, sweep_settings

    config = validate_config(load("test.yaml"))
    sweep = sweep_settings(config)
    assert "trust_level_eV_per_A" not in sweep and "max_extrapolating_fraction" not in sweep
    assert "temperatures_K" not in sweep and sweep["production_ps"] == 3
    structure, reference = melt_quench_settings(config)
    assert structure == {"prerelax_steps": 40} and set(reference) == {"calculator", "kwargs"}
    own, structure = start_cell_settings(config, "LACO75")
    assert "ion" not in own and "prerelax_steps" not in structure and structure["n_atoms"] == 21


def test_config_show_is_the_file_over_the_schema_defaults(capsys, tmp_path):
    from dpglass.cli import main

    path = tmp_path / "mine.yaml"
    path.write_text("compositions:\n  NACO75:\n    formula: NaAlCl2.5O0.75\ntrain:\n  n_models: 3\n")
    assert main(["config", "show", str(path)]) == 0
    shown = yaml.safe_load(capsys.readouterr().out)
    assert list(shown["compositions"]) == ["NACO75"] and shown["compositions"]["NACO75"]["ion"] == "Na"
    assert shown["train"]["n_models"] == 3 and shown["train"]["numb_steps"] == 400000  # schema default
    assert shown == validate_config(yaml.safe_load(path.read_text()))
    path.write_text("compositions:\n  A:\n    formula: LiAlCl4\nsweep:\n  T_min_K: -1\n")
    assert main(["config", "show", str(path)]) == 2
    assert "sweep.T_min_K" in capsys.readouterr().err


# Issue 16's renamed keys, listed here (not read from dpconfig.RENAMED_KEYS) so that a key missing
# from the table fails its case: (old key, a value in its old unit, new key, that value in the new
# unit as the error prints it, or None where only the name changed).
RENAMED = [
    ("sweep.replicate", [2, 1, 1], "sweep.supercell", None),
    ("sweep.tdamp_ps", 0.1, "sweep.thermostat_damping_ps", None),
    ("sweep.pdamp_ps", 1.0, "sweep.barostat_damping_ps", None),
    ("melt_quench.t_melt_K", 600, "melt_quench.melt_temperature_K", None),
    ("melt_quench.t_melt_ps", 30, "melt_quench.melt_time_ps", None),
    ("melt_quench.t_final_K", 300, "melt_quench.final_temperature_K", None),
    ("melt_quench.t_hold_ps", 50, "melt_quench.hold_time_ps", None),
    ("melt_quench.thermostat_damping_fs", 100, "melt_quench.thermostat_damping_ps", "0.1"),
    ("melt_quench.barostat_damping_fs", 1000, "melt_quench.barostat_damping_ps", "1"),
    ("melt_quench.pressure_GPa", 0.0001, "melt_quench.pressure_bar", "1"),
    ("melt_quench.compressibility_per_GPa", 0.05, "melt_quench.compressibility_per_bar", "5e-06"),
    ("execution.temperatures_per_gpu_job", 2, "execution.runs_per_gpu_job", None),
    ("analysis.cage_distance_A", 1.0, "analysis.hop_distance_A", None),
]


def old_key_config(tmp_path, old, value):
    section, name = old.split(".")
    path = tmp_path / "old.yaml"
    path.write_text(yaml.safe_dump({**BASE, section: {name: value}}))
    return path


@pytest.mark.parametrize("old, value, new, converted", RENAMED)
def test_renamed_key_error_names_the_new_key(tmp_path, old, value, new, converted):
    with pytest.raises(ConfigError) as err:
        dpconfig.effective_config(old_key_config(tmp_path, old, value))
    message = str(err.value)
    assert f"'{old}' is now '{new}'" in message
    section, new_name = new.split(".")
    if converted is not None:  # the unit changed: the error gives the value in the new unit
        assert f"{new_name}: {converted}" in message
        value = float(converted)
    # what the error says to write is a valid config, with the same value in the new unit
    cfg = validate_config(with_change((section, new_name), value))
    assert cfg[section][new_name] == value


def test_renamed_key_error_in_config_show(tmp_path, capsys):
    from dpglass.cli import main

    path = old_key_config(tmp_path, "melt_quench.thermostat_damping_fs", 50)
    assert main(["config", "show", str(path)]) == 2
    err = capsys.readouterr().err
    assert "melt_quench.thermostat_damping_ps" in err and "thermostat_damping_ps: 0.05" in err


@pytest.mark.snakemake
def test_renamed_key_error_in_a_dry_run(tmp_path):
    """From the repository root, as a user runs it: the plan stops at config validation."""
    path = old_key_config(tmp_path, "sweep.replicate", [2, 1, 1])
    result = run_snakemake("-n", "--nolock", "--configfile", path)
    assert result.returncode != 0
    output = result.stdout + result.stderr  # snakemake prints the ConfigError on stdout
    assert "'sweep.replicate' is now 'sweep.supercell': write supercell: [2, 1, 1]" in output
