"""Streaming readers for LAMMPS custom dumps and extended XYZ.

Frames are read one at a time. ``load_species_trajectory`` keeps only the selected species'
unwrapped positions (float32) plus a few per-frame reductions of all atoms (centres of mass and
the charge dipole), so memory grows as frames × selected atoms, not frames × all atoms.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
from ase.data import atomic_masses, atomic_numbers

from dpglass.core.composition import FORMAL_CHARGES

TRAJECTORY_FORMATS = ("lammps-dump", "extxyz")


@dataclass
class Frame:
    """One snapshot; positions are unwrapped when ``unwrapped`` is True."""

    time_ps: float | None
    symbols: np.ndarray
    positions: np.ndarray
    cell: np.ndarray
    unwrapped: bool
    step: int | None = None         # MD step (LAMMPS dumps)
    ids: np.ndarray | None = None   # atom ids in the order of positions (LAMMPS dumps)


@dataclass
class SpeciesTrajectory:
    """What the transport analysis needs from a trajectory, with bounded memory."""

    times_ps: np.ndarray            # (n_frames,)
    positions: np.ndarray           # (n_frames, n_ions, 3) float32, unwrapped, Å
    system_com: np.ndarray          # (n_frames, 3) mass-weighted COM of all atoms
    framework_com: np.ndarray       # (n_frames, 3) mass-weighted COM of all other species
    charge_dipole: np.ndarray | None  # (n_frames, 3) Σ q_i r_i over all atoms, e·Å; None when
    #                                    a species has no known charge (see unknown_charges)
    species_counts: dict
    mean_volume_A3: float
    unknown_charges: tuple = ()      # species without a formal charge (total σ unavailable)

    @property
    def timestep_ps(self) -> float:
        return float(self.times_ps[1] - self.times_ps[0])


def guess_format(path: str | Path) -> str:
    name = Path(path).name.lower()
    return "extxyz" if name.endswith((".xyz", ".extxyz")) else "lammps-dump"


def iter_frames(path: str | Path, fmt: str | None = None, type_map: Sequence[str] | None = None,
                timestep_fs: float | None = None, stride: int = 1) -> Iterator[Frame]:
    """Yield frames of a trajectory; ``time_ps`` is None when the file carries no time."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"trajectory file not found: {path}")
    fmt = fmt or guess_format(path)
    if fmt not in TRAJECTORY_FORMATS:
        raise ValueError(f"format must be one of {TRAJECTORY_FORMATS}, got {fmt!r}")
    frames = (_iter_lammps_dump(path, type_map, timestep_fs) if fmt == "lammps-dump"
              else _iter_extxyz(path))
    for index, frame in enumerate(frames):
        if index % stride == 0:
            yield frame


def count_frames(path: str | Path, fmt: str | None = None) -> int:
    """Frames in a trajectory file (a LAMMPS dump is counted by its TIMESTEP lines, unparsed)."""
    path = Path(path)
    if (fmt or guess_format(path)) == "lammps-dump":
        with path.open() as stream:
            return sum(1 for line in stream if line.startswith("ITEM: TIMESTEP"))
    return sum(1 for _ in iter_frames(path, fmt))


def _iter_extxyz(path: Path) -> Iterator[Frame]:
    from ase.io import iread

    for atoms in iread(str(path), index=":", format="extxyz"):
        info = atoms.info
        if "time_fs" in info:
            time_ps = float(info["time_fs"]) / 1000.0
        elif "time_ps" in info or "time" in info:  # plain `time` is taken as ps (metal units)
            time_ps = float(info.get("time_ps", info.get("time")))
        else:
            time_ps = None
        yield Frame(time_ps, np.array(atoms.get_chemical_symbols()), atoms.positions.copy(),
                    np.array(atoms.cell), unwrapped=False)


