"""An exploration of the learning loop, the parts that are not a rule: the frame it starts from,
the record of a run whose MD blew up, the ion's transport in it, and its frames read back.
The rule (dpglass.steps.learning.explore) runs the MD through dpglass.lammps.jobs."""

from __future__ import annotations

import os

from dpglass.core.io import read_json
from dpglass.core.units import quantity


def start_frame(frames_path: str, split_path: str, slot: int):
    """(index, Atoms) of the labelled frame an exploration starts from: a training frame of the
    melt-quench hold (never a validation frame, whose error the loop reports), the `slot`-th of
    them in spread_order, so no two explorations of a glass share a start while the hold has
    frames enough."""
    from ase.io import read

    from dpglass.learning.settings import spread_order

    frames = read(frames_path, index=":")
    training = {i for a, b in read_json(split_path)["training_frames"] for i in range(a, b)}
    hold = [i for i, a in enumerate(frames) if a.info.get("phase") == "hold" and i in training]
    if not hold:
        raise ValueError(f"{frames_path}: no training frame of the melt-quench hold to start an "
                         f"exploration from (melt_quench.hold_time_ps, train.validation_fraction)")
    index = hold[spread_order(len(hold))[slot % len(hold)]]
    return index, frames[index]


def blown_up_run(spec, settings: dict, models: list[str], type_map: list[str], error: Exception):
    """run.json fields, deviations and unreached frame count of an exploration whose MD blew up;
    re-raises `error` when the run did not get to MD (no failure state: a model or input error)."""
    import numpy as np

    from dpglass.lammps.deviation import read_model_deviation
    from dpglass.lammps.errors import describe_state, failure_state
    from dpglass.lammps.outputs import salvage_dump
    from dpglass.core.units import steps_for

    state = failure_state(spec.run_dir)
    if "step" not in state:
        raise error
    kept = salvage_dump(spec.run_dir, spec.dump)
    steps, devi = read_model_deviation(spec.run_dir)
    on_disk = np.isin(steps, kept)  # selection reads the frames back from the dump
    steps, devi = steps[on_disk], devi[on_disk]
    every = settings["dump_every_steps"]
    planned = steps_for(settings["production_ps"], settings["timestep_fs"]) // every + 1
    result = {"temperature": quantity(spec.temperature_K, unit="K"), "replica": spec.replica,
              "frames": len(kept), "dump_every_steps": every,
              "models": [os.path.relpath(m, spec.run_dir) for m in models], "type_map": type_map,
              "stopping": None}
    blew_up = {"step": state["step"], "where": describe_state(state, type_map),
               "message": str(error)}
    return result, steps, devi, max(0, planned - len(devi)), blew_up


def exploration_transport(dump: str, ion: str, temperature_K: float, type_map: list[str], timestep_fs: float,
               hop_distance_A: float) -> dict:
    """The ion's D (or its upper bound) in an exploration run; short runs are rarely diffusive."""
    from dpglass.analysis.conductivity import analyze_diffusion

    try:
        result = analyze_diffusion(dump, ion, temperature_K, fmt="lammps-dump", type_map=type_map,
                                   timestep_fs=timestep_fs, hop_distance_A=hop_distance_A)
    except ValueError as err:
        return {"diffusive": False, "D": None, "D_upper_bound": None, "note": str(err)}
    return {"diffusive": result["diffusive"], "D": result["D"] if result["diffusive"] else None,
            "D_upper_bound": result.get("D_upper_bound"),
            "note": "; ".join(result.get("not_diffusive_because") or [])}


def dump_atoms(dump: str, type_map: list[str], steps: set[int]) -> dict:
    from ase import Atoms

    from dpglass.analysis.trajectory import iter_frames

    out = {}
    for frame in iter_frames(dump, fmt="lammps-dump", type_map=type_map):
        if frame.step in steps:
            out[frame.step] = Atoms(symbols=list(frame.symbols), positions=frame.positions,
                                    cell=frame.cell, pbc=True)
            out[frame.step].wrap()
    return out
