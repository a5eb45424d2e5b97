"""Melt-quench MD with the reference calculator, sampling labelled frames on the way.

Protocol (paper: PBE AIMD, 600 K for 30 ps with 1 fs steps, cell relaxation, cool at 100 K/ps to
300 K, hold): optional density protocol (cell relaxation or NPT at the melt temperature), then NVT
with a piecewise-linear temperature schedule (melt, cool, hold), then optional short sampling runs
at chosen temperatures from the quenched glass, so the training data also covers the sweep range.
Every `sample_every_steps` the frame (positions, energy, forces, stress of the calculation that
drove the MD) is appended to an extxyz file and a row to the T/E/density trace.
"""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dpglass.reference.cells import density_g_cm3
from dpglass.core.composition import SPECIES_ORDER
from dpglass.core.progress import Progress
from dpglass.core.units import quantity, steps_for

THERMOSTATS = ("langevin", "bussi", "nose-hoover", "berendsen")
BAROSTATS = ("berendsen", "mtk")
DENSITY_PROTOCOLS = ("fixed", "relax", "npt")
EV_PER_A3_IN_BAR = 1.602176634e6  # 1 eV/Å³ = 160.2 GPa = 1.602e6 bar
FS_PER_PS = 1000.0


class MDGuardError(RuntimeError):
    """The MD left physical ground (NaN, temperature runaway, atoms on top of each other)."""


@dataclass(frozen=True)
class Schedule:
    """Target temperature vs time: melt, cool linearly, hold at the final temperature."""

    melt_temperature_K: float
    melt_time_ps: float
    cool_rate_K_per_ps: float
    final_temperature_K: float
    hold_time_ps: float

    @property
    def cool_ps(self) -> float:
        return (self.melt_temperature_K - self.final_temperature_K) / self.cool_rate_K_per_ps

    @property
    def total_ps(self) -> float:
        return self.melt_time_ps + self.cool_ps + self.hold_time_ps

    def phase(self, time_ps: float) -> str:
        if time_ps <= self.melt_time_ps:
            return "melt"
        if time_ps <= self.melt_time_ps + self.cool_ps:
            return "cool"
        return "hold"

    def target_K(self, time_ps: float) -> float:
        if time_ps <= self.melt_time_ps:
            return self.melt_temperature_K
        if time_ps <= self.melt_time_ps + self.cool_ps:
            return self.melt_temperature_K - (time_ps - self.melt_time_ps) * self.cool_rate_K_per_ps
        return self.final_temperature_K


def schedule_from(protocol: dict) -> Schedule:
    return Schedule(protocol["melt_temperature_K"], protocol["melt_time_ps"], protocol["cool_rate_K_per_ps"],
                    protocol["final_temperature_K"], protocol["hold_time_ps"])


# --- thermostats -------------------------------------------------------------------------------

def make_thermostat(kind: str, atoms, timestep_fs: float, temperature_K: float, damping_ps: float,
                    rng):
    """NVT dynamics by name; `damping_ps` is the coupling time (Langevin friction = 1/damping)."""
    from ase import units

    dt = timestep_fs * units.fs
    damping = damping_ps * FS_PER_PS * units.fs
    if kind == "langevin":
        from ase.md.langevin import Langevin

        return Langevin(atoms, dt, temperature_K=temperature_K, friction=1.0 / damping,
                        fixcm=False, rng=rng)
    if kind == "bussi":
        from ase.md.bussi import Bussi

        return Bussi(atoms, dt, temperature_K=temperature_K, taut=damping, rng=rng)
    if kind == "nose-hoover":
        from ase.md.nose_hoover_chain import NoseHooverChainNVT

        return NoseHooverChainNVT(atoms, dt, temperature_K=temperature_K, tdamp=damping)
    if kind == "berendsen":
        from ase.md.nvtberendsen import NVTBerendsen

        return NVTBerendsen(atoms, dt, temperature_K=temperature_K, taut=damping,
                            fixcm=False)
    raise ValueError(f"melt_quench.thermostat {kind!r}: use one of {', '.join(THERMOSTATS)}")