def _lammps_cell(bounds: list[list[float]]) -> np.ndarray:
    """Cell vectors from ``ITEM: BOX BOUNDS`` lines (orthogonal or with xy xz yz tilts)."""
    (xlo_b, xhi_b, *xy), (ylo_b, yhi_b, *xz), (zlo, zhi, *yz) = bounds
    xy, xz, yz = (xy or [0.0])[0], (xz or [0.0])[0], (yz or [0.0])[0]
    # LAMMPS writes the bounding box of a tilted cell; undo it (LAMMPS manual, Howto triclinic).
    xlo = xlo_b - min(0.0, xy, xz, xy + xz)
    xhi = xhi_b - max(0.0, xy, xz, xy + xz)
    ylo = ylo_b - min(0.0, yz)
    yhi = yhi_b - max(0.0, yz)
    return np.array([[xhi - xlo, 0.0, 0.0], [xy, yhi - ylo, 0.0], [xz, yz, zhi - zlo]])


def _iter_lammps_dump(path: Path, type_map: Sequence[str] | None,
                      timestep_fs: float | None) -> Iterator[Frame]:
    with path.open() as stream:
        first_step = None
        while True:
            line = stream.readline()
            if not line:
                return
            if not line.startswith("ITEM: TIMESTEP"):
                continue
            step = int(stream.readline().split()[0])
            first_step = step if first_step is None else first_step
            if not stream.readline().startswith("ITEM: NUMBER OF ATOMS"):
                raise ValueError(f"{path}: malformed dump at step {step}")
            n_atoms = int(stream.readline())
            stream.readline()  # ITEM: BOX BOUNDS ...
            cell = _lammps_cell([[float(x) for x in stream.readline().split()] for _ in range(3)])
            columns = stream.readline().split()[2:]
            block = [stream.readline() for _ in range(n_atoms)]
            if n_atoms == 0 or not block[-1]:
                raise ValueError(f"{path}: truncated frame at step {step}")
            table = np.array(" ".join(block).split()).reshape(n_atoms, len(columns))
            order = np.argsort(table[:, columns.index("id")].astype(np.int64)) \
                if "id" in columns else np.arange(n_atoms)
            table = table[order]
            symbols = _dump_symbols(table, columns, type_map, path)
            positions, unwrapped = _dump_positions(table, columns, cell, path)
            time_ps = None if timestep_fs is None else (step - first_step) * timestep_fs / 1000.0
            ids = table[:, columns.index("id")].astype(np.int64) if "id" in columns else None
            yield Frame(time_ps, symbols, positions, cell, unwrapped, step, ids)


def _dump_symbols(table: np.ndarray, columns: list[str], type_map: Sequence[str] | None,
                  path: Path) -> np.ndarray:
    if "element" in columns:
        return table[:, columns.index("element")]
    if "type" not in columns:
        raise ValueError(f"{path}: dump has neither 'type' nor 'element' column")
    types = table[:, columns.index("type")].astype(int)
    if not type_map:
        raise ValueError(f"{path}: numeric atom types need --type-map (type 1 = first element)")
    if types.max() > len(type_map):
        raise ValueError(f"type_map {list(type_map)} has {len(type_map)} entries but the dump "
                         f"has type {types.max()}")
    return np.asarray(type_map)[types - 1]


def _dump_positions(table: np.ndarray, columns: list[str], cell: np.ndarray,
                    path: Path) -> tuple[np.ndarray, bool]:
    def pick(names: Sequence[str]) -> np.ndarray:
        return table[:, [columns.index(name) for name in names]].astype(float)

    if {"xu", "yu", "zu"} <= set(columns):
        return pick(("xu", "yu", "zu")), True
    if {"x", "y", "z", "ix", "iy", "iz"} <= set(columns):
        return pick(("x", "y", "z")) + pick(("ix", "iy", "iz")) @ cell, True
    if {"xsu", "ysu", "zsu"} <= set(columns):
        return pick(("xsu", "ysu", "zsu")) @ cell, True
    if {"x", "y", "z"} <= set(columns):
        return pick(("x", "y", "z")), False
    if {"xs", "ys", "zs"} <= set(columns):
        return pick(("xs", "ys", "zs")) @ cell, False
    raise ValueError(f"{path}: dump has no position columns (xu yu zu, x y z, xs ys zs)")


