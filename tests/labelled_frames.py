"""Labelled frames for tests and benchmarks, from ASE's Lennard-Jones calculator (no CHGNet, seconds).

The one place that makes Lennard-Jones training data:
- `lj_frames`: Langevin MD of a 12-atom Li-Al-Cl-O cell at 600 K, a few dozen correlated frames
  with energies, forces and stresses, enough for DeePMD to train ~100 steps on;
- `rattled_frames`: a rattled 32-atom fcc Li/Cl cell (smooth and stable at room temperature), for
  the LAMMPS tests' tiny ensemble;
- `md_frames`: Langevin MD of any cell (benchmarks/bench_compress.py runs it from the demo's start cell).
"""

from __future__ import annotations

import numpy as np

SYMBOLS = ["Li", "Al", "Cl", "Cl", "O", "Li", "Al", "Cl", "Cl", "O", "Cl", "Cl"]


def snapshot(atoms):
    """A copy of `atoms` that carries its current energy, forces and stress as fixed labels."""
    from ase.calculators.singlepoint import SinglePointCalculator

    frame = atoms.copy()
    frame.calc = SinglePointCalculator(frame, energy=atoms.get_potential_energy(),
                                       forces=atoms.get_forces(), stress=atoms.get_stress())
    return frame


def md_frames(atoms, calc, n_frames: int, rng, timestep_fs: float = 2.0,
              temperature_K: float = 600.0, steps_between: int = 5) -> list:
    """`n_frames` labelled snapshots of Langevin MD with `calc`, `steps_between` steps apart."""
    from ase import units
    from ase.md.langevin import Langevin

    atoms.calc = calc
    md = Langevin(atoms, timestep_fs * units.fs, temperature_K=temperature_K, friction=0.02,
                  rng=rng, fixcm=False)
    frames = []
    for _ in range(n_frames):
        md.run(steps_between)
        frames.append(snapshot(atoms))
    return frames


def lj_frames(path, n_frames: int = 40, symbols: list[str] = SYMBOLS, seed: int = 0,
              box_A: float = 7.0, steps_between: int = 5, temperature_K: float = 600.0):
    """Write `n_frames` labelled frames (energy, forces, stress) to the extxyz file `path`."""
    from ase import Atoms, units
    from ase.calculators.lj import LennardJones
    from ase.io import write

    rng = np.random.default_rng(seed)
    grid = np.array([[i, j, k] for i in range(3) for j in range(2) for k in range(2)], float)
    positions = grid[: len(symbols)] * np.array([box_A / 3, box_A / 2, box_A / 2])
    atoms = Atoms(symbols, positions=positions + rng.normal(0, 0.1, positions.shape),
                  cell=[box_A] * 3, pbc=True)
    atoms.set_momenta(rng.normal(0, 1, positions.shape)
                      * np.sqrt(atoms.get_masses()[:, None] * units.kB * temperature_K))
    frames = md_frames(atoms, LennardJones(sigma=2.0, epsilon=0.05, rc=4.0, smooth=True), n_frames,
                       rng, 2.0, temperature_K, steps_between)
    write(str(path), frames, format="extxyz")
    return frames


def fcc_li_cl(seed: int = 0):
    """32-atom fcc cell, half Li and half Cl on shuffled sites."""
    from ase.build import bulk

    atoms = bulk("Ar", "fcc", a=3.97, cubic=True).repeat((2, 2, 2))
    rng = np.random.default_rng(seed)
    symbols = np.array(["Li"] * 16 + ["Cl"] * 16)
    rng.shuffle(symbols)
    atoms.set_chemical_symbols(list(symbols))
    return atoms


def rattled_frames(n: int, seed: int = 1) -> list:
    """`n` labelled frames of fcc_li_cl(), rattled ever more strongly and slightly strained."""
    from ase.calculators.lj import LennardJones

    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n):
        atoms = fcc_li_cl()
        atoms.rattle(stdev=0.03 + 0.12 * i / n, seed=int(rng.integers(1 << 30)))
        atoms.set_cell(atoms.cell * (1 + rng.normal(0, 0.01)), scale_atoms=True)
        atoms.calc = LennardJones(epsilon=0.1, sigma=2.5, rc=6.0, smooth=True)
        frames.append(snapshot(atoms))
    return frames
