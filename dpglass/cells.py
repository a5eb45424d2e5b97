"""Start cells: random packing of a formula at a target density."""

from __future__ import annotations

import numpy as np

from dpglass.composition import Formula

AVOGADRO = 6.02214076e23


def cell_length_A(symbols: list[str], density_g_cm3: float) -> float:
    """Edge of the cubic cell that holds `symbols` at `density_g_cm3`."""
    from ase.data import atomic_masses, atomic_numbers

    mass_g = sum(atomic_masses[atomic_numbers[s]] for s in symbols) / AVOGADRO
    volume_A3 = mass_g / density_g_cm3 * 1e24
    return volume_A3 ** (1.0 / 3.0)


def random_packing(formula: Formula, n_atoms: int, density_g_cm3: float,
                   min_distance_A: float, seed: int, max_tries: int = 20000):
    """Place the atoms of the formula at random in a cubic periodic cell, rejecting close contacts.

    Cations and anions are interleaved in insertion order, so no species is crowded into the
    last gaps. Reproducible: the same arguments give the same cell.
    """
    from ase import Atoms

    counts = formula.integer_counts(n_atoms)
    symbols = [el for el, n in counts.items() for _ in range(n)]
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(symbols))
    symbols = [symbols[i] for i in order]
    length = cell_length_A(symbols, density_g_cm3)
    positions = np.empty((0, 3))
    for index, symbol in enumerate(symbols):
        for _ in range(max_tries):
            trial = rng.uniform(0.0, length, size=3)
            if len(positions) == 0:
                break
            delta = positions - trial
            delta -= length * np.round(delta / length)
            if np.min(np.einsum("ij,ij->i", delta, delta)) >= min_distance_A**2:
                break
        else:
            raise RuntimeError(
                f"random packing: no room for atom {index + 1}/{len(symbols)} ({symbol}) at "
                f"{density_g_cm3} g/cm^3 with min_distance_A={min_distance_A}; lower the density "
                f"or structure.min_distance_A")
        positions = np.vstack([positions, trial])
    atoms = Atoms(symbols=symbols, positions=positions, cell=[length] * 3, pbc=True)
    atoms.info["formula"] = formula.text
    atoms.info["seed"] = seed
    return atoms


def min_pair_distance(atoms) -> float:
    """Shortest interatomic distance under periodic boundary conditions, Å."""
    distances = atoms.get_all_distances(mic=True)
    np.fill_diagonal(distances, np.inf)
    return float(distances.min())
