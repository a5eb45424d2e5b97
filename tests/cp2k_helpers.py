"""CP2K for the DFT tests: installed from Debian packages when missing (tests/cp2k/install.sh, as
the SLURM tests install SLURM; CI runs as root), and the small Li/Al/Cl/O cell they label."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

INSTALL = Path(__file__).resolve().parent / "cp2k" / "install.sh"

# Loose-but-honest settings for tests where the plumbing, not the accuracy, is the point: a
# minimal basis and a 300 Ry cutoff (the production default is DZVP, 600 Ry) with dpglass's SCF.
QUICK = {"basis_set": "SZV-MOLOPT-SR-GTH", "cutoff_Ry": 300,
         "command": "env OMP_NUM_THREADS=2 cp2k.psmp -s"}


def ensure_cp2k() -> None:
    """cp2k.psmp on PATH, installed now if it is missing (skip only where that cannot be done:
    not root)."""
    if shutil.which("cp2k.psmp"):
        return
    if os.geteuid() != 0:
        pytest.skip("CP2K is not installed and installing it (tests/cp2k/install.sh) needs root")
    start = time.monotonic()
    subprocess.run(["bash", str(INSTALL)], check=True)
    print(f"\n[cp2k] install.sh took {time.monotonic() - start:.1f} s", file=sys.stderr)
    assert shutil.which("cp2k.psmp"), "tests/cp2k/install.sh did not provide cp2k.psmp"


def small_cell():
    """LiAlCl2O (neutral: Li+ Al3+ 2 Cl- O2-), 5 atoms at 2.2 g/cm^3 in a slightly triclinic
    cell (so the stress has shear components), rattled off any symmetric position."""
    import numpy as np

    from dpglass.reference.cells import pair_min_distances, random_packing
    from dpglass.core.composition import parse_formula

    formula = parse_formula("LiAlCl2O")
    atoms = random_packing(formula, formula.integer_counts(None, 1), 2.2,
                           pair_min_distances(formula.elements), seed=4)
    cell = np.array(atoms.cell[:])
    cell[1, 0] += 0.3
    cell[2, 1] -= 0.2
    atoms.set_cell(cell, scale_atoms=True)
    atoms.rattle(0.05, seed=1)
    return atoms
