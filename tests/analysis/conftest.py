"""Fixtures for the analysis tests; the generators live in synthetic_md.py."""

import pytest

from synthetic_md import toy_glass, write_lammps_dump


@pytest.fixture
def toy_dump(tmp_path):
    """A 400-frame dump (1 ps apart at 1 fs timestep) with D_Li = 0.05 Å²/ps = 5e-6 cm²/s."""
    positions, symbols = toy_glass(400, 0.05, 1.0, seed=3)
    path = tmp_path / "toy.dump"
    write_lammps_dump(path, positions, symbols, columns=("zu", "type", "vx", "id", "xu", "yu"))
    return path, positions, symbols