def set_target_temperature(dyn, kind: str, temperature_K: float) -> None:
    """Move the thermostat's target without resetting its state (the ramp of the quench)."""
    from ase import units

    if kind in ("langevin", "berendsen"):
        dyn.set_temperature(temperature_K=temperature_K)
    elif kind == "bussi":  # ASE's Bussi has no setter; these two attributes are its target
        dyn.temp = units.kB * temperature_K
        dyn.target_kinetic_energy = 0.5 * dyn.temp * dyn.ndof
    elif kind == "nose-hoover":  # chain masses stay those of the start temperature
        dyn._thermostat._kT = units.kB * temperature_K
    else:
        raise ValueError(f"melt_quench.thermostat {kind!r}: use one of {', '.join(THERMOSTATS)}")


def make_barostat(kind: str, atoms, protocol: dict, rng=None):
    """NPT dynamics at the melt temperature: isotropic Berendsen or MTK (Nosé–Hoover chains)."""
    from ase import units

    dt = protocol["timestep_fs"] * units.fs
    pressure_au = protocol["pressure_bar"] / EV_PER_A3_IN_BAR
    taut = protocol["thermostat_damping_ps"] * FS_PER_PS * units.fs
    taup = protocol["barostat_damping_ps"] * FS_PER_PS * units.fs
    if kind == "berendsen":
        from ase.md.nptberendsen import NPTBerendsen

        return NPTBerendsen(atoms, dt, temperature_K=protocol["melt_temperature_K"], pressure_au=pressure_au,
                            taut=taut, taup=taup,
                            compressibility_au=protocol["compressibility_per_bar"] * EV_PER_A3_IN_BAR,
                            fixcm=True)
    if kind == "mtk":
        from ase.md.nose_hoover_chain import IsotropicMTKNPT

        return IsotropicMTKNPT(atoms, dt, temperature_K=protocol["melt_temperature_K"], pressure_au=pressure_au,
                               tdamp=taut, pdamp=taup)
    raise ValueError(f"melt_quench.barostat {kind!r}: use one of {', '.join(BAROSTATS)}")


# --- guards and displacement tracking ------------------------------------------------------------

def check_guards(atoms, energy, forces, temperature, where: str, max_temperature_K: float,
                 min_distance_A: float) -> None:
    """Stop with a clear error on NaN, temperature runaway or atoms closer than the guard distance."""
    if not (np.isfinite(energy) and np.all(np.isfinite(forces)) and np.all(np.isfinite(atoms.positions))):
        raise MDGuardError(f"{where}: NaN in energy, forces or positions")
    if temperature > max_temperature_K:
        raise MDGuardError(f"{where}: temperature {temperature:.0f} K above "
                           f"melt_quench.max_temperature_K = {max_temperature_K:g} K (runaway)")
    distances = atoms.get_all_distances(mic=True)
    np.fill_diagonal(distances, np.inf)
    i, j = np.unravel_index(np.argmin(distances), distances.shape)
    if distances[i, j] < min_distance_A:
        symbols = atoms.get_chemical_symbols()
        raise MDGuardError(f"{where}: atoms {i} ({symbols[i]}) and {j} ({symbols[j]}) are "
                           f"{distances[i, j]:.2f} Å apart, below melt_quench.guard_min_distance_A "
                           f"= {min_distance_A:g} Å")


class Displacements:
    """Unwrapped displacement of every atom since construction, from minimum-image steps between
    successive calls (valid while no atom moves half a cell between calls)."""

    def __init__(self, atoms):
        self._previous = atoms.get_scaled_positions(wrap=False)
        self.total = np.zeros((len(atoms), 3))
        self.symbols = atoms.get_chemical_symbols()

    def update(self, atoms) -> None:
        scaled = atoms.get_scaled_positions(wrap=False)
        step = scaled - self._previous
        step -= np.round(step)
        self.total += step @ np.asarray(atoms.cell)
        self._previous = scaled

    def rms_by_species(self) -> dict[str, float]:
        squared = np.einsum("ij,ij->i", self.total, self.total)
        symbols = np.array(self.symbols)
        species = sorted(set(self.symbols), key=SPECIES_ORDER.index)
        return {el: float(np.sqrt(squared[symbols == el].mean())) for el in species}


