"""Shared paths for the workflow-level tests."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def run_snakemake(*args, cwd=REPO, timeout=600, env=None):
    """Run the project's snakemake (the one beside this interpreter) and capture its output."""
    return subprocess.run([SNAKEMAKE, "-s", str(REPO / "Snakefile"), *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


@pytest.fixture
def repo():
    return REPO
