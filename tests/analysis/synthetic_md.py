"""Synthetic trajectories with known transport, written in the formats the readers accept."""

from __future__ import annotations

import numpy as np

# A charge-neutral toy glass: 8 Li+ walk, the Al3+/Cl-/O2- framework vibrates in place.
SPECIES_COUNTS = {"Li": 8, "Al": 8, "Cl": 20, "O": 6}
TYPE_MAP = ["Li", "Al", "Cl", "O"]
BOX_A = 14.0


def random_walk(n_frames: int, n_atoms: int, D_A2_per_ps: float, dt_ps: float,
                rng: np.random.Generator) -> np.ndarray:
    """Gaussian random walk with MSD = 6 D t exactly in expectation."""
    steps = rng.normal(scale=np.sqrt(2 * D_A2_per_ps * dt_ps), size=(n_frames, n_atoms, 3))
    steps[0] = rng.uniform(0, BOX_A, size=(n_atoms, 3))
    return np.cumsum(steps, axis=0)


def toy_glass(n_frames: int, D_A2_per_ps: float, dt_ps: float, seed: int = 0):
    """Unwrapped positions (n_frames, n_atoms, 3) and symbols: Li diffuse, the rest vibrate."""
    rng = np.random.default_rng(seed)
    n_li = SPECIES_COUNTS["Li"]
    n_framework = sum(SPECIES_COUNTS.values()) - n_li
    lithium = random_walk(n_frames, n_li, D_A2_per_ps, dt_ps, rng)
    sites = rng.uniform(0, BOX_A, size=(n_framework, 3))
    framework = sites + rng.normal(scale=0.1, size=(n_frames, n_framework, 3))
    symbols = np.repeat(list(SPECIES_COUNTS), list(SPECIES_COUNTS.values()))
    return np.concatenate([lithium, framework], axis=1), symbols


def write_lammps_dump(path, positions, symbols, step_stride=1000, box=BOX_A, wrapped=False,
                      shuffle_seed=1, columns=("id", "type", "xu", "yu", "zu")):
    """LAMMPS custom dump; atoms in shuffled order each frame, columns in the given order."""
    rng = np.random.default_rng(shuffle_seed)
    types = np.array([TYPE_MAP.index(s) + 1 for s in symbols])
    with open(path, "w") as stream:
        for frame_index, frame in enumerate(positions):
            shown = np.mod(frame, box) if wrapped else frame
            stream.write(f"ITEM: TIMESTEP\n{frame_index * step_stride}\n"
                         f"ITEM: NUMBER OF ATOMS\n{len(frame)}\n"
                         f"ITEM: BOX BOUNDS pp pp pp\n0 {box}\n0 {box}\n0 {box}\n"
                         f"ITEM: ATOMS {' '.join(columns)}\n")
            axis_names = {"xu": 0, "yu": 1, "zu": 2, "x": 0, "y": 1, "z": 2}
            for atom in rng.permutation(len(frame)):
                fields = {"id": str(atom + 1), "type": str(types[atom]), "vx": "0.0"}
                for name, axis in axis_names.items():
                    fields[name] = f"{shown[atom, axis]:.6f}"
                stream.write(" ".join(fields[c] for c in columns) + "\n")
