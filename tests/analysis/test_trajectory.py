import numpy as np
import pytest

from dpglass.analysis.trajectory import iter_frames, load_species_trajectory

from synthetic_md import TYPE_MAP, toy_glass, write_lammps_dump


def test_dump_columns_in_any_order_atoms_sorted_by_id(toy_dump):
    path, positions, symbols = toy_dump
    frames = list(iter_frames(path, type_map=TYPE_MAP, timestep_fs=1.0))
    assert len(frames) == len(positions)
    np.testing.assert_allclose(frames[7].positions, positions[7], atol=1e-5)
    assert list(frames[0].symbols) == list(symbols)
    assert frames[7].time_ps == pytest.approx(7.0)  # step 7000 × 1 fs
    assert frames[0].unwrapped


def test_species_trajectory_keeps_only_selected_ions_as_float32(toy_dump):
    path, positions, symbols = toy_dump
    trajectory = load_species_trajectory(path, "Li", type_map=TYPE_MAP, timestep_fs=2.0)
    assert trajectory.positions.dtype == np.float32
    assert trajectory.positions.shape == (400, 8, 3)
    assert trajectory.timestep_ps == pytest.approx(2.0)
    charges = np.array([{"Li": 1, "Al": 3, "Cl": -1, "O": -2}[s] for s in symbols])
    np.testing.assert_allclose(trajectory.charge_dipole[5], charges @ positions[5], atol=1e-3)
    assert trajectory.mean_volume_A3 == pytest.approx(14.0**3)
    assert trajectory.species_counts == {"Al": 8, "Cl": 20, "Li": 8, "O": 6}


def test_dt_fs_overrides_file_times(toy_dump):
    path, *_ = toy_dump
    trajectory = load_species_trajectory(path, "Li", type_map=TYPE_MAP, dt_fs=500.0)
    assert trajectory.timestep_ps == pytest.approx(0.5)


def test_wrapped_coordinates_are_unwrapped_across_the_boundary(tmp_path):
    positions, symbols = toy_glass(60, 0.5, 1.0, seed=5)
    path = tmp_path / "wrapped.dump"
    write_lammps_dump(path, positions, symbols, wrapped=True, columns=("id", "type", "x", "y", "z"))
    trajectory = load_species_trajectory(path, "Li", type_map=TYPE_MAP)
    true_displacement = positions[:, :8] - positions[0, :8]
    read_displacement = trajectory.positions - trajectory.positions[0]
    assert np.abs(true_displacement).max() > 1.0
    np.testing.assert_allclose(read_displacement, true_displacement, atol=1e-3)


def test_extxyz_time_key_and_unwrapping(tmp_path):
    from ase import Atoms
    from ase.io import write

    positions, symbols = toy_glass(30, 0.5, 0.2, seed=2)
    images = []
    for index, frame in enumerate(positions):
        atoms = Atoms(symbols=list(symbols), positions=frame, cell=[14.0] * 3, pbc=True)
        atoms.wrap()
        atoms.info["time"] = 0.2 * index
        images.append(atoms)
    path = tmp_path / "traj.extxyz"
    write(path, images, format="extxyz")
    trajectory = load_species_trajectory(path, "Li")
    assert trajectory.timestep_ps == pytest.approx(0.2)
    np.testing.assert_allclose(trajectory.positions - trajectory.positions[0],
                               positions[:, :8] - positions[0, :8], atol=1e-4)


def test_triclinic_box_bounds_give_the_cell(tmp_path):
    path = tmp_path / "tilt.dump"
    path.write_text("ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n1\n"
                    "ITEM: BOX BOUNDS xy xz yz pp pp pp\n-1.0 10.0 1.0\n0 9 -1.0\n0 8 0\n"
                    "ITEM: ATOMS id element xu yu zu\n1 Li 1 2 3\n")
    frame = next(iter_frames(path))
    # xlo = -1 - min(0, 1, -1, 0) = 0, xhi = 10 - max(0, 1, -1, 0) = 9
    np.testing.assert_allclose(frame.cell, [[9, 0, 0], [1, 9, 0], [-1, 0, 8]])
    assert frame.symbols[0] == "Li"


def test_errors_name_the_problem(tmp_path, toy_dump):
    path, *_ = toy_dump
    with pytest.raises(FileNotFoundError, match="missing.dump"):
        load_species_trajectory(tmp_path / "missing.dump", "Li", type_map=TYPE_MAP)
    with pytest.raises(ValueError, match="ion 'Na'"):
        load_species_trajectory(path, "Na", type_map=TYPE_MAP)
    with pytest.raises(ValueError, match="type-map"):
        load_species_trajectory(path, "Li")
    empty = tmp_path / "empty.dump"
    empty.write_text("")
    with pytest.raises(ValueError, match="no frames"):
        load_species_trajectory(empty, "Li", type_map=TYPE_MAP)
