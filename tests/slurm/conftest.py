"""Fixtures for the SLURM tests: a one-node SLURM cluster for the whole session.

The cluster (tests/slurm/cluster.py) needs root; missing Debian packages are
installed by tests/slurm/install.sh (so this does not skip in CI, which runs as
root). Only a non-root run skips.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import cluster as slurm_cluster_mod  # noqa: E402

REQUIRED_BINARIES = ("munged", "slurmctld", "slurmd", "sbatch", "sacct", "slurmdbd", "mariadbd",
                     "mariadb-install-db")


def _missing_binaries() -> list[str]:
    return [b for b in REQUIRED_BINARIES if slurm_cluster_mod._which(b) is None]


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory):
    """A running one-node SLURM cluster (with slurmdbd accounting); stopped at session end.

    Yields the ``cluster.Cluster``; ``SLURM_CONF`` is exported for the session.
    """
    if os.geteuid() != 0:
        pytest.skip("the SLURM test cluster needs root (daemons run as SlurmUser=root)")
    if _missing_binaries():
        t0 = time.monotonic()
        subprocess.run(["bash", str(HERE / "install.sh")], check=True)
        print(f"\n[slurm] install.sh took {time.monotonic() - t0:.1f} s", file=sys.stderr)
        still = _missing_binaries()
        assert not still, f"install.sh did not provide {still}"

    state = Path(os.environ.get("DPGLASS_SLURM_STATE") or tmp_path_factory.mktemp("slurm-state"))
    # DPGLASS_SLURM_ACCOUNTING=0: test the cluster without mariadb/slurmdbd
    accounting = None if os.environ.get("DPGLASS_SLURM_ACCOUNTING", "") != "0" else False
    c = slurm_cluster_mod.Cluster(state, accounting=accounting)
    old_env = {k: os.environ.get(k) for k in c.env()}
    dt = c.start()
    print(f"\n[slurm] cluster start took {dt:.1f} s (state {state})", file=sys.stderr)
    os.environ.update(c.env())
    try:
        yield c
    finally:
        for k, v in old_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        entries = c._pids()
        stopped = c.stop()
        print(f"\n[slurm] stopped {' '.join(stopped)}", file=sys.stderr)
        alive = [e for e in entries if c._alive(e)]
        assert not alive, f"daemons still alive after stop: {alive}"


@pytest.fixture
def python_env():
    """Environment for snakemake subprocesses: this interpreter's venv first on PATH."""
    env = os.environ.copy()
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


def pytest_configure(config):
    config.addinivalue_line("markers", "slurm: needs the local one-node SLURM test cluster")