def _minimum_image_step(previous: np.ndarray, current: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """Unwrap ``current`` relative to ``previous``, assuming no atom moved half a box per frame."""
    fractional = (current - previous) @ np.linalg.inv(cell)
    fractional -= np.round(fractional)
    return previous + fractional @ cell


def load_species_trajectory(path: str | Path, species: str, fmt: str | None = None,
                            type_map: Sequence[str] | None = None,
                            timestep_fs: float | None = 1.0, dt_fs: float | None = None,
                            charges: dict | None = None) -> SpeciesTrajectory:
    """Stream a trajectory and keep what the MSD analysis of ``species`` needs.

    Time between frames: ``dt_fs`` when given, else the file's times (LAMMPS step × timestep_fs,
    or the extxyz ``time``/``time_ps``/``time_fs`` key).
    """
    charges = {**FORMAL_CHARGES, **(charges or {})}
    selected_positions, system_com, framework_com, dipole, times, volumes = [], [], [], [], [], []
    previous = None
    for index, frame in enumerate(iter_frames(path, fmt, type_map, timestep_fs)):
        _check_finite(frame, index, path)
        if previous is None:
            symbols = frame.symbols
            if species not in set(symbols):
                raise ValueError(f"ion {species!r} not in trajectory species "
                                 f"{sorted(set(symbols))} ({path})")
            # Species without a formal charge still give D and the tracer σ of ``species``;
            # only the total (all-charge) collective conductivity needs every charge.
            unknown = tuple(sorted(set(symbols) - set(charges)))
            selected = symbols == species
            masses = atomic_masses[[atomic_numbers[s] for s in symbols]]
            atom_charges = np.array([charges.get(s, np.nan) for s in symbols])
            positions = frame.positions
        elif len(frame.symbols) != len(symbols) or np.any(frame.symbols != symbols):
            raise ValueError(f"{path}: atoms change between frames")
        else:
            positions = (frame.positions if frame.unwrapped
                         else _minimum_image_step(previous, frame.positions, frame.cell))
        previous = positions
        selected_positions.append(positions[selected].astype(np.float32))
        system_com.append(masses @ positions / masses.sum())
        framework_com.append(masses[~selected] @ positions[~selected] / masses[~selected].sum()
                             if np.any(~selected) else system_com[-1])
        if not unknown:
            dipole.append(atom_charges @ positions)
        times.append(frame.time_ps)
        volumes.append(abs(np.linalg.det(frame.cell)))
    if previous is None:
        raise ValueError(f"trajectory {path} contains no frames")
    if len(times) < 4:
        raise ValueError(f"trajectory {path} has {len(times)} frames; need at least 4 for an MSD")
    times_ps = _frame_times(times, dt_fs, path)
    unique, counts = np.unique(symbols, return_counts=True)
    return SpeciesTrajectory(times_ps, np.stack(selected_positions), np.array(system_com),
                             np.array(framework_com), None if unknown else np.array(dipole),
                             {str(s): int(c) for s, c in zip(unique, counts)},
                             float(np.mean(volumes)), unknown)


def _check_finite(frame: Frame, index: int, path) -> None:
    """Non-finite coordinates or cell stop the analysis, naming the frame and the atom."""
    where = f"frame {index}" + (f" (step {frame.step})" if frame.step is not None else "")
    if not np.all(np.isfinite(frame.cell)):
        raise ValueError(f"{path}: {where} has a non-finite cell")
    bad = np.nonzero(~np.all(np.isfinite(frame.positions), axis=1))[0]
    if len(bad):
        atom = bad[0]
        name = f"atom id {frame.ids[atom]}" if frame.ids is not None else f"atom {atom}"
        raise ValueError(f"{path}: {where}: {name} ({frame.symbols[atom]}) has non-finite "
                         f"coordinates {frame.positions[atom].tolist()}"
                         + (f" ({len(bad)} atoms in all)" if len(bad) > 1 else ""))


def _frame_times(times: list, dt_fs: float | None, path) -> np.ndarray:
    if dt_fs is not None:
        if dt_fs <= 0:
            raise ValueError(f"dt_fs must be > 0, got {dt_fs}")
        return np.arange(len(times)) * dt_fs / 1000.0
    if any(t is None for t in times):
        raise ValueError(f"{path} carries no frame times: pass dt_fs (--dt-fs) or, for LAMMPS "
                         "dumps, timestep_fs (--timestep-fs)")
    times_ps = np.asarray(times, dtype=float) - times[0]
    spacing = np.diff(times_ps)
    # The FFT MSD needs evenly spaced frames; restarts that repeat a step would break that.
    if spacing[0] <= 0 or not np.allclose(spacing, spacing[0], rtol=1e-6, atol=1e-9):
        raise ValueError(f"{path}: frames are not evenly spaced in time")
    return times_ps


@dataclass
class Trajectory:
    """Every atom's unwrapped positions (the mechanism analysis: all species, hops, density)."""

    times_ps: np.ndarray    # (n_frames,)
    symbols: np.ndarray     # (n_atoms,)
    positions: np.ndarray   # (n_frames, n_atoms, 3) float32, unwrapped, Å
    cells: np.ndarray       # (n_frames, 3, 3), Å
    masses: np.ndarray      # (n_atoms,) g/mol

    @property
    def timestep_ps(self) -> float:
        return float(self.times_ps[1] - self.times_ps[0])

    def species(self) -> list[str]:
        """Species in order of first appearance."""
        return list(dict.fromkeys(self.symbols.tolist()))

    def drift_corrected(self) -> np.ndarray:
        """Positions minus the displacement of the system's mass-weighted centre (float32)."""
        com = np.einsum("fai,a->fi", self.positions, self.masses / self.masses.sum())
        return self.positions - (com - com[0])[:, None, :].astype(np.float32)


def load_trajectory(path: str | Path, fmt: str | None = None,
                    type_map: Sequence[str] | None = None, timestep_fs: float | None = 1.0,
                    dt_fs: float | None = None, require: Sequence[str] = ()) -> Trajectory:
    """Stream a trajectory and keep every atom's unwrapped positions (float32): frames × atoms ×
    12 bytes. ``require``: species that must be in it (an error naming them otherwise, raised at
    the first frame). Frame times as in ``load_species_trajectory``."""
    positions, cells, times = [], [], []
    previous = None
    for index, frame in enumerate(iter_frames(path, fmt, type_map, timestep_fs)):
        _check_finite(frame, index, path)
        if previous is None:
            symbols = np.asarray(frame.symbols)
            missing = [s for s in require if s not in set(symbols.tolist())]
            if missing:
                raise ValueError(f"species {missing} not in trajectory species "
                                 f"{sorted(set(symbols.tolist()))} ({path})")
            current = frame.positions
        elif len(frame.symbols) != len(symbols) or np.any(frame.symbols != symbols):
            raise ValueError(f"{path}: atoms change between frames")
        else:
            current = (frame.positions if frame.unwrapped
                       else _minimum_image_step(previous, frame.positions, frame.cell))
        previous = current
        positions.append(current.astype(np.float32))
        cells.append(np.asarray(frame.cell, dtype=float))
        times.append(frame.time_ps)
    if previous is None:
        raise ValueError(f"trajectory {path} contains no frames")
    if len(times) < 4:
        raise ValueError(f"trajectory {path} has {len(times)} frames; need at least 4")
    masses = atomic_masses[[atomic_numbers[s] for s in symbols]]
    return Trajectory(_frame_times(times, dt_fs, path), symbols, np.stack(positions),
                      np.stack(cells), masses)
