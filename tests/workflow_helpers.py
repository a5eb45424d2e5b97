"""Shared paths and the snakemake runner for the workflow-level tests (imported by name: a
module called conftest would clash with tests/analysis/conftest.py on sys.path)."""

import os
import subprocess
import sys
from pathlib import Path


REPO = Path(__file__).resolve().parent.parent
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def run_snakemake(*args, cwd=REPO, timeout=600, env=None):
    """Run the project's snakemake (the one beside this interpreter) and capture its output."""
    return subprocess.run([SNAKEMAKE, "-s", str(REPO / "Snakefile"), *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
