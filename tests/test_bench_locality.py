"""The teacher-locality benchmark's method on a calculator whose range is known: a Lennard-Jones
pair potential with cutoff rc puts a force on atom i from atoms within rc only, so displacing the
atoms beyond rc (+ the rattle's reach) must leave it exactly unchanged, and displacing those
beyond a shorter distance must not."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from dpglass.analysis.rdf import perpendicular_widths

REPO = Path(__file__).resolve().parents[1]


def bench():
    spec = importlib.util.spec_from_file_location(
        "bench_teacher_locality", REPO / "benchmarks" / "bench_teacher_locality.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def lj_liquid(seed=0):
    from ase import Atoms

    rng = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(*[np.arange(4)] * 3, indexing="ij"), -1).reshape(-1, 3) * 1.6
    positions = grid + rng.normal(0, 0.1, grid.shape)
    return Atoms("Ar64", positions=positions, cell=[6.4] * 3, pbc=True)


def test_supercell_is_wide_enough_for_the_largest_distance():
    b = bench()
    atoms = lj_liquid()
    big, repeats = b.supercell_for(atoms, 7.0)
    assert repeats == (3, 3, 3) and perpendicular_widths(np.asarray(big.cell)).min() / 2 > 7.0
    assert b.supercell_for(atoms, 3.0)[1] == (1, 1, 1)


def test_a_pair_potential_does_not_see_beyond_its_cutoff_and_does_see_inside():
    from ase.calculators.lj import LennardJones

    b = bench()
    atoms, _ = b.supercell_for(lj_liquid(), 4.5)
    calc = LennardJones(sigma=1.0, epsilon=1.0, rc=2.5, smooth=True)
    centres = [0, 5]
    symbols = atoms.get_chemical_symbols()
    # rattled atoms start beyond 2.5 + 5 sigma of the rattle: none can enter the cutoff
    samples, unrattled = b.sample_forces(atoms, calc, centres, [2.5 + 0.25, 1.2], 0.05, 3, 0)
    table = b.spread_table(samples, symbols, unrattled)
    assert table["2.75"]["all"]["spread_eV_A"] == 0.0
    assert table["2.75"]["Ar"]["rms_change_eV_A"] == 0.0
    assert table["1.2"]["all"]["spread_eV_A"] > 0.01
    assert table["1.2"]["all"]["dof"] == len(centres) * 3 * (3 - 1)


def test_spread_recovers_a_known_standard_deviation_and_the_same_seed_pairs_calculators():
    b = bench()
    rng = np.random.default_rng(1)
    samples = {(5.0, c): rng.normal(0.0, 0.03, (200, 3)) for c in range(4)}
    table = b.spread_table(samples, ["Li", "Li", "O", "O"])
    spread = table["5"]["all"]["spread_eV_A"]
    assert spread == pytest.approx(0.03, rel=4 * b.relative_error(table["5"]["all"]["dof"]))
    from ase.calculators.lj import LennardJones

    atoms = lj_liquid()
    one, _ = b.sample_forces(atoms, LennardJones(rc=2.5), [0], [1.2], 0.05, 2, 7)
    two, _ = b.sample_forces(atoms, LennardJones(rc=2.5), [0], [1.2], 0.05, 2, 7)
    assert np.array_equal(one[(1.2, 0)], two[(1.2, 0)])  # same seed, same displacements
