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
from dpglass.lammps.inputs import FAILURE
from dpglass.lammps.loader import import_lammps
from dpglass.lammps.progress import completed_step
from dpglass.units import quantity


def _rank() -> int:
    for name in ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "SLURM_PROCID"):
        if name in os.environ:
            return int(os.environ[name])
    return 0


LOOP_TIME = re.compile(r"^Loop time of (\S+) on \d+ procs for (\d+) steps")
CPU_USE = re.compile(r"^(\S+)% CPU use")


def loop_time(log_text: str) -> tuple[float, int, float]:
    """Seconds and steps of the MD loops in a LAMMPS log ("Loop time of ..." lines): the run's
    time without start-up (model loading, neighbour setup, restart I/O); and the same seconds
    counting only the share the process had a core for (× its "% CPU use", at most 1), the
    time on a core of its own, which does not depend on what else the machine was running."""
    wall, steps, on_core = 0.0, 0, 0.0
    pending = None
    for line in log_text.splitlines():
        if found := LOOP_TIME.match(line):
            pending = float(found.group(1))
            wall += pending
            steps += int(found.group(2))
        elif pending is not None and (found := CPU_USE.match(line)):
            on_core += pending * min(1.0, float(found.group(1)) / 100.0)
            pending = None
    return wall, steps, on_core


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
                raise LammpsRunError(str(err).strip()) from None
            wall = time.perf_counter() - start
            natoms = int(lmp.get_natoms())
            step = int(lmp.get_thermo("step"))
            nprocs = int(lmp.extract_setting("world_size"))
        finally:
            lmp.close()
        loop_s, loop_steps, loop_core_s = (loop_time(Path(log_file).read_text())
                                           if Path(log_file).exists() else (0.0, 0, 0.0))
    finally:
        os.chdir(cwd)
    return {"wall_s": wall, "natoms": natoms, "last_step": step, "first_step": start_step,
            "mpi_ranks": nprocs, "loop_s": loop_s, "loop_steps": loop_steps,
            "loop_core_s": loop_core_s}


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
    failure = run_dir / FAILURE
    if _rank() == 0:
        failure.unlink(missing_ok=True)
    try:
        timing = run_in_lammps(run_dir, args.in_file, until=args.until)
    except Exception as err:
        if _rank() == 0:
            failure.write_text(f"{err}\n")
            print(f"ERROR: {err}", file=sys.stderr, flush=True)
        return 1
    if _rank() == 0:
        import json

        (run_dir / "timing.json").write_text(json.dumps(timing))
    return 0


if __name__ == "__main__":
    sys.exit(main())
