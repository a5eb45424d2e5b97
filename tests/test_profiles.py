"""Profiles: the slurm-gpu dry-run asks for GPUs on the training and sweep rules only."""

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


def test_default_profile_never_selects_slurm():
    profile = yaml.safe_load((REPO / "workflow/profiles/default/config.yaml").read_text())
    assert "executor" not in profile or profile["executor"] in ("local", "dryrun")
    for name in ("slurm-cpu", "slurm-gpu"):
        text = (REPO / "workflow/profiles" / name / "config.yaml").read_text()
        assert "executor: slurm" in text and "<YOUR_ACCOUNT>" in text
