import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.geometry.rdf import get_rdf
from ase.neighborlist import neighbor_list

from dpglass.analysis.rdf import compute_rdfs
from dpglass.analysis.trajectory import Frame


def _frame(atoms: Atoms) -> Frame:
    return Frame(None, np.array(atoms.get_chemical_symbols()), atoms.positions.copy(),
                 np.array(atoms.cell), False)


def test_partial_rdfs_match_ase_in_a_triclinic_cell():
    rng = np.random.default_rng(0)
    images = [Atoms(symbols=["Li"] * 20 + ["Al"] * 20 + ["O"] * 20,
                    positions=rng.uniform(0, 12, (60, 3)),
                    cell=[[12, 0, 0], [2, 12, 0], [1, 1, 12]], pbc=True) for _ in range(2)]
    result = compute_rdfs([_frame(a) for a in images], pairs=[("Li", "Li"), ("Al", "O")],
                          r_max_A=5.0, n_bins=50)
    ase_al_o, radii = get_rdf(images, 5.0, 50, elements=("Al", "O"))
    np.testing.assert_allclose(result["r"]["value"], radii)
    np.testing.assert_allclose(result["g"]["Al-O"]["value"], ase_al_o, atol=1e-10)
    ase_li_li, _ = get_rdf(images, 5.0, 50, elements=("Li", "Li"))
    # Like pairs: ASE normalises by N/V, we by (N-1)/V.
    np.testing.assert_allclose(np.array(result["g"]["Li-Li"]["value"]) * 19 / 20, ase_li_li,
                               atol=1e-10)


def test_first_peak_of_fcc_is_the_nearest_neighbour_distance():
    crystal = bulk("Al", "fcc", a=4.05, cubic=True).repeat(4)
    crystal.rattle(0.02, seed=1)
    result = compute_rdfs([_frame(crystal)], pairs=[("Al", "Al")], r_max_A=6.0, n_bins=200)
    assert result["first_peak"]["Al-Al"]["value"] == pytest.approx(4.05 / np.sqrt(2), abs=0.04)
    with pytest.raises(ValueError, match="r_max_A"):
        compute_rdfs([_frame(crystal)], pairs=[("Al", "Al")], r_max_A=9.0)


def test_bridging_oxygen_and_al_coordination_on_an_al_o_al_unit():
    # Al1–O–Al2 bridge, a terminal O on Al1, one Cl on each Al, one far-away O (unbonded).
    atoms = Atoms(symbols=["Al", "Al", "O", "O", "Cl", "Cl", "O", "Li"],
                  positions=[[5, 5, 5], [8.4, 5, 5], [6.7, 5, 5], [5, 6.75, 5], [5, 5, 2.9],
                             [8.4, 5, 7.1], [12, 12, 12], [1, 1, 1]],
                  cell=[15, 15, 15], pbc=True)
    result = compute_rdfs([_frame(atoms)], pairs=[("Al", "O")], r_max_A=6.0, n_bins=60)
    assert result["bridging_oxygen_fraction"]["value"] == pytest.approx(1 / 3)
    coordination = result["al_coordination"]
    assert coordination["O"]["value"] == pytest.approx(1.5)
    assert coordination["Cl"]["value"] == pytest.approx(1.0)
    assert coordination["fraction_by_number"]["2"]["value"] == pytest.approx(0.5)
    # Independent count with ASE's neighbour list and the same 2.3 Å Al–O cutoff.
    first, second = neighbor_list("ij", atoms, {("Al", "O"): 2.3})
    symbols = np.array(atoms.get_chemical_symbols())
    oxygen_neighbours = second[(symbols[first] == "O") & (symbols[second] == "Al")]
    bonded_al_counts = np.bincount(first[np.isin(first, np.flatnonzero(symbols == "O"))
                                         & (symbols[second] == "Al")], minlength=len(atoms))
    bridging = np.sum(bonded_al_counts[symbols == "O"] >= 2) / np.sum(symbols == "O")
    assert len(oxygen_neighbours) == 3
    assert result["bridging_oxygen_fraction"]["value"] == pytest.approx(bridging)
