"""Tiny labelled trajectories for the training tests: Lennard-Jones Langevin MD with ASE, no CHGNet.

A 12-atom Li-Al-Cl-O cell at 600 K gives a few dozen correlated frames with energies, forces and
stresses in seconds, enough for DeePMD to train ~100 steps on.
"""

from __future__ import annotations

import numpy as np

SYMBOLS = ["Li", "Al", "Cl", "Cl", "O", "Li", "Al", "Cl", "Cl", "O", "Cl", "Cl"]


def lj_frames(path, n_frames: int = 40, symbols: list[str] = SYMBOLS, seed: int = 0,
              box_A: float = 7.0, steps_between: int = 5, temperature_K: float = 600.0):
    """Write `n_frames` labelled frames (energy, forces, stress) to the extxyz file `path`."""
    from ase import Atoms, units
    from ase.calculators.lj import LennardJones
    from ase.calculators.singlepoint import SinglePointCalculator
    from ase.io import write
    from ase.md.langevin import Langevin

    rng = np.random.default_rng(seed)
    grid = np.array([[i, j, k] for i in range(3) for j in range(2) for k in range(2)], float)
    positions = grid[: len(symbols)] * np.array([box_A / 3, box_A / 2, box_A / 2])
    atoms = Atoms(symbols, positions=positions + rng.normal(0, 0.1, positions.shape),
                  cell=[box_A] * 3, pbc=True)
    atoms.calc = LennardJones(sigma=2.0, epsilon=0.05, rc=4.0, smooth=True)
    atoms.set_momenta(rng.normal(0, 1, positions.shape)
                      * np.sqrt(atoms.get_masses()[:, None] * units.kB * temperature_K))
    md = Langevin(atoms, 2 * units.fs, temperature_K=temperature_K, friction=0.02, rng=rng,
                  fixcm=False)
    frames = []
    for _ in range(n_frames):
        md.run(steps_between)
        frame = atoms.copy()
        frame.calc = SinglePointCalculator(frame, energy=atoms.get_potential_energy(),
                                           forces=atoms.get_forces(), stress=atoms.get_stress())
        frames.append(frame)
    write(str(path), frames, format="extxyz")
    return frames
