"""Start cells: random packing at a target density, or a user's crystal with O-for-2Cl substitution.

Both routes give an ASE Atoms that is reproducible from (inputs, seed). The density of either is a
starting guess only: the melt-quench's density protocol (relax or NPT) settles it.
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from pathlib import Path

import numpy as np

from dpglass.core.composition import OXIDATION_STATES, Formula, FormulaError
from dpglass.core.units import AVOGADRO_PER_MOL


# Shannon effective ionic radii, Å (six-fold coordination; the usual oxidation state of
# dpglass.core.composition.OXIDATION_STATES). Used to derive per-pair minimum distances.
IONIC_RADII_A = {"Li": 0.76, "Na": 1.02, "K": 1.38, "Mg": 0.72, "Ca": 1.00, "Al": 0.535,
                 "Ga": 0.62, "B": 0.27, "Si": 0.40, "P": 0.38, "O": 1.40, "S": 1.84, "Se": 1.98,
                 "F": 1.33, "Cl": 1.81, "Br": 1.96, "I": 2.20}


class CellError(ValueError):
    """A start cell that cannot be built from the given inputs."""


def density_g_cm3(atoms) -> float:
    return float(atoms.get_masses().sum() / AVOGADRO_PER_MOL / (atoms.get_volume() * 1e-24))


def cell_length_A(symbols: list[str], density_g_cm3: float) -> float:
    """Edge of the cubic cell that holds `symbols` at `density_g_cm3`."""
    from ase.data import atomic_masses, atomic_numbers

    mass_g = sum(atomic_masses[atomic_numbers[s]] for s in symbols) / AVOGADRO_PER_MOL
    volume_A3 = mass_g / density_g_cm3 * 1e24
    return volume_A3 ** (1.0 / 3.0)


def pair_key(a: str, b: str) -> str:
    """'Al-O' and 'O-Al' name the same pair; the canonical key is alphabetical."""
    return "-".join(sorted((a, b)))


def pair_min_distances(elements: list[str], radii: str = "ionic", scale: float = 0.75,
                       floor_A: float = 1.5, overrides: dict[str, float] | None = None
                       ) -> dict[str, float]:
    """Minimum distance per element pair: max(floor, scale * (r_a + r_b)), then explicit overrides.

    radii: 'ionic' (Shannon, keeps anions apart: Cl-Cl 2.7 Å at scale 0.75) or 'covalent'
    (ase.data.covalent_radii). Override keys are 'A-B' in any order, e.g. {'Al-O': 1.6}.
    """
    from ase.data import atomic_numbers, covalent_radii

    if radii == "ionic":
        missing = [el for el in elements if el not in IONIC_RADII_A]
        if missing:
            raise CellError(f"structure.radii 'ionic': no ionic radius for {missing}")
        radius = {el: IONIC_RADII_A[el] for el in elements}
    elif radii == "covalent":
        radius = {el: float(covalent_radii[atomic_numbers[el]]) for el in elements}
    else:
        raise CellError(f"structure.radii {radii!r}: use 'ionic' or 'covalent'")
    table = {pair_key(a, b): max(floor_A, scale * (radius[a] + radius[b]))
             for a, b in itertools.combinations_with_replacement(elements, 2)}
    for key, value in (overrides or {}).items():
        parts = key.split("-")
        if len(parts) != 2 or any(p not in elements for p in parts):
            raise CellError(f"structure.pair_min_distance_A key {key!r}: expected 'A-B' with A, B "
                            f"among {elements}")
        table[pair_key(*parts)] = float(value)
    return table


def random_packing(formula: Formula, counts: dict[str, int], density_g_cm3: float,
                   min_distances: dict[str, float], seed: int, max_tries: int = 20000):
    """Place the atoms at random in a cubic periodic cell, no pair closer than its minimum distance.

    Random sequential addition, species with the largest exclusion first (the anions), so the
    small cations go into the gaps instead of being locked out at the end. Reproducible: the same
    arguments give the same cell.
    """
    from ase import Atoms

    rng = np.random.default_rng(seed)
    species = sorted(counts, key=lambda el: -min_distances[pair_key(el, el)])
    symbols = [el for el in species for _ in range(counts[el])]
    length = cell_length_A(symbols, density_g_cm3)
    index_of = {el: i for i, el in enumerate(species)}
    dmin = np.array([[min_distances[pair_key(a, b)] for b in species] for a in species])
    kinds = np.array([index_of[s] for s in symbols])
    positions = np.empty((len(symbols), 3))
    for n, symbol in enumerate(symbols):
        limits_sq = dmin[kinds[n], kinds[:n]] ** 2
        for _ in range(max_tries):
            trial = rng.uniform(0.0, length, size=3)
            delta = positions[:n] - trial
            delta -= length * np.round(delta / length)
            if n == 0 or np.all(np.einsum("ij,ij->i", delta, delta) >= limits_sq):
                break
        else:
            raise CellError(
                f"random packing: no room for atom {n + 1}/{len(symbols)} ({symbol}) after "
                f"{max_tries} tries at {density_g_cm3} g/cm^3; lower structure.density_g_cm3, "
                f"structure.radius_scale or structure.min_distance_A")
        positions[n] = trial
    atoms = Atoms(symbols=symbols, positions=positions, cell=[length] * 3, pbc=True)
    atoms.info.update(formula=formula.text, seed=seed, source="random packing")
    return atoms


def _substitution_plan(crystal_counts: dict[str, int], formula: Formula, remove: str, add: str):
    """Formula units per crystal cell and the per-cell (removed, added) counts, as Fractions."""
    conserved = [el for el in formula.elements if el not in (remove, add)]
    foreign = sorted(set(crystal_counts) - set(formula.counts) - {remove})
    if foreign or not conserved:
        raise CellError(f"crystal {crystal_counts} cannot become {formula.text} by {remove}->{add} "
                        f"substitution (species {foreign or 'none conserved'})")
    units = {el: Fraction(crystal_counts.get(el, 0)) / formula.counts[el] for el in conserved}
    if len(set(units.values())) != 1 or next(iter(units.values())) == 0:
        raise CellError(f"crystal {crystal_counts} and formula {formula.text} differ in more than "
                        f"the {remove}->{add} substitution (formula units per species: "
                        f"{ {el: float(u) for el, u in units.items()} })")
    per_cell = next(iter(units.values()))
    removed = crystal_counts.get(remove, 0) - formula.counts.get(remove, 0) * per_cell
    added = formula.counts.get(add, 0) * per_cell - crystal_counts.get(add, 0)
    if removed < 0 or added < 0:
        raise CellError(f"formula {formula.text} has more {remove} than the crystal: substitution "
                        f"only removes {remove} and adds {add}")
    if removed * OXIDATION_STATES[remove] != added * OXIDATION_STATES[add]:
        raise CellError(f"removing {float(removed):g} {remove} and adding {float(added):g} {add} per "
                        f"cell does not conserve charge")
    return per_cell, removed, added


def _most_compact_repeats(cell, n_cells: int) -> tuple[int, int, int]:
    """Repeats (na, nb, nc) with na*nb*nc = n_cells whose supercell is closest to cubic: the largest
    shortest perpendicular width (fewest self-images), then the smallest longest width."""
    best, best_key = None, None
    for na in range(1, n_cells + 1):
        for nb in range(1, n_cells // na + 1):
            if n_cells % (na * nb):
                continue
            reps = (na, nb, n_cells // (na * nb))
            super_cell = np.asarray(cell) * np.array(reps)[:, None]
            volume = abs(np.linalg.det(super_cell))
            widths = [volume / np.linalg.norm(np.cross(super_cell[i - 2], super_cell[i - 1]))
                      for i in range(3)]
            key = (round(min(widths), 6), -round(max(widths), 6))
            if best_key is None or key > best_key:
                best, best_key = reps, key
    return best


def substituted_crystal(crystal, formula: Formula, seed: int, n_atoms: int | None = None,
                        formula_units: int | None = None, remove: str = "Cl", add: str = "O"):
    """The paper's start cell: a crystal (e.g. LiAlCl4) replicated, two `remove` -> one `add`.

    The crystal is replicated by the smallest number of cells that reaches the atom count (or the
    given formula units) with whole counts after substitution, arranged as compactly as possible.
    For each added O, two Cl are drawn at random (seeded, without replacement) and removed; the O
    sits on the site of the first of the two. Choice documented: the paper says only "two Cl
    replaced by one O"; putting O on a former Cl site keeps it in the anion sublattice next to Al,
    and the melt erases the detail.
    """
    counts = {el: int(n) for el, n in zip(*np.unique(crystal.get_chemical_symbols(), return_counts=True))}
    per_cell, removed, added = _substitution_plan(counts, formula, remove, add)
    if formula_units is not None:
        n_cells = Fraction(formula_units) / per_cell
        if n_cells.denominator != 1:
            raise CellError(f"formula_units {formula_units} is not a whole number of crystal cells "
                            f"({float(per_cell):g} formula units per cell)")
        n_cells = int(n_cells)
        if (removed * n_cells).denominator != 1 or (added * n_cells).denominator != 1:
            raise CellError(f"formula_units {formula_units}: fractional substitution counts")
    else:
        if n_atoms is None:
            raise CellError("substituted crystal: give n_atoms or formula_units")
        atoms_per_cell = len(crystal) - removed + added
        n_cells = 1
        while (n_cells * atoms_per_cell < n_atoms or (removed * n_cells).denominator != 1
               or (added * n_cells).denominator != 1):
            n_cells += 1
    n_remove, n_add = int(removed * n_cells), int(added * n_cells)
    repeats = _most_compact_repeats(crystal.cell, n_cells)
    atoms = crystal.repeat(repeats)
    atoms.calc = None
    rng = np.random.default_rng(seed)
    candidates = np.flatnonzero(np.array(atoms.get_chemical_symbols()) == remove)
    chosen = rng.choice(candidates, size=n_remove, replace=False)
    # n_remove = 2 n_add for Cl -> O: pair them; O takes the first site of each pair.
    per_added = n_remove // n_add if n_add else 0
    o_sites = [chosen[i * per_added] for i in range(n_add)]
    new_positions = atoms.positions[o_sites].copy()
    del atoms[sorted(int(i) for i in chosen)]
    from ase import Atoms

    atoms += Atoms([add] * n_add, positions=new_positions)
    atoms.wrap()
    atoms.info = {"formula": formula.text, "seed": seed, "source": "substituted crystal",
                  "repeats": list(repeats), "removed": n_remove, "added": n_add}
    return atoms


def read_crystal(path: str | Path):
    """A crystal from CIF, POSCAR or extxyz (format from the file name, as ase.io.read guesses)."""
    from ase.io import read

    path = Path(path)
    if not path.is_file():
        raise CellError(f"structure.crystal_file {str(path)!r}: no such file")
    atoms = read(path)
    if not all(atoms.pbc) or atoms.cell.volume <= 0:
        raise CellError(f"structure.crystal_file {str(path)!r}: not a periodic crystal")
    return atoms


def build_start_cell(formula: Formula, structure: dict, n_atoms: int | None,
                     formula_units: int | None, density: float, crystal_file: str | None = None):
    """The start cell the config asks for: structure.source 'random' or 'crystal'."""
    if structure["source"] == "crystal":
        if not crystal_file:
            raise CellError("structure.source 'crystal' needs structure.crystal_file")
        subst = structure["substitution"]
        return substituted_crystal(read_crystal(crystal_file), formula, structure["seed"],
                                   n_atoms=n_atoms, formula_units=formula_units,
                                   remove=subst["remove"], add=subst["add"])
    try:
        counts = formula.integer_counts(n_atoms, formula_units)
    except FormulaError as err:
        raise CellError(str(err)) from None
    table = pair_min_distances(formula.elements, structure["radii"], structure["radius_scale"],
                               structure["min_distance_A"], structure["pair_min_distance_A"])
    return random_packing(formula, counts, density, table, structure["seed"])


def min_pair_distance(atoms) -> float:
    """Shortest interatomic distance under periodic boundary conditions, Å."""
    distances = atoms.get_all_distances(mic=True)
    np.fill_diagonal(distances, np.inf)
    return float(distances.min())


def start_cell_size(composition: dict, structure: dict) -> tuple[int | None, int | None]:
    """(n_atoms, formula_units) of a composition's start cell, exactly one of them set.

    Precedence: the composition's formula_units, its n_atoms, structure.formula_units,
    structure.n_atoms.
    """
    if "formula_units" in composition:
        return None, composition["formula_units"]
    if "n_atoms" in composition:
        return composition["n_atoms"], None
    if structure.get("formula_units") is not None:
        return None, structure["formula_units"]
    return structure["n_atoms"], None
