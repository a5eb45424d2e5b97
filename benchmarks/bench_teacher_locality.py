"""How local is the teacher, and is the student's range enough for it? The spread of the force on
an atom when only the atoms farther than a distance d from it move, for the teacher and for a DeePMD
student, on the same rattled configurations.

In a supercell wide enough that the moved atoms are not periodic images of the kept ones (half its
narrowest width above the largest d), the atoms farther than d from a centre atom i are displaced
at random (Gaussian, `--sigma` Å per component), the rest stay, and the force on i is recomputed.
Per species and d the table gives the standard deviation of F_i over the rattles (per component,
pooled over the centres of that species and the three components), ± its standard error.

A DeePMD student with cutoff r_c writes the energy as a sum of atomic energies that see r_c, so the
force on i (a sum of its neighbours' energy derivatives) sees 2 r_c: beyond 2 r_c it cannot move at
all, and the teacher's spread there is a floor under every such student's force error on that
ensemble. Between r_c and 2 r_c the student responds only through its neighbours' energies; the
side-by-side spreads show how much of the teacher's response it has, and the spread of the
difference teacher − student over the same rattles is the part of this student's force error that
moves with the atoms beyond d. The rattle is a lower bound on how much the outside varies in MD
(0.1 Å is about the thermal displacement of the heavy ions at 300 K; between frames of a melt the
outside is another configuration altogether), so these are lower bounds; `--sigma 0.1 0.2` shows
how they grow with it.

Controls run every time: sigma 0 (the force must not change: the calculator is deterministic and
the method adds nothing) and, with `--student`, the student with the atoms beyond 2 r_c rattled
(must not change).

    nice -n 5 .venv/bin/python benchmarks/bench_teacher_locality.py \\
        [--structure results/LACO75/melt_quench/frames.extxyz --index -1] [--calculator chgnet] \\
        [--student results/LACO75/train/model_0/frozen.pb] [--distances 4 6 8 12]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from dpglass.analysis.rdf import perpendicular_widths
from dpglass.core.io import write_json, write_text

RESULTS = Path(__file__).resolve().parent / "results"


def supercell_for(atoms, largest_cutoff_A: float):
    """The smallest repeat of `atoms` whose narrowest half-width exceeds the largest cutoff."""
    widths = perpendicular_widths(np.asarray(atoms.cell))
    repeats = tuple(int(np.floor(2.0 * largest_cutoff_A / w)) + 1 for w in widths)
    return atoms.repeat(repeats), repeats


def centre_atoms(symbols: list[str], n_original: int, per_species: int) -> list[int]:
    """The first `per_species` atoms of every species among the original cell's atoms."""
    chosen = []
    for element in dict.fromkeys(symbols[:n_original]):
        chosen += [i for i in range(n_original) if symbols[i] == element][:per_species]
    return chosen


def rattled_forces(atoms, calc, centre: int, cutoff_A: float, sigma_A: float, rattles: int,
                   rng) -> np.ndarray:
    """Forces on `centre` (rattles x 3) with every atom beyond `cutoff_A` of it displaced."""
    distances = atoms.get_distances(centre, range(len(atoms)), mic=True)
    far = distances > cutoff_A
    forces = []
    for _ in range(rattles):
        moved = atoms.copy()
        positions = moved.get_positions()
        positions[far] += rng.normal(0.0, sigma_A, (int(far.sum()), 3))
        moved.set_positions(positions)
        moved.calc = calc
        forces.append(moved.get_forces()[centre])
    return np.array(forces)


def sample_forces(atoms, calc, centres: list[int], distances: list[float], sigma_A: float,
                  rattles: int, seed: int) -> tuple[dict, np.ndarray]:
    """The centres' forces over the rattles, {(distance, centre): rattles x 3}, and every atom's
    unrattled force. The same seed gives the same displacements to every calculator."""
    rng = np.random.default_rng(seed)
    reference = atoms.copy()
    reference.calc = calc
    unrattled = reference.get_forces()
    samples = {(d, c): rattled_forces(atoms, calc, c, d, sigma_A, rattles, rng)
               for d in distances for c in centres}
    return samples, unrattled


