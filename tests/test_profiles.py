"""Profiles: the slurm-gpu dry-run asks for GPUs on the training and sweep rules only, and every
job fits a partition of the shipped partitions.yaml (what the SLURM plugin then places)."""

import re

import pytest
import yaml

from workflow_helpers import REPO, dry_run, shipped_config

GPU_RULES = {"train_model", "learning_train", "sweep_md"}


def planned_resources(stdout: str) -> list[tuple[str, str]]:
    """(rule, resources line) for every job of a dry-run."""
    return re.findall(r"^(?:local)?rule (\w+):\n(?:    .*\n)*?    resources: (.*)$", stdout, re.M)


@pytest.mark.snakemake
@pytest.mark.parametrize("device, expect_gpu", [("gpu", GPU_RULES), ("cpu", set())])
def test_slurm_gpu_profile_dry_run_requests_gpus_only_where_needed(device, expect_gpu):
    result = dry_run(shipped_config("test.yaml"), f"execution:\n  device: {device}\n",
                     profile="slurm-gpu")
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = planned_resources(result.stdout)
    assert {rule for rule, _ in jobs} >= GPU_RULES | {"melt_quench", "diffusion"}
    with_gpu = {rule for rule, resources in jobs if re.search(r"\bgpu=1\b", resources)}
    assert with_gpu == expect_gpu


@pytest.mark.snakemake
def test_the_loop_trains_and_compresses_with_the_first_training_s_resources():
    """learning_train is planned as train_model and learning_compress as compress_model (`use
    rule`): the same resources (GPU included) and a benchmark under benchmarks/rules/."""
    result = dry_run(shipped_config("test.yaml"), "execution:\n  device: gpu\n",
                     profile="slurm-gpu")
    assert result.returncode == 0, result.stderr[-3000:]
    planned: dict[str, set[str]] = {}
    for rule, line in planned_resources(result.stdout):
        planned.setdefault(rule, set()).add(line)
    for parent, child in (("train_model", "learning_train"),
                          ("compress_model", "learning_compress")):
        assert planned[child] == planned[parent] and len(planned[parent]) == 1, (child, planned)
    assert "gpu=1" in next(iter(planned["learning_train"]))
    jobs = re.findall(r"^(?:local)?rule (learning_train|learning_compress):\n((?:    .*\n)*)",
                      result.stdout, re.M)
    assert {rule for rule, _ in jobs} == {"learning_train", "learning_compress"}
    for rule, body in jobs:
        name = {"learning_train": "train", "learning_compress": "compress"}[rule]
        wildcards = dict(re.findall(r"(\w+)=(\w+)", re.search(r"wildcards: (.*)", body)[1]))
        assert f"    benchmark: benchmarks/rules/{wildcards['scope']}/learning/{name}_iter" \
               f"{wildcards['k']}_model_{wildcards['i']}.tsv\n" in body, body


def test_default_profile_never_selects_slurm():
    profile = yaml.safe_load((REPO / "workflow/profiles/default/config.yaml").read_text())
    assert "executor" not in profile or profile["executor"] in ("local", "dryrun")
    for name in ("slurm-cpu", "slurm-gpu"):
        text = (REPO / "workflow/profiles" / name / "config.yaml").read_text()
        assert "executor: slurm" in text and "<YOUR_ACCOUNT>" in text


def resources_of(line: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in line.split(", ") if "=" in item)


@pytest.mark.snakemake
def test_slurm_gpu_jobs_fit_the_shipped_partitions():
    """Each job of the real workflow, as the slurm-gpu profile plans it, fits a partition of the
    profile's partitions.yaml: GPU jobs one with GPUs (max_gpu > 0), CPU jobs the CPU one, and the
    longest retry (runtime x attempt, the profile's `retries`) within max_runtime."""
    profile_dir = REPO / "workflow" / "profiles" / "slurm-gpu"
    profile = yaml.safe_load((profile_dir / "config.yaml").read_text())
    assert "slurm_partition" not in profile["default-resources"]  # it would bypass the choice
    assert REPO / profile["slurm-partition-config"] == profile_dir / "partitions.yaml"
    partitions = yaml.safe_load((profile_dir / "partitions.yaml").read_text())["partitions"]
    gpu_partitions = {n: p for n, p in partitions.items() if p.get("max_gpu", 0) > 0}
    cpu_partitions = {n: p for n, p in partitions.items() if not p.get("max_gpu", 0)}
    assert gpu_partitions and cpu_partitions
    attempts = 1 + profile.get("retries", 0)
    result = dry_run(shipped_config("test.yaml"), "execution:\n  device: gpu\n", profile="slurm-gpu")
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = planned_resources(result.stdout)
    assert {rule for rule, _ in jobs} >= GPU_RULES
    for rule, line in jobs:
        resources = resources_of(line)
        gpus = int(resources.get("gpu", 0))
        fitting = gpu_partitions if gpus else cpu_partitions
        longest = int(resources["runtime"]) * attempts
        assert any(gpus <= p.get("max_gpu", 0) and longest <= p["max_runtime"]
                   for p in fitting.values()), (rule, resources, fitting)
