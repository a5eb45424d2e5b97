"""The real workflow (config/test.yaml) through `snakemake --executor slurm` on the one-node cluster."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from .test_slurm_toy import REPO, make_test_profile, sacct_jobs

HEAVY_RULES = {"melt_quench", "train_model", "compress_model", "sweep_md", "diffusion"}


@pytest.mark.slurm
@pytest.mark.slow
def test_test_config_runs_to_completion_through_slurm(slurm_cluster, tmp_path, python_env):
    profile = make_test_profile(tmp_path, slurm_cluster)
    workdir = tmp_path / "run"
    workdir.mkdir()
    cmd = [sys.executable, "-m", "snakemake", "--executor", "slurm", "--profile", str(profile),
           "-j", "4", "-s", str(REPO / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(REPO / "config" / "test.yaml")]
    start = time.monotonic()
    result = subprocess.run(cmd, cwd=workdir, env=python_env, capture_output=True, text=True,
                            timeout=1500)
    print(f"[slurm] config/test.yaml through SLURM: {time.monotonic() - start:.0f} s", file=sys.stderr)
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]

    summary = json.loads((workdir / "results" / "LACO75" / "summary.json").read_text())
    assert summary["Ea"]["unit"] == "eV" and summary["Ea"]["error"] > 0
    if slurm_cluster.accounting:
        rows = sacct_jobs(slurm_cluster)
        by_rule: dict[str, set[str]] = {}
        for row in rows:
            rule = row["comment"].removeprefix("rule_").split("_wildcards_")[0]
            by_rule.setdefault(rule, set()).add(row["state"])
        for rule in HEAVY_RULES:
            assert by_rule.get(rule) == {"COMPLETED"}, f"{rule}: {by_rule.get(rule)} in {rows}"
        sweep_jobs = [r for r in rows if r["comment"].startswith("rule_sweep_md_")]
        assert len(sweep_jobs) == 3  # one SLURM job per temperature