def memory_verdict(rms_by_species: dict[str, float], threshold_A: float) -> dict:
    """Did the melt lose memory of the start cell? Yes when every species' RMS displacement exceeds
    the threshold (the framework species Al, O are the last to let go)."""
    slowest = min(rms_by_species, key=rms_by_species.get)
    return {
        "rms_displacement": {el: quantity(v, unit="Å") for el, v in rms_by_species.items()},
        "threshold": quantity(threshold_A, unit="Å"),
        "slowest_species": slowest,
        "lost_memory": all(v > threshold_A for v in rms_by_species.values()),
    }


# --- the run ------------------------------------------------------------------------------------

class Recorder:
    """Samples frames (extxyz, appended to a partial file) and trace rows; runs the guards."""

    def __init__(self, frames_path: Path, protocol: dict, total_steps: int, calc_name: str):
        self.frames_tmp = frames_path.with_name(f".{frames_path.name}.partial")
        self.frames_tmp.unlink(missing_ok=True)
        self.frames_path = frames_path
        self.protocol = protocol
        self.calc_name = calc_name
        self.rows: list[tuple] = []
        self.frames_per_phase: dict[str, int] = {}
        self.progress = Progress(max(total_steps, 1), "melt-quench MD steps")
        self.steps_done = 0

    def sample(self, atoms, time_ps: float, phase: str, target_K: float) -> None:
        from ase.calculators.singlepoint import SinglePointCalculator
        from ase.io import write

        energy = atoms.get_potential_energy()
        forces = atoms.get_forces()
        stress = atoms.get_stress()
        temperature = atoms.get_temperature()
        check_guards(atoms, energy, forces, temperature, f"{phase} at {time_ps:.3f} ps",
                     self.protocol["max_temperature_K"], self.protocol["guard_min_distance_A"])
        frame = atoms.copy()
        frame.set_constraint()
        frame.calc = SinglePointCalculator(frame, energy=energy, forces=forces, stress=stress)
        frame.info.update(time_ps=round(time_ps, 6), phase=phase, target_temperature_K=target_K,
                          temperature_K=temperature, calculator=self.calc_name)
        write(self.frames_tmp, frame, format="extxyz", append=True)
        self.frames_per_phase[phase] = self.frames_per_phase.get(phase, 0) + 1
        self.rows.append((round(time_ps, 6), phase, target_K, temperature, energy / len(atoms),
                          density_g_cm3(atoms)))
        self.progress.update(self.steps_done, extra=f"{phase}: T={temperature:.0f} K "
                                                    f"(target {target_K:.0f} K)")

    def run(self, dyn, atoms, steps: int, time0_ps: float, phase_of, target_of,
            thermostat: str | None = None, on_sample=None) -> float:
        """Advance `steps` MD steps in chunks of sample_every_steps, sampling after each chunk.

        phase_of/target_of map the time since the segment start (ps) to its phase and target T.
        Returns the time at the end of the segment.
        """
        every = self.protocol["sample_every_steps"]
        dt_ps = self.protocol["timestep_fs"] / 1000.0
        done = 0
        while done < steps:
            chunk = min(every, steps - done)
            if thermostat is not None:
                set_target_temperature(dyn, thermostat, target_of((done + chunk / 2) * dt_ps))
            dyn.run(chunk)
            done += chunk
            self.steps_done += chunk
            t = done * dt_ps
            if on_sample is not None:
                on_sample(atoms)
            self.sample(atoms, time0_ps + t, phase_of(t), target_of(t))
        return time0_ps + steps * dt_ps

    def finish(self, trace_path: Path) -> None:
        self.frames_tmp.replace(self.frames_path)
        write_trace(trace_path, self.rows)


