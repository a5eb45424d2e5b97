"""Melt-quench MD with the reference calculator, labelling frames on the way.

Protocol (paper: PBE AIMD, 600 K for 30 ps, cool at 100 K/ps to 300 K, hold): Langevin MD with a
piecewise-linear temperature schedule. Every `sample_every_steps` the frame (positions, energy,
forces, stress from the same calculation that drove the MD) is appended to an extxyz file.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dpglass.progress import Progress


class MDGuardError(RuntimeError):
    """The MD left physical ground (NaN, temperature runaway, atoms on top of each other)."""


@dataclass(frozen=True)
class Schedule:
    """Target temperature vs time: hold at t_melt, cool linearly, hold at t_final."""

    t_melt_K: float
    t_melt_ps: float
    cool_rate_K_per_ps: float
    t_final_K: float
    t_hold_ps: float

    @property
    def cool_ps(self) -> float:
        return (self.t_melt_K - self.t_final_K) / self.cool_rate_K_per_ps

    @property
    def total_ps(self) -> float:
        return self.t_melt_ps + self.cool_ps + self.t_hold_ps

    def target_K(self, time_ps: float) -> float:
        if time_ps <= self.t_melt_ps:
            return self.t_melt_K
        if time_ps <= self.t_melt_ps + self.cool_ps:
            return self.t_melt_K - (time_ps - self.t_melt_ps) * self.cool_rate_K_per_ps
        return self.t_final_K


def prerelax(atoms, steps: int, fmax: float = 0.5, log=None) -> None:
    """FIRE on positions: a random packing releases ~1 eV/atom, which would heat the MD to thousands of K."""
    if steps <= 0:
        return
    from ase.optimize import FIRE

    FIRE(atoms, logfile=log).run(fmax=fmax, steps=steps)


def run_melt_quench(atoms, calc, schedule: Schedule, timestep_fs: float, friction_per_fs: float,
                    sample_every_steps: int, seed: int, frames_path: str | Path, trace_path: str | Path,
                    max_temperature_K: float = 3000.0, min_distance_A: float = 0.6):
    """Run the schedule; write labelled frames and the T/E/density trace. Returns the final Atoms."""
    from ase import units
    from ase.constraints import FixCom
    from ase.calculators.singlepoint import SinglePointCalculator
    from ase.io import write
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary

    atoms.calc = calc
    atoms.set_constraint(FixCom())  # no centre-of-mass drift (Langevin's fixcm is deprecated)
    rng = np.random.default_rng(seed)
    MaxwellBoltzmannDistribution(atoms, temperature_K=schedule.t_melt_K, rng=rng)
    Stationary(atoms)
    dyn = Langevin(atoms, timestep=timestep_fs * units.fs, temperature_K=schedule.t_melt_K,
                   friction=friction_per_fs / units.fs, fixcm=False, rng=rng)
    n_chunks = math.ceil(schedule.total_ps * 1000.0 / timestep_fs / sample_every_steps)
    mass_g = atoms.get_masses().sum() / 6.02214076e23
    progress = Progress(n_chunks * sample_every_steps, "melt-quench MD steps")
    frames_path, trace_path = Path(frames_path), Path(trace_path)
    frames_tmp = frames_path.with_suffix(".partial.extxyz")
    frames_tmp.unlink(missing_ok=True)
    rows = []
    for chunk in range(n_chunks + 1):
        step = chunk * sample_every_steps
        time_ps = step * timestep_fs / 1000.0
        target = schedule.target_K(time_ps)
        if chunk > 0:
            dyn.set_temperature(temperature_K=target)
            dyn.run(sample_every_steps)
        energy = atoms.get_potential_energy()
        forces = atoms.get_forces()
        stress = atoms.get_stress()
        temperature = atoms.get_temperature()
        _guard(atoms, energy, forces, temperature, step, max_temperature_K, min_distance_A)
        frame = atoms.copy()
        frame.calc = SinglePointCalculator(frame, energy=energy, forces=forces, stress=stress)
        frame.info.update(time_ps=time_ps, target_temperature_K=target, temperature_K=temperature)
        write(frames_tmp, frame, format="extxyz", append=True)
        density = mass_g / (atoms.get_volume() * 1e-24)
        rows.append((time_ps, target, temperature, energy / len(atoms), density))
        progress.update(step, extra=f"T={temperature:.0f} K (target {target:.0f} K)")
    frames_tmp.replace(frames_path)
    with open(trace_path, "w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["time_ps", "target_K", "temperature_K", "epot_eV_per_atom", "density_g_cm3"])
        out.writerows(rows)
    return atoms


def _guard(atoms, energy, forces, temperature, step, max_temperature_K, min_distance_A):
    if not (np.isfinite(energy) and np.all(np.isfinite(forces)) and np.all(np.isfinite(atoms.positions))):
        raise MDGuardError(f"step {step}: NaN in energy, forces or positions")
    if temperature > max_temperature_K:
        raise MDGuardError(f"step {step}: temperature {temperature:.0f} K above "
                           f"melt_quench.max_temperature_K = {max_temperature_K:g} K (runaway)")
    distances = atoms.get_all_distances(mic=True)
    np.fill_diagonal(distances, np.inf)
    if distances.min() < min_distance_A:
        raise MDGuardError(f"step {step}: atoms {distances.min():.2f} Å apart (< {min_distance_A} Å)")


def read_trace(path: str | Path) -> dict[str, np.ndarray]:
    data = np.genfromtxt(path, delimiter=",", names=True)
    return {name: data[name] for name in data.dtype.names}


def plot_trace(trace_path: str | Path, png_path: str | Path, title: str = "") -> None:
    """Temperature (target and instantaneous), potential energy and density vs time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    trace = read_trace(trace_path)
    fig, axes = plt.subplots(3, 1, figsize=(6, 7), sharex=True)
    axes[0].plot(trace["time_ps"], trace["temperature_K"], lw=0.8, label="instantaneous")
    axes[0].plot(trace["time_ps"], trace["target_K"], "k--", lw=1.2, label="target")
    axes[0].set_ylabel("T (K)")
    axes[0].legend(frameon=False)
    axes[1].plot(trace["time_ps"], trace["epot_eV_per_atom"], lw=0.8)
    axes[1].set_ylabel("E_pot (eV/atom)")
    axes[2].plot(trace["time_ps"], trace["density_g_cm3"], lw=0.8)
    axes[2].set_ylabel("density (g/cm³)")
    axes[2].set_xlabel("time (ps)")
    if title:
        axes[0].set_title(title)
    fig.tight_layout()
    fig.savefig(png_path, dpi=120)
    plt.close(fig)