def spread_table(samples: dict, symbols: list[str], unrattled: np.ndarray | None = None) -> dict:
    """Per distance and species: the pooled standard deviation of the centre's force over the
    rattles (eV/Å per component) with its degrees of freedom, and (given the unrattled forces)
    the RMS change from them; "all" pools the species."""
    rows = {}
    for distance in dict.fromkeys(d for d, _ in samples):
        squares, changes, dof = {}, {}, {}
        for (d, centre), forces in samples.items():
            if d != distance:
                continue
            element = symbols[centre]
            squares[element] = squares.get(element, 0.0) + float(
                np.sum((forces - forces.mean(axis=0)) ** 2))
            dof[element] = dof.get(element, 0) + 3 * (len(forces) - 1)
            if unrattled is not None:
                changes.setdefault(element, []).append(forces - unrattled[centre])
        row = {element: {"spread_eV_A": float(np.sqrt(squares[element] / dof[element])),
                         "dof": dof[element]} for element in squares}
        for element, values in changes.items():
            row[element]["rms_change_eV_A"] = float(np.sqrt(np.mean(np.square(values))))
        row["all"] = {"spread_eV_A": float(np.sqrt(sum(squares.values()) / sum(dof.values()))),
                      "dof": sum(dof.values())}
        rows[f"{distance:g}"] = row
        print(f"  d {distance:g} Å: " + ", ".join(
            f"{el} {1000 * v['spread_eV_A']:.1f}" for el, v in row.items()) + " meV/Å", flush=True)
    return rows


def largest_change(rows: dict) -> float:
    return max(v.get("rms_change_eV_A", 0.0) for row in rows.values() for v in row.values())


def relative_error(dof: int) -> float:
    """Relative standard error of a standard deviation estimated with `dof` degrees of freedom
    (Gaussian): 1/sqrt(2 dof)."""
    return 1.0 / np.sqrt(2.0 * dof)


def student_cutoff(model: str) -> float:
    from deepmd.infer import DeepPot

    return float(DeepPot(model).get_rcut())


def _cell(entry: dict) -> str:
    value = 1000 * entry["spread_eV_A"]
    error = value * relative_error(entry["dof"])
    digits = 0 if value >= 10 else 1
    return f"{value:.{digits}f} ± {error:.{digits}f}"


def _table(distances: list[str], species: list[str], tables: list[dict]) -> list[str]:
    """Rows of d against species; several tables side by side in a cell (a / b)."""
    lines = ["| d (Å) | " + " | ".join(species) + " |", "|---|" + "---|" * len(species)]
    for d in distances:
        cells = [" / ".join(_cell(table[d][element]) for table in tables) for element in species]
        lines.append(f"| {d} | " + " | ".join(cells) + " |")
    return lines


