"""Why a LAMMPS run failed, in words that say what to fix."""

from __future__ import annotations

import json
import os
from pathlib import Path

from dpglass.lammps.inputs import FAILURE, FAILURE_STATE


class LammpsRunError(RuntimeError):
    """LAMMPS stopped with an error; the message says what happened and what to check."""


def last_lammps_error(run_dir: str | Path) -> str:
    """The runner's failure message, else the last ERROR line of log.lammps."""
    run_dir = Path(run_dir)
    failure = run_dir / FAILURE
    if failure.exists() and failure.read_text().strip():
        return failure.read_text().strip()
    log = run_dir / "log.lammps"
    if log.exists():
        errors = [line for line in log.read_text(errors="replace").splitlines() if "ERROR" in line]
        if errors:
            return errors[-1].strip()
    return "no error message (see the job log)"


def failure_state(run_dir: str | Path) -> dict:
    """The runner's record of where a failed run stood (dpglass.lammps.runner.state_at_failure)."""
    path = Path(run_dir) / FAILURE_STATE
    return json.loads(path.read_text()) if path.exists() else {}


def describe_state(state: dict, type_map: list[str]) -> str:
    """'at step 340 (T = 1012 K); closest pair Na 5 - Cl 17 at 0.52 Å' (atom ids as in LAMMPS)."""
    if not state:
        return "step and closest pair unknown (an MPI run: rerun it on one process)"
    where = f"at step {state['step']}"
    if "temperature_K" in state:
        where += f" (T = {state['temperature_K']:.0f} K)"
    pair = state.get("closest_pair")
    if pair is None:
        return f"{where}; no pair of atoms closer than {state['closest_pair_search_A']:g} Å"

    def species(lammps_type: int) -> str:
        return type_map[lammps_type - 1] if 0 < lammps_type <= len(type_map) else f"type {lammps_type}"

    (a, b), (ta, tb) = pair["ids"], pair["types"]
    return (f"{where}; closest pair {species(ta)} {a} - {species(tb)} {b} at "
            f"{pair['distance_A']:.2f} Å")


def diagnose(message: str, models: list[str], type_map: list[str], temperature_K: float | None = None,
             halt_factor: float | None = None) -> str:
    """Turn a LAMMPS/DeePMD error into a message that says what to fix."""
    text = message.lower()
    if "unrecognized pair style" in text or "unknown pair style" in text or "deepmd" in text and "plugin" in text:
        return (f"LAMMPS has no `pair_style deepmd`: the DeePMD-kit plugin was not loaded "
                f"(LAMMPS_PLUGIN_PATH={os.environ.get('LAMMPS_PLUGIN_PATH', '<unset>')}). Fix: install "
                f"deepmd-kit[lmp] in this environment (bash envs/setup.sh) and load LAMMPS through "
                f"dpglass.lammps.loader. LAMMPS said: {message}")
    type_words = ("type_map", "type map", "not found in the model", "pair_coeff", "incorrect args for pair coeff",
                  "unknown element", "not in the type map")
    if any(word in text for word in type_words):
        return (f"the species do not match the model's type_map: LAMMPS types are {type_map} "
                f"(dpglass.core.composition order); check that the models were trained on this composition's "
                f"species and that pair_coeff names them. LAMMPS said: {message}")
    model_words = ("graph", "protobuf", "parse", "model file", "not found", "no such file", "cannot open",
                   "failed to load", "invalid", "deepmd")
    if any(word in text for word in model_words):
        unreadable = [m for m in models if not Path(m).is_file() or Path(m).stat().st_size == 0]
        which = f" (missing or empty: {', '.join(unreadable)})" if unreadable else ""
        return (f"a model file is unreadable{which}: check {', '.join(models)} are frozen/compressed "
                f"DeePMD-kit models of the backend this LAMMPS loads (rerun `dp freeze`/`dp compress`). "
                f"LAMMPS said: {message}")
    if "fix halt" in text or "lost atoms" in text or "nan" in text or "blew up" in text:
        limit = (f"{halt_factor * temperature_K:g} K" if halt_factor and temperature_K else "the limit")
        return (f"the MD blew up (temperature above {limit}, lost atoms or a NaN energy); no trajectory is "
                f"reported for it. Check the model deviation (model_devi/), the timestep and the "
                f"quenched structure. LAMMPS said: {message}")
    return f"LAMMPS failed: {message}"
