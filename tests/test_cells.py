"""Start cells: per-pair minimum distances, seeded random packing, substituted crystal."""

import numpy as np
import pytest
from ase import Atoms
from ase.io import write

from dpglass.reference.cells import (CellError, build_start_cell, density_g_cm3, pair_key, pair_min_distances,
                           random_packing, read_crystal, start_cell_size, substituted_crystal)
from dpglass.core.composition import parse_formula

LACO75 = parse_formula("LiAlCl2.5O0.75")
STRUCTURE = {"source": "random", "radii": "ionic", "radius_scale": 0.75, "min_distance_A": 1.7,
             "pair_min_distance_A": {}, "seed": 1, "substitution": {"remove": "Cl", "add": "O"}}


def toy_lialcl4() -> Atoms:
    """A LiAlCl4 'crystal' (one formula unit, tetrahedral AlCl4 and a Li) standing in for the user's CIF."""
    a = 6.2
    cl = np.array([[1, 1, 1], [-1, -1, 1], [-1, 1, -1], [1, -1, -1]]) * 1.25 + a / 2
    return Atoms("LiAlCl4", positions=[[0.0, 0.0, 0.0], [a / 2] * 3, *cl], cell=[a, a, a], pbc=True)


def test_pair_distances_from_scaled_radii_with_floor_and_overrides():
    table = pair_min_distances(["Li", "Al", "Cl", "O"], "ionic", 0.75, 1.7, {"O-Al": 1.55})
    assert table["Cl-Cl"] == pytest.approx(0.75 * 2 * 1.81)
    assert table["Cl-Li"] == pytest.approx(0.75 * (1.81 + 0.76))
    assert table["Al-Al"] == 1.7  # the floor wins for small cations
    assert table[pair_key("O", "Al")] == 1.55  # explicit override, either order
    covalent = pair_min_distances(["Li", "Cl"], "covalent", 1.0, 0.1)
    assert covalent["Cl-Li"] == pytest.approx(1.28 + 1.02)
    with pytest.raises(CellError, match="pair_min_distance_A key 'Al-S'"):
        pair_min_distances(["Al", "O"], overrides={"Al-S": 2.0})


def test_random_packing_is_reproducible_from_the_seed_and_respects_every_pair():
    counts = LACO75.integer_counts(42)
    table = pair_min_distances(LACO75.elements, "ionic", 0.75, 1.7)
    first = random_packing(LACO75, counts, 2.2, table, seed=5)
    again = random_packing(LACO75, counts, 2.2, table, seed=5)
    other = random_packing(LACO75, counts, 2.2, table, seed=6)
    assert np.array_equal(first.positions, again.positions)
    assert first.get_chemical_symbols() == again.get_chemical_symbols()
    assert not np.allclose(first.positions, other.positions)
    assert density_g_cm3(first) == pytest.approx(2.2)
    assert first.symbols.formula.count() == {"Cl": 20, "O": 6, "Li": 8, "Al": 8}
    distances = first.get_all_distances(mic=True)
    symbols = first.get_chemical_symbols()
    for i in range(len(first)):
        for j in range(i + 1, len(first)):
            assert distances[i, j] >= table[pair_key(symbols[i], symbols[j])] - 1e-9


def test_random_packing_that_cannot_fit_says_what_to_change():
    counts = LACO75.integer_counts(42)
    table = pair_min_distances(LACO75.elements, "ionic", 0.75, 1.7)
    with pytest.raises(CellError, match="lower structure.density_g_cm3"):
        random_packing(LACO75, counts, 12.0, table, seed=1, max_tries=200)


