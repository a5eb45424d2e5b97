"""The real workflow's jobs through `snakemake --executor slurm` on the one-node cluster.

The whole chain on config/test.yaml is tests/test_workflow.py's (locally). Here: each job is one
SLURM job of its rule with that rule's resources, and an MPI sweep run (execution.mpi_tasks: 2)
asks for exactly what it runs, 2 tasks x 1 CPU. The sweep runs a tiny pre-trained ensemble
(tests/lammps_fixtures.py) put where the train rules would put theirs, so only the cheap rules
(start_cell, sweep_preflight, sweep_md) run (`--allowed-rules`).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from .test_slurm_toy import REPO, make_test_profile

sys.path.insert(0, str(REPO / "tests"))
from lammps_fixtures import build_tiny_ensemble  # noqa: E402

RANKS = 2
RULES = ("start_cell", "sweep_preflight", "sweep_md")
CONFIG = {
    "compositions": {"LiCl": {"formula": "LiCl", "n_atoms": 32}},
    "train": {"n_models": 2, "compress": False},  # the sweep runs the frozen models
    "sweep": {"temperatures_K": [303], "supercell": [1, 1, 1], "timestep_fs": 2.0,
              "equilibration_ps": 0.02, "production_ps": 0.2, "chunk_ps": 0,
              "dump_every_steps": 10, "thermo_every_steps": 10},
    "execution": {"mpi_tasks": RANKS, "mpi_launcher": "mpirun"},
}


def slurm_jobs(cluster, jobids) -> dict[str, dict]:
    """`scontrol show job -o` of these jobs (the controller keeps them MinJobAge = 600 s), by id."""
    jobs = {}
    for jobid in jobids:
        out = subprocess.run(["scontrol", "show", "job", "-o", jobid], capture_output=True,
                             text=True, check=True, env=cluster._env()).stdout
        jobs[jobid] = dict(re.findall(r"(\S+?)=(\S*)", out))
    return jobs


@pytest.mark.slurm
@pytest.mark.md
def test_rules_run_as_slurm_jobs_and_mpi_sweep_asks_tasks_times_one_cpu(slurm_cluster, tmp_path,
                                                                       python_env):
    ensemble = build_tiny_ensemble(tmp_path / "ensemble")
    workdir = tmp_path / "run"
    for i, model in enumerate(ensemble["models"]):
        target = workdir / "results" / "LiCl" / "train" / f"model_{i}" / "frozen.pb"
        target.parent.mkdir(parents=True)
        shutil.copyfile(model, target)
    (workdir / "results" / "LiCl" / "sweep").mkdir(parents=True)
    shutil.copyfile(ensemble["data"], workdir / "results" / "LiCl" / "sweep" / "data.lmp")
    (workdir / "config.yaml").write_text(yaml.safe_dump(CONFIG))

    profile = make_test_profile(tmp_path, slurm_cluster)
    # As a user runs it from a project directory: the shipped Snakefile, the config on top.
    cmd = [sys.executable, "-m", "snakemake", "--executor", "slurm", "--profile", str(profile),
           "-j", "4", "-s", str(REPO / "Snakefile"), "--configfile", "config.yaml",
           "--allowed-rules", *RULES, "--",
           "results/LiCl/structure/start.extxyz", "results/LiCl/sweep/T303/r0/run.json"]
    start = time.monotonic()
    result = subprocess.run(cmd, cwd=workdir, env=python_env, capture_output=True, text=True,
                            timeout=900)
    print(f"[slurm] start_cell + MPI sweep through SLURM: {time.monotonic() - start:.0f} s",
          file=sys.stderr)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-6000:]

    run = json.loads((workdir / "results" / "LiCl" / "sweep" / "T303" / "r0" / "run.json").read_text())
    assert run["mpi_ranks"] == RANKS and run["natoms"] == 32
    assert len(run["max_devi_f"]["value"]) > 0  # the ensemble's deviations were recorded

    jobids = sorted(set(re.findall(r"SLURM jobid (\d+)", log)))
    jobs = slurm_jobs(slurm_cluster, jobids)
    by_rule = {job["Comment"].removeprefix("rule_").split("_wildcards_")[0]: job
               for job in jobs.values()}
    assert set(by_rule) == set(RULES), by_rule.keys()
    for rule, job in by_rule.items():
        assert job["JobState"] == "COMPLETED", (rule, job)
    sweep = by_rule["sweep_md"]
    # exactly what runs: 2 ranks of one thread each (the plugin's default would add
    # --cpus-per-task=threads=2 per task: 4 CPUs)
    assert (sweep["NumTasks"], sweep["CPUs/Task"], sweep["NumCPUs"]) == (str(RANKS), "1", str(RANKS))
    cell = by_rule["start_cell"]
    assert (cell["NumTasks"], cell["CPUs/Task"]) == ("1", "1")
