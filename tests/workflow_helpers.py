"""Shared paths and the snakemake runners for the workflow-level tests (imported by name: a
module called conftest would clash with tests/analysis/conftest.py on sys.path)."""

import functools
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path


REPO = Path(__file__).resolve().parent.parent
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def run_snakemake(*args, cwd=REPO, timeout=600, env=None):
    """Run the project's snakemake (the one beside this interpreter) and capture its output."""
    return subprocess.run([SNAKEMAKE, "-s", str(REPO / "Snakefile"), *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


@functools.lru_cache(maxsize=None)
def dry_run(*configs: str, profile: str | None = None) -> subprocess.CompletedProcess:
    """`snakemake -n -p` of the shipped Snakefile with these config files (YAML texts, layered in
    order), planned once per test session and shared by every test that asks for the same.

    Each config text is written to its own file; the workflow plans into an empty directory, so
    results a developer has in the checkout do not change the plan.
    """
    work = Path(tempfile.mkdtemp(prefix="dpglass_dry_run_"))
    paths = []
    for index, text in enumerate(configs):
        path = work / f"config{index}.yaml"
        path.write_text(text)
        paths.append(path)
    extra = ["--profile", REPO / "workflow" / "profiles" / profile] if profile else []
    return run_snakemake("-n", "-p", "--nolock", *extra, "--configfile", *paths,
                         "--directory", work / "wd", timeout=300)


def shipped_config(name: str) -> str:
    """Text of config/<name> (for dry_run)."""
    return (REPO / "config" / name).read_text()


def job_counts(stdout: str) -> dict[str, int]:
    """Snakemake's "Job stats:" table of a (dry) run: jobs per rule."""
    table = stdout[stdout.index("Job stats:"):]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}