def test_substitution_two_cl_out_one_o_in_on_a_former_cl_site():
    crystal = toy_lialcl4()
    cell = substituted_crystal(crystal, LACO75, seed=3, n_atoms=21)
    assert cell.symbols.formula.count() == {"Li": 4, "Al": 4, "Cl": 10, "O": 3}
    assert cell.info["removed"] == 6 and cell.info["added"] == 3
    assert np.prod(cell.info["repeats"]) == 4 and sorted(cell.info["repeats"]) == [1, 2, 2]
    supercell = crystal.repeat(cell.info["repeats"])
    cl_sites = supercell.positions[np.array(supercell.get_chemical_symbols()) == "Cl"]
    for o in cell.positions[np.array(cell.get_chemical_symbols()) == "O"]:
        assert np.min(np.linalg.norm(cl_sites - o, axis=1)) < 1e-8
    # reproducible from the seed; another seed picks other sites
    again = substituted_crystal(crystal, LACO75, seed=3, n_atoms=21)
    other = substituted_crystal(crystal, LACO75, seed=4, n_atoms=21)
    assert np.array_equal(cell.positions, again.positions)
    assert not np.array_equal(cell.positions, other.positions)


def test_substitution_with_formula_units_and_other_compositions():
    crystal = toy_lialcl4()
    cell = substituted_crystal(crystal, LACO75, seed=1, formula_units=8)
    assert len(cell) == 42 and cell.info["removed"] == 12 and cell.info["added"] == 6
    low_o = substituted_crystal(crystal, parse_formula("LiAlCl3.5O0.25"), seed=1, n_atoms=20)
    assert low_o.symbols.formula.count() == {"Li": 4, "Al": 4, "Cl": 14, "O": 1}
    with pytest.raises(CellError, match="not a whole number of crystal cells|fractional"):
        substituted_crystal(crystal, LACO75, seed=1, formula_units=6)
    with pytest.raises(CellError, match="differ in more than|cannot become"):
        substituted_crystal(crystal, parse_formula("NaAlCl2.5O0.75"), seed=1, n_atoms=21)
    with pytest.raises(CellError, match="differ in more than"):
        substituted_crystal(crystal, parse_formula("Li1.5AlCl3O0.75"), seed=1, n_atoms=21)


@pytest.mark.parametrize("name, fmt", [("LiAlCl4.cif", "cif"), ("POSCAR", "vasp"),
                                       ("LiAlCl4.extxyz", "extxyz")])
def test_crystal_start_cell_from_file(tmp_path, name, fmt):
    path = tmp_path / name
    write(path, toy_lialcl4(), format=fmt)
    assert read_crystal(path).symbols.formula.count() == {"Li": 1, "Al": 1, "Cl": 4}
    structure = dict(STRUCTURE, source="crystal")
    cell = build_start_cell(LACO75, structure, 42, None, 2.2, crystal_file=str(path))
    assert cell.symbols.formula.count() == {"Li": 8, "Al": 8, "Cl": 20, "O": 6}


def test_crystal_source_errors():
    structure = dict(STRUCTURE, source="crystal")
    with pytest.raises(CellError, match="needs structure.crystal_file"):
        build_start_cell(LACO75, structure, 42, None, 2.2)
    with pytest.raises(CellError, match="no such file"):
        build_start_cell(LACO75, structure, 42, None, 2.2, crystal_file="missing.cif")


def test_start_cell_size_precedence():
    structure = {"n_atoms": 42}
    assert start_cell_size({}, structure) == (42, None)
    assert start_cell_size({}, dict(structure, formula_units=8)) == (None, 8)
    assert start_cell_size({"n_atoms": 100}, dict(structure, formula_units=8)) == (100, None)
    assert start_cell_size({"formula_units": 4, "n_atoms": 100}, structure) == (None, 4)


def test_start_cell_step_writes_the_substituted_crystal(tmp_path, capsys):
    from ase.io import read

    from dpglass.steps.workflow import start_cell

    crystal = tmp_path / "LiAlCl4.cif"
    write(crystal, toy_lialcl4(), format="cif")
    structure = dict(STRUCTURE, source="crystal", n_atoms=21, density_g_cm3=2.2)
    start_cell(formula_text="LiAlCl2.5O0.75",
               composition={"crystal_file": str(crystal), "formula_units": 8}, structure=structure,
               out_path=str(tmp_path / "start.extxyz"))
    atoms = read(tmp_path / "start.extxyz")
    assert atoms.symbols.formula.count() == {"Li": 8, "Al": 8, "Cl": 20, "O": 6}
    assert "12 Cl removed, 6 O added" in capsys.readouterr().out
