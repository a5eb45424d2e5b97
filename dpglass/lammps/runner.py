"""Running a run directory's in.lammps: the runner process and the command that starts it.

Run it as `python -m dpglass.lammps.runner RUN_DIR` (optionally under mpirun/srun); it executes
exactly the in.lammps in RUN_DIR, so `lmp -in in.lammps` from that directory does the same.
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

from dpglass.lammps.errors import LammpsRunError
from dpglass.lammps.inputs import FAILURE, FAILURE_STATE
from dpglass.lammps.loader import import_lammps
from dpglass.lammps.monitor import completed_step
from dpglass.core.units import quantity


def _rank() -> int:
    for name in ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "SLURM_PROCID"):
        if name in os.environ:
            return int(os.environ[name])
    return 0


LOOP_TIME = re.compile(r"^Loop time of (\S+) on \d+ procs for (\d+) steps")
CPU_USE = re.compile(r"^(\S+)% CPU use")


def loops(log_text: str) -> list[tuple[float, int, float]]:
    """(seconds, steps, seconds on a core) of each MD loop in a LAMMPS log ("Loop time of ..."
    lines, each with its "% CPU use" line), in order. The first loop of a process also pays the
    model's warm-up (TensorFlow's first evaluations: 22 ms/step against 3 ms/step after it on
    the 42-atom test cell, paid again by every chunk's fresh pair_style): see step_time."""
    found_loops, pending = [], None
    for line in log_text.splitlines():
        if found := LOOP_TIME.match(line):
            pending = (float(found.group(1)), int(found.group(2)))
        elif pending is not None and (found := CPU_USE.match(line)):
            seconds, steps = pending
            found_loops.append((seconds, steps, seconds * min(1.0, float(found.group(1)) / 100.0)))
            pending = None
    if pending is not None:  # a loop without its CPU-use line: count its seconds on a core
        found_loops.append((pending[0], pending[1], pending[0]))
    return found_loops


def loop_time(log_text: str) -> tuple[float, int, float]:
    """Seconds and steps of the MD loops in a LAMMPS log: the run's time without start-up (model
    loading, neighbour setup, restart I/O); and the same seconds counting only the share the
    process had a core for (× its "% CPU use", at most 1), the time on a core of its own, which
    does not depend on what else the machine was running."""
    return loop_totals(loops(log_text))


def loop_totals(found: list[tuple[float, int, float]]) -> tuple[float, int, float]:
    """(seconds, steps, seconds on a core) summed over the loops `loops` found."""
    return (sum(x[0] for x in found), sum(x[1] for x in found), sum(x[2] for x in found))


def step_time(short: tuple[float, int, float], long: tuple[float, int, float]
              ) -> tuple[float, float] | None:
    """(seconds on a core per MD step, warm-up seconds per loop) from two loops of different
    lengths that each start a fresh `pair_style deepmd` (every chunk of a dpglass run does, so
    each pays the model's warm-up W): loop = W + steps x t. None when they do not resolve t."""
    (_, n_short, s_short), (_, n_long, s_long) = short, long
    if n_long <= n_short or s_long <= s_short:
        return None
    per_step = (s_long - s_short) / (n_long - n_short)
    return per_step, max(0.0, s_short - n_short * per_step)


CLOSE_CONTACT_SEARCH_A = 3.0  # the closest pair is looked for within this distance


def state_at_failure(lmp) -> dict:
    """Where a failed run stood: step, temperature, and its closest pair of atoms (ids, LAMMPS
    types, distance in Å; None when no pair is within CLOSE_CONTACT_SEARCH_A). Single-process
    runs only (gathering the atoms is collective); {} when LAMMPS cannot say."""
    import numpy as np
    from ase import Atoms
    from ase.neighborlist import neighbor_list

    try:
        if int(lmp.extract_setting("world_size")) != 1:
            return {}
        state = {"step": int(lmp.get_thermo("step"))}
        try:
            state["temperature_K"] = float(lmp.get_thermo("temp"))
        except Exception:  # the temperature compute may not be current after an error
            pass
        natoms = int(lmp.get_natoms())
        positions = np.array(lmp.gather_atoms("x", 1, 3)).reshape(natoms, 3)
        types = np.array(lmp.gather_atoms("type", 0, 1))
        boxlo, boxhi, xy, yz, xz, periodicity, _ = lmp.extract_box()
        lengths = np.subtract(boxhi, boxlo)
        cell = [[lengths[0], 0, 0], [xy, lengths[1], 0], [xz, yz, lengths[2]]]
    except Exception:
        return {}
    atoms = Atoms(numbers=types, positions=positions - np.array(boxlo), cell=cell,
                  pbc=[bool(p) for p in periodicity])
    first, second, distance = neighbor_list("ijd", atoms, CLOSE_CONTACT_SEARCH_A)
    if len(distance):
        k = int(np.argmin(distance))
        i, j = sorted((int(first[k]), int(second[k])))
        state["closest_pair"] = {"ids": [i + 1, j + 1], "types": [int(types[i]), int(types[j])],
                                 "distance_A": float(distance[k])}
    else:
        state["closest_pair"] = None
    state["closest_pair_search_A"] = CLOSE_CONTACT_SEARCH_A
    return state


