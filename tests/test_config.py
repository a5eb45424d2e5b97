"""Config validation: every bad value stops the workflow with a message that names the key."""

import copy

import pytest
import yaml

from dpglass import config as dpconfig
from dpglass.config import ConfigError, validate_config

from workflow_helpers import REPO


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
    assert (mq["t_melt_K"], mq["t_melt_ps"], mq["cool_rate_K_per_ps"], mq["t_final_K"]) == (600, 30, 100, 300)
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
    (("melt_quench", "t_final_K"), 900, "melt_quench.t_final_K"),  # above t_melt_K
    (("execution", "device"), "tpu", "execution.device"),
    (("analysis", "ion"), "Na", "analysis.ion"),
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
