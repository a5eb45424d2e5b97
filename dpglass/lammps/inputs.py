"""What a sweep run does: its settings, the step plan (stages cut into chunks) and the in.lammps that
carries it out. The run directory layout is in dpglass.lammps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

RESTART = "restart/last.restart"
PROGRESS = "progress.txt"
FAILURE = "failure.txt"
FAILURE_STATE = "failure_state.json"  # step, temperature and closest pair when it failed


def production_limits_ps(sweep: dict) -> tuple[float | None, float]:
    """(target relative error or None, maximum production length in ps)."""
    target = sweep.get("target_relative_error")
    maximum = sweep.get("max_production_ps") or sweep["production_ps"]
    return target, (maximum if target else sweep["production_ps"])


@dataclass(frozen=True)
class MDSettings:
    temperature_K: float
    timestep_fs: float
    equilibration_steps: int  # NVT equilibration after the (optional) NPT stage
    production_steps: int
    dump_every_steps: int
    thermo_every_steps: int
    thermostat_damping_ps: float
    seed: int
    supercell: tuple[int, int, int] = (1, 1, 1)  # LAMMPS replicate a b c
    npt_steps: int = 0
    pressure_bar: float = 1.0
    barostat_damping_ps: float = 1.0
    chunk_steps: int = 0  # 0: one chunk per stage
    halt_temperature_factor: float = 3.0
    deviation_every_steps: int = 0  # 0: thermo_every_steps
    # Instead of pair_style deepmd: these pair commands (a classical potential, e.g. a soft
    # Lennard-Jones liquid whose D is known to be large; no model files, no model deviation).
    pair_commands: tuple[str, ...] = ()


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
        if s.pair_commands:
            return ["pair_style none", *s.pair_commands]
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
                f'if "$(step) < {chunk.end} && {chunk.end} <= ${{until}}" then &\n    {quoted}\n')

    lines = [
        f"# dpglass sweep run{': ' + title if title else ''}",
        "# Rerun by hand from this directory: lmp -in in.lammps   (MPI: mpirun -np N lmp -in in.lammps)",
        f"# Resumable: every chunk ends with write_restart to {RESTART}; when that file exists this",
        "# input continues from it (completed chunks are skipped), else it starts from the data file.",
        "# Delete restart/ to start over. Production frames go to chunks/dump.NNNN.lammpstrj (each",
        "# frame in exactly one file); the workflow joins them into dump.lammpstrj when complete.",
        "# Chunks ending after step ${until} are skipped (an adaptive run: `-var until STEP`, the",
        "# end of the chunk after which its stopping rule looks at D; default: the whole plan).",
        f"variable        until index {plan.total_steps}",
        "units           metal",
        "atom_style      atomic",
        "boundary        p p p",
        "shell           mkdir restart chunks model_devi",
        f'if "$(is_file({RESTART}))" then &',
        f'    "read_restart {RESTART}" &',
        "  else &",
        f'    "read_data {data_file}" &',
        f'    "replicate {s.supercell[0]} {s.supercell[1]} {s.supercell[2]}" &',
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
    stages = [("npt", f"fix             ens_npt all npt temp {t} {t} {s.thermostat_damping_ps:g} "
                      f"iso {s.pressure_bar:g} {s.pressure_bar:g} {s.barostat_damping_ps:g}", "unfix           ens_npt"),
              ("nvt_equilibration", f"fix             ens_nvt all nvt temp {t} {t} {s.thermostat_damping_ps:g}", None),
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