def markdown(result: dict) -> str:
    lines = ["# How local is the teacher? (benchmarks/bench_teacher_locality.py)", "",
             f"Command: `{result['command']}`, run {result['date']}; {result['machine']}.", "",
             f"Structure: {result['structure']} (frame {result['index']}), {result['n_atoms']} atoms "
             f"repeated {result['repeats']} to {result['n_supercell']} atoms (half its narrowest "
             f"width above the largest distance); teacher {result['calculator']}; "
             f"{result['centres_per_species']} centre atoms per species, {result['rattles']} "
             "rattles each, every atom farther than d from the centre displaced (Gaussian, sigma "
             "per component). Spreads in meV/Å per component, ± standard error."]
    for section in result["sections"]:
        teacher, student = section["teacher"], section.get("student")
        distances = list(teacher.keys())
        species = [s for s in teacher[distances[0]] if s != "all"] + ["all"]
        lines += ["", f"## sigma {section['sigma_A']:g} Å ({section['teacher_seconds']:.0f} s of "
                  "teacher evaluations)", "",
                  "Spread of the force on an atom when only the atoms farther than d move"
                  + (", teacher / student on the same rattles" if student else "") + ":", "",
                  *_table(distances, species, [teacher] + ([student["table"]] if student else []))]
        if student:
            lines += ["", "Spread of the difference teacher − student on the same rattles: the "
                      "part of this student's force error that moves with the atoms farther than "
                      "d:", "", *_table(distances, species, [student["difference"]]), "",
                      f"Control: the student {student['model']} (cutoff r_c "
                      f"{student['rcut_A']:g} Å), atoms beyond 2 r_c = {2 * student['rcut_A']:g} Å "
                      f"rattled: largest change of a centre's force "
                      f"{1000 * student['beyond_2rc_eV_A']:.2g} meV/Å (must be ~0: its force "
                      "sees 2 r_c)."]
    lines += ["", f"Control: sigma 0 (nothing moves): largest change of a centre's force "
              f"{1000 * result['control_sigma0_eV_A']:.2g} meV/Å."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--structure", default="results/LACO75/melt_quench/frames.extxyz")
    parser.add_argument("--index", type=int, default=-1)
    parser.add_argument("--calculator", default="chgnet")
    parser.add_argument("--distances", type=float, nargs="+", default=[4.0, 6.0, 8.0, 12.0])
    parser.add_argument("--sigma", type=float, nargs="+", default=[0.1],
                        help="rattle amplitudes, Å per component (one table each)")
    parser.add_argument("--centres-per-species", type=int, default=2)
    parser.add_argument("--rattles", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--student", help="a frozen DeePMD model to compare on the same rattles")
    parser.add_argument("--out", default=str(RESULTS / "teacher_locality"))
    args = parser.parse_args()

    from ase.io import read

    from dpglass.reference.calculators import make_calculator

    if args.rattles < 2:
        parser.error(f"--rattles {args.rattles}: a spread needs at least 2")
    if min(args.sigma) <= 0:
        parser.error(f"--sigma {min(args.sigma)}: the rattle must move the atoms")
    path = Path(args.structure)
    if not path.exists():
        parser.error(f"--structure {path}: no such file (run the demo, or name a frame file)")
    frame = read(path, args.index)
    rcut = student_cutoff(args.student) if args.student else 0.0
    atoms, repeats = supercell_for(frame, max(args.distances + [2 * rcut]))
    centres = centre_atoms(atoms.get_chemical_symbols(), len(frame), args.centres_per_species)
    print(f"{len(frame)} atoms x {repeats} = {len(atoms)}; {len(centres)} centres; "
          f"{len(centres) * len(args.distances) * args.rattles + 1} evaluations per calculator "
          f"and sigma", flush=True)
    symbols = atoms.get_chemical_symbols()
    calc = make_calculator(args.calculator)
    model = None
    if args.student:
        from deepmd.calculator import DP

        model = DP(model=args.student)
    result = {"command": " ".join(["python", "benchmarks/bench_teacher_locality.py"] + sys.argv[1:]),
              "date": time.strftime("%Y-%m-%d"),
              "machine": f"{platform.machine()}, {os.cpu_count()} cores",
              "structure": str(path), "index": args.index, "n_atoms": len(frame),
              "repeats": list(repeats), "n_supercell": len(atoms), "calculator": args.calculator,
              "centres_per_species": args.centres_per_species, "rattles": args.rattles,
              "sections": []}
    for sigma in args.sigma:
        start = time.time()
        teacher, unrattled = sample_forces(atoms, calc, centres, args.distances, sigma,
                                           args.rattles, args.seed)
        section = {"sigma_A": sigma, "teacher": spread_table(teacher, symbols, unrattled),
                   "teacher_seconds": time.time() - start}
        if model is not None:
            # the same seed: the same displacements as the teacher saw
            student, student_unrattled = sample_forces(atoms, model, centres, args.distances,
                                                       sigma, args.rattles, args.seed)
            beyond, _ = sample_forces(atoms, model, centres, [2 * rcut], sigma, 2, args.seed)
            section["student"] = {
                "model": args.student, "rcut_A": rcut,
                "table": spread_table(student, symbols, student_unrattled),
                "difference": spread_table({k: teacher[k] - student[k] for k in teacher}, symbols),
                "beyond_2rc_eV_A": largest_change(spread_table(beyond, symbols,
                                                               student_unrattled))}
        result["sections"].append(section)
    # Control: sigma 0 must leave a centre's force exactly as it was.
    still, _ = sample_forces(atoms, calc, centres[:1], [min(args.distances)], 0.0, 2, args.seed)
    result["control_sigma0_eV_A"] = largest_change(spread_table(still, symbols, unrattled))
    out = Path(args.out)
    write_json(out.with_suffix(".json"), result)
    write_text(out.with_suffix(".md"), markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
