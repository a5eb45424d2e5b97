"""LAMMPS data files: writing a structure with the one species -> type mapping, reading the header,
and the supercell a target atom count needs."""

from __future__ import annotations

from pathlib import Path


def write_data_file(atoms, path: str | Path, type_map: list[str]) -> None:
    """LAMMPS data file with types numbered in type_map order (the one species -> type mapping)."""
    from ase.io import write

    write(str(path), atoms, format="lammps-data", specorder=type_map, masses=True,
          atom_style="atomic")


def read_data_header(path: str | Path) -> tuple[int, tuple[float, float, float]]:
    """Atom count and orthogonal box lengths from a LAMMPS data file header."""
    natoms, lengths = None, {}
    with open(path) as handle:
        for line in handle:
            words = line.split()
            if len(words) >= 2 and words[1] == "atoms":
                natoms = int(words[0])
            for axis in "xyz":
                if len(words) >= 4 and words[2:4] == [f"{axis}lo", f"{axis}hi"]:
                    lengths[axis] = float(words[1]) - float(words[0])
            if line.strip() in ("Atoms", "Masses") or line.startswith("Atoms"):
                break
    if natoms is None or len(lengths) != 3:
        raise ValueError(f"{path}: no atom count or box in the header")
    return natoms, (lengths["x"], lengths["y"], lengths["z"])


def choose_replication(natoms: int, lengths: tuple[float, float, float], target_atoms: int,
                       max_per_axis: int = 20) -> tuple[int, int, int]:
    """Fewest copies a*b*c with natoms*a*b*c >= target_atoms; ties go to the most cubic supercell."""
    best = None
    for a in range(1, max_per_axis + 1):
        for b in range(1, max_per_axis + 1):
            for c in range(1, max_per_axis + 1):
                if natoms * a * b * c < target_atoms:
                    continue
                sides = (a * lengths[0], b * lengths[1], c * lengths[2])
                key = (a * b * c, max(sides) / min(sides), (a, b, c))
                if best is None or key < best:
                    best = key
    if best is None:
        raise ValueError(f"target_atoms={target_atoms} needs more than {max_per_axis} copies per axis "
                         f"of a {natoms}-atom cell")
    return best[2]
