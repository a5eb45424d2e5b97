"""`dp test` on the held-out frames: its RMSEs, their detail files, and the quality gate."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from dpglass.training.dp import TrainingError
from dpglass.core.units import quantity

_RMSE = re.compile(r"(Energy|Force|Virial)\s+RMSE(/Natoms)?\s*:\s*([0-9.eE+-]+|nan)\s*(\S+)")


def parse_dp_test(text: str) -> dict:
    """Energy RMSE/atom (meV/atom), force RMSE (meV/Å), virial RMSE/atom (meV/atom) from `dp test`.

    With several systems dp test ends with their weighted average, which is the last match.
    """
    found: dict[str, float] = {}
    for kind, per_atom, value, _unit in _RMSE.findall(text):
        key = kind.lower() + ("_per_atom" if per_atom else "")
        found[key] = float(value) * 1000.0  # eV -> meV
    missing = {"energy_per_atom", "force"} - set(found)
    if missing:
        raise ValueError(f"dp test output lacks {', '.join(sorted(missing))} RMSE")
    return {
        "energy_rmse": quantity(found["energy_per_atom"], unit="meV/atom"),
        "force_rmse": quantity(found["force"], unit="meV/Å"),
        **({"virial_rmse": quantity(found["virial_per_atom"], unit="meV/atom")}
           if "virial_per_atom" in found else {}),
    }


def quality_gate(metrics: dict, max_energy_meV_per_atom: float | None,
                 max_force_meV_per_A: float | None) -> None:
    """Raise TrainingError naming the measured RMSE and the config threshold it exceeds."""
    failures = []
    for key, limit, config_key in (
            ("energy_rmse", max_energy_meV_per_atom, "train.max_energy_rmse_meV_per_atom"),
            ("force_rmse", max_force_meV_per_A, "train.max_force_rmse_meV_per_A")):
        value = metrics[key]["value"]
        if limit is not None and not value <= limit:
            failures.append(f"{key.replace('_', ' ')} {value:.4g} {metrics[key]['unit']} exceeds "
                            f"config key '{config_key}' = {limit:g}")
    if failures:
        raise TrainingError("model quality gate failed on the validation frames: "
                            + "; ".join(failures))


def model_test_record(metrics: dict, *, model: str, validation_dir: str, training_steps: int,
                      max_energy_rmse: float | None, max_force_rmse: float | None) -> dict:
    """test.json: the RMSEs of `dp test` with the model, its data, length and gate thresholds."""
    return {
        **metrics,
        "model": model,
        "validation_system": validation_dir,
        "training_steps": training_steps,
        "thresholds": {"energy_rmse": quantity(max_energy_rmse, unit="meV/atom"),
                       "force_rmse": quantity(max_force_rmse, unit="meV/Å")},
    }


def read_detail(path: str | Path) -> np.ndarray:
    """A `dp test -d` detail file (data columns, then prediction columns), all systems stacked."""
    return np.atleast_2d(np.loadtxt(path, comments="#"))


def energy_offset(e_peratom_detail: str | Path) -> dict:
    """From a `dp test -d` detail file of energies per atom (data, prediction per frame): the mean
    error per atom (a constant offset: a shift of the per-type energy bias, no force, no dynamics
    at a fixed composition) and the RMSE about it (the error of energy differences), meV/atom."""
    table = read_detail(e_peratom_detail)
    error = 1000.0 * (table[:, 1] - table[:, 0])
    return {"energy_offset": quantity(float(error.mean()), unit="meV/atom"),
            "energy_rmse_without_offset": quantity(float(error.std()), unit="meV/atom")}


def validation_errors(model: str, validation: list[str], backend: str, threads: int, log,
                      work: str | Path | None = None) -> dict:
    """dp test of `model` on each validation system: energy and force RMSE and the energy offset
    and RMSE without it (energy_offset), each the plain mean over the systems (not weighted by
    frame count)."""
    from dpglass.training.dp import dp

    work = Path(work or Path(model).parent / "dp_test")
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    for n, system in enumerate(validation):
        test_log = work / f"dp_test_{n}.log"
        test_log.unlink(missing_ok=True)
        dp(["test", "-m", os.path.relpath(model, work), "-s", os.path.relpath(system, work),
            "-l", test_log.name, "-d", f"detail_{n}"], backend, work, threads, log)
        rows.append({**parse_dp_test(test_log.read_text()),
                     **energy_offset(work / f"detail_{n}.e_peratom.out")})
    out = {key: quantity(sum(r[key]["value"] for r in rows) / len(rows), unit=rows[0][key]["unit"])
           for key in ("energy_rmse", "force_rmse", "energy_offset", "energy_rmse_without_offset")}
    return {**out, "systems": len(rows)}