def run_in_lammps(run_dir: str | Path, in_file: str = "in.lammps", log_file: str = "log.lammps",
                  until: int | None = None) -> dict:
    """Run `in_file` inside `run_dir` through the LAMMPS python module; returns timing and size.

    until: skip chunks that end after this step (LAMMPS variable `until`; an adaptive run)."""
    lammps_cls = import_lammps()
    run_dir = Path(run_dir).resolve()
    start_step = completed_step(run_dir)
    cwd = os.getcwd()
    os.chdir(run_dir)
    try:
        extra = ["-var", "until", str(until)] if until is not None else []
        lmp = lammps_cls(cmdargs=["-log", log_file, "-screen", "none", "-nocite", *extra])
        try:
            start = time.perf_counter()
            try:
                lmp.file(in_file)
            except Exception as err:  # LAMMPS errors arrive as plain Exceptions
                error = LammpsRunError(str(err).strip())
                error.state = state_at_failure(lmp)
                raise error from None
            wall = time.perf_counter() - start
            natoms = int(lmp.get_natoms())
            step = int(lmp.get_thermo("step"))
            nprocs = int(lmp.extract_setting("world_size"))
        finally:
            lmp.close()
        log_text = Path(log_file).read_text() if Path(log_file).exists() else ""
        found = loops(log_text)
        loop_s, loop_steps, loop_core_s = loop_totals(found)
    finally:
        os.chdir(cwd)
    return {"wall_s": wall, "natoms": natoms, "last_step": step, "first_step": start_step,
            "mpi_ranks": nprocs, "loop_s": loop_s, "loop_steps": loop_steps,
            "loop_core_s": loop_core_s, "loops": found}


def throughput(natoms: int, steps: int, timestep_fs: float, wall_s: float) -> dict:
    return {
        "katom_step_per_s": quantity(natoms * steps / wall_s / 1000.0, unit="katom-step/s"),
        "ns_per_day": quantity(steps * timestep_fs * 1e-6 / wall_s * 86400.0, unit="ns/day"),
    }


def runner_command(run_dir: str | Path, tasks: int = 1, mpi: str | None = None,
                   python: str | None = None, until: int | None = None) -> list[str]:
    """The command a sweep job runs: this module, under `mpirun -np N` or `srun` when asked."""
    python = python or sys.executable
    command = [python, "-m", "dpglass.lammps.runner", str(run_dir)]
    if until is not None:
        command += ["--until", str(until)]
    if mpi is None or (tasks <= 1 and mpi != "srun"):
        return command
    if mpi == "srun":
        return ["srun", "-n", str(tasks), *command]
    if mpi in ("mpirun", "mpiexec"):
        launcher = Path(python).with_name(mpi)  # the mpich wheel's launcher, matching libmpi
        return [str(launcher if launcher.exists() else mpi), "-np", str(tasks), *command]
    raise ValueError(f"unknown MPI launcher {mpi!r}: use mpirun, mpiexec or srun")


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Run RUN_DIR/in.lammps through the LAMMPS python module.")
    parser.add_argument("run_dir")
    parser.add_argument("--in", dest="in_file", default="in.lammps")
    parser.add_argument("--until", type=int, default=None,
                        help="stop after the chunk that ends at this step (adaptive runs)")
    args = parser.parse_args(argv)
    run_dir = Path(args.run_dir)
    failure, state = run_dir / FAILURE, run_dir / FAILURE_STATE
    if _rank() == 0:
        failure.unlink(missing_ok=True)
        state.unlink(missing_ok=True)
    try:
        timing = run_in_lammps(run_dir, args.in_file, until=args.until)
    except Exception as err:
        if _rank() == 0:
            import json

            if getattr(err, "state", None):
                state.write_text(json.dumps(err.state))
            failure.write_text(f"{err}\n")
            print(f"ERROR: {err}", file=sys.stderr, flush=True)
        return 1
    if _rank() == 0:
        import json

        (run_dir / "timing.json").write_text(json.dumps(timing))
    return 0


if __name__ == "__main__":
    sys.exit(main())