def prerelax(atoms, steps: int, fmax: float = 0.5, log=None) -> None:
    """FIRE on positions: a random packing releases ~1 eV/atom, which would heat the MD to thousands of K."""
    if steps <= 0:
        return
    from ase.optimize import FIRE

    FIRE(atoms, logfile=log).run(fmax=fmax, steps=steps)


def relax_cell(atoms, steps: int, fmax: float, pressure_bar: float = 0.0, log=None) -> None:
    """Relax positions and volume together (FrechetCellFilter, hydrostatic: the cubic shape of a
    liquid cell is kept, only its size changes) with FIRE, `steps` at most."""
    from ase.filters import FrechetCellFilter
    from ase.optimize import FIRE

    cell_filter = FrechetCellFilter(atoms, hydrostatic_strain=True,
                                    scalar_pressure=pressure_bar / EV_PER_A3_IN_BAR)
    FIRE(cell_filter, logfile=log).run(fmax=fmax, steps=steps)


def _maxwell_boltzmann(atoms, temperature_K: float, rng) -> None:
    from ase.md.velocitydistribution import Stationary, thermalize_momenta

    thermalize_momenta(atoms, temperature_K, rng=rng)
    Stationary(atoms)


def run_melt_quench(atoms, calc, protocol: dict, frames_path: str | Path, trace_path: str | Path,
                    calc_name: str = "reference", log=print):
    """Density protocol, melt, cool, hold, sampling runs. Returns (quenched Atoms, report dict).

    `atoms` should already be pre-relaxed with `calc`. Frames go to `frames_path` (extxyz with
    energy, forces, stress and info: phase, time_ps, temperatures), the trace to `trace_path` (CSV).
    """
    from ase.constraints import FixCom

    frames_path, trace_path = Path(frames_path), Path(trace_path)
    schedule = schedule_from(protocol)
    thermostat = protocol["thermostat"]
    damping = protocol["thermostat_damping_ps"]
    timestep = protocol["timestep_fs"]
    rng = np.random.default_rng(protocol["seed"])
    atoms.calc = calc
    density_start = density_g_cm3(atoms)
    density_protocol = protocol["density_protocol"]
    npt_steps = steps_for(protocol["npt_ps"], timestep) if density_protocol == "npt" else 0
    nvt_steps = steps_for(schedule.total_ps, timestep)
    sample_steps = steps_for(protocol["sampling_ps"], timestep)
    total = npt_steps + nvt_steps + sample_steps * len(protocol["sampling_temperatures_K"])
    start_wall = time.perf_counter()
    if density_protocol == "relax":
        relax_cell(atoms, protocol["relax_steps"], protocol["relax_fmax_eV_per_A"],
                   protocol["pressure_bar"], log="-")
    recorder = Recorder(frames_path, protocol, total, calc_name)  # its ETA counts MD steps only
    time_ps = 0.0
    if density_protocol == "npt":
        _maxwell_boltzmann(atoms, schedule.melt_temperature_K, rng)
        dyn = make_barostat(protocol["barostat"], atoms, protocol, rng)
        volumes: list[float] = []
        time_ps = recorder.run(dyn, atoms, npt_steps, 0.0, lambda t: "npt",
                               lambda t: schedule.melt_temperature_K,
                               on_sample=lambda a: volumes.append(a.get_volume()))
        # A small cell's volume fluctuates by percent; settle on the mean of the second half.
        mean_volume = float(np.mean(volumes[len(volumes) // 2:]))
        atoms.set_cell(atoms.cell * (mean_volume / atoms.get_volume()) ** (1 / 3), scale_atoms=True)
    density_after = density_g_cm3(atoms)
    log(f"density: {density_start:.4f} g/cm^3 (start cell) -> {density_after:.4f} g/cm^3 after "
        f"density protocol '{density_protocol}'")

    log(f"schedule: {schedule.melt_time_ps} ps at {schedule.melt_temperature_K} K, cool {schedule.cool_ps:.2f} ps "
        f"to {schedule.final_temperature_K} K, hold {schedule.hold_time_ps} ps; total {schedule.total_ps:.2f} ps; "
        f"thermostat {thermostat}, damping {damping} ps, timestep {timestep} fs")
    if thermostat != "nose-hoover":
        atoms.set_constraint(FixCom())  # no centre-of-mass drift from the stochastic thermostats
    if density_protocol != "npt":
        _maxwell_boltzmann(atoms, schedule.melt_temperature_K, rng)
    dyn = make_thermostat(thermostat, atoms, timestep, schedule.melt_temperature_K, damping, rng)
    melt_steps = steps_for(schedule.melt_time_ps, timestep)
    tracker = Displacements(atoms)
    time_melt_end = recorder.run(dyn, atoms, melt_steps, time_ps, lambda t: "melt",
                                 lambda t: schedule.melt_temperature_K, thermostat, on_sample=tracker.update)
    memory = memory_verdict(tracker.rms_by_species(), protocol["memory_loss_rms_A"])
    rms_text = ", ".join(f"{el} {v['value']:.2f} Å" for el, v in memory["rms_displacement"].items())
    log(f"melt: RMS displacement (unwrapped) over {schedule.melt_time_ps} ps at {schedule.melt_temperature_K} K: "
        f"{rms_text}; memory of the start cell "
        f"{'LOST' if memory['lost_memory'] else 'NOT lost'} (every species > "
        f"{protocol['memory_loss_rms_A']} Å; slowest {memory['slowest_species']})")
    rest = nvt_steps - melt_steps
    offset = schedule.melt_time_ps
    time_ps = recorder.run(dyn, atoms, rest, time_melt_end,
                           lambda t: schedule.phase(offset + t), lambda t: schedule.target_K(offset + t),
                           thermostat)
    quenched = atoms.copy()
    quenched.set_constraint()
    quenched.calc = None
    final_temperature = atoms.get_temperature()

    sampling = []
    for n, temperature in enumerate(protocol["sampling_temperatures_K"]):
        run_atoms = quenched.copy()
        run_atoms.calc = calc
        if thermostat != "nose-hoover":
            run_atoms.set_constraint(FixCom())
        run_rng = np.random.default_rng([protocol["seed"], n + 1])
        _maxwell_boltzmann(run_atoms, temperature, run_rng)
        run_dyn = make_thermostat(thermostat, run_atoms, timestep, temperature, damping, run_rng)
        phase = f"sample_{temperature:g}K"
        before = len(recorder.rows)
        time_ps = recorder.run(run_dyn, run_atoms, sample_steps, time_ps, lambda t, p=phase: p,
                               lambda t, T=temperature: T, thermostat)
        temps = [row[3] for row in recorder.rows[before:]]
        sampling.append({"target": quantity(temperature, unit="K"),
                         "mean_temperature": quantity(float(np.mean(temps)), float(np.std(temps)), "K"),
                         "frames": len(temps)})
        log(f"sampling run at {temperature:g} K: {protocol['sampling_ps']} ps, mean T "
            f"{np.mean(temps):.0f} ± {np.std(temps):.0f} K, {len(temps)} frames")
    recorder.finish(trace_path)
    wall = time.perf_counter() - start_wall
    report = {
        "n_atoms": len(atoms),
        "calculator": calc_name,
        "thermostat": thermostat,
        "density_protocol": density_protocol,
        "density": {"start_cell": quantity(density_start, unit="g/cm^3"),
                    "after_density_protocol": quantity(density_after, unit="g/cm^3"),
                    "quenched": quantity(density_g_cm3(quenched), unit="g/cm^3")},
        "schedule": {"melt": quantity(schedule.melt_time_ps, unit="ps"),
                     "cool": quantity(schedule.cool_ps, unit="ps"),
                     "hold": quantity(schedule.hold_time_ps, unit="ps"),
                     "npt": quantity(npt_steps * timestep / 1000.0, unit="ps")},
        "final_temperature": quantity(final_temperature, unit="K"),
        "melt_memory": memory,
        "sampling_runs": sampling,
        "frames_per_phase": recorder.frames_per_phase,
        "md_steps": total,
        "wall_time": quantity(wall, unit="s"),
        "time_per_step": quantity(wall / max(total, 1), unit="s"),
    }
    return quenched, report


# --- trace and plot ------------------------------------------------------------------------------

TRACE_COLUMNS = ["time_ps", "phase", "target_K", "temperature_K", "epot_eV_per_atom", "density_g_cm3"]


def write_trace(path: str | Path, rows: list[tuple]) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(TRACE_COLUMNS)
        out.writerows(rows)
    tmp.replace(path)


def read_trace(path: str | Path) -> dict[str, np.ndarray]:
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {name: np.array([row[name] for row in rows], dtype=object if name == "phase" else float)
            for name in TRACE_COLUMNS}


# --- a labelled NVT run (the certificate's teacher and student runs) ----------------------------

def nvt_run(atoms, calc, protocol: dict, seed: int, frames_path: str | Path, label: str,
            calc_name: str) -> dict:
    """NVT MD of `atoms` with `calc` from fresh Maxwell–Boltzmann velocities (seed `seed`):
    protocol = {thermostat, damping_ps, temperature_K, timestep_fs, steps, every_steps}. Every
    `every_steps` steps a frame with its energy, forces and stress goes to `frames_path` (extxyz,
    written whole at the end; the start frame first), with info time_ps, temperature_K,
    target_temperature_K and the protocol, so another program can repeat the run. Returns a record
    (frames, mean temperature, wall time)."""
    from ase.calculators.singlepoint import SinglePointCalculator
    from ase.constraints import FixCom
    from ase.io import write

    from dpglass.core.io import atomic_path

    kind = protocol["thermostat"]
    if kind not in THERMOSTATS:
        raise ValueError(f"thermostat {kind!r}: use one of {', '.join(THERMOSTATS)}")
    run_atoms = atoms.copy()
    run_atoms.calc = calc
    if kind != "nose-hoover":
        run_atoms.set_constraint(FixCom())
    rng = np.random.default_rng(seed)
    _maxwell_boltzmann(run_atoms, protocol["temperature_K"], rng)
    dyn = make_thermostat(kind, run_atoms, protocol["timestep_fs"], protocol["temperature_K"],
                          protocol["damping_ps"], rng)
    every, steps = protocol["every_steps"], protocol["steps"]
    progress = Progress(steps, f"{label} MD steps")
    frames, temperatures = [], []
    start = time.perf_counter()
    done = 0
    while True:
        frame = run_atoms.copy()
        frame.set_constraint()
        frame.calc = SinglePointCalculator(frame, energy=run_atoms.get_potential_energy(),
                                           forces=run_atoms.get_forces(),
                                           stress=run_atoms.get_stress())
        temperature = run_atoms.get_temperature()
        frame.info.update(time_ps=round(done * protocol["timestep_fs"] / FS_PER_PS, 6),
                          temperature_K=temperature, calculator=calc_name, seed=seed,
                          **{f"protocol_{key}": value for key, value in protocol.items()})
        frames.append(frame)
        temperatures.append(temperature)
        if done >= steps:
            break
        chunk = min(every, steps - done)
        dyn.run(chunk)
        done += chunk
        if not np.all(np.isfinite(run_atoms.positions)) or \
                temperature > 3.0 * protocol["temperature_K"] + 100.0:
            raise RuntimeError(f"{label}: MD unstable at {done} steps (T = {temperature:.0f} K)")
        progress.update(done, extra=f"T={temperature:.0f} K")
    with atomic_path(frames_path) as tmp:
        write(tmp, frames, format="extxyz")
    return {"frames": len(frames), "seed": seed,
            "mean_temperature": quantity(float(np.mean(temperatures[1:])),
                                         float(np.std(temperatures[1:])), "K"),
            "wall_time": quantity(time.perf_counter() - start, unit="s")}
