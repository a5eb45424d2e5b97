"""CP2K single points on glass frames: seconds per point against atoms, and how far CHGNet (the
default teacher) is from CP2K-PBE on the same frames.

Frames: a random packing of LiAlCl2.5O0.75 at 2.2 g/cm^3 (4 and 8 formula units: 21 and 42
atoms), relaxed for 60 FIRE steps and run at 600 K for 100 fs between frames with CHGNet (Langevin,
2 fs), as the melt-quench samples them. Each size's frames are labelled in sequence by one CP2K
shell with dpglass's default CP2K settings (dpglass.reference.cp2k: PBE, DZVP-MOLOPT-SR-GTH, GTH-PBE, 600 Ry,
diagonalisation + Broyden), as the workflow's labeller does, on `--threads` OpenMP threads.

Per point it records the wall time and the CPU time of the CP2K process (the machine may be
shared: CPU seconds on one thread are what the point costs a core, whatever else runs), and the
SCF steps. The first point of a shell also pays CP2K's start-up and an SCF from atomic densities;
the table's "seconds per point" is the mean CPU time of the later points (± standard error), the
steady state of a labelling job. `dpglass plan` reads benchmarks/results/cp2k.json.

CHGNet vs CP2K on the smallest size's frames: force RMSE (eV/Å, all components), energy RMSE per
atom after removing the mean difference (the two codes' energy zeros differ: only differences
between frames are comparable), stress RMSE (GPa); errors from a bootstrap over frames.

    nice -n 5 .venv/bin/python benchmarks/bench_cp2k.py [--sizes 4 8] [--frames 6 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import time
from pathlib import Path

import numpy as np

from dpglass.core.io import write_json, write_text
from dpglass.core.units import quantity

GPA_PER_EV_A3 = 160.21766208
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def glass_frames(formula_units: int, count: int, seed: int = 3) -> list:
    """`count` CHGNet 600 K MD frames, 100 fs apart, of a relaxed random packing."""
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution
    from ase import units

    from dpglass.reference.cells import pair_min_distances, random_packing
    from dpglass.core.composition import parse_formula
    from dpglass.reference.meltquench import prerelax
    from dpglass.reference.calculators import make_calculator

    formula = parse_formula("LiAlCl2.5O0.75")
    atoms = random_packing(formula, formula.integer_counts(None, formula_units), 2.2,
                           pair_min_distances(formula.elements), seed=seed)
    atoms.calc = make_calculator("chgnet")
    prerelax(atoms, 60)
    MaxwellBoltzmannDistribution(atoms, temperature_K=600, rng=np.random.default_rng(seed))
    dynamics = Langevin(atoms, 2 * units.fs, temperature_K=600, friction=0.02,
                        rng=np.random.default_rng(seed + 1))
    frames = []
    for _ in range(count):
        dynamics.run(50)
        frame = atoms.copy()
        frame.calc = None
        frames.append(frame)
    return frames


def process_tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of a process and its descendants, from /proc."""
    total = 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return total
    return total + sum(process_tree_cpu_s(int(child)) for child in children)


def label_timed(frames: list, threads: int, directory: Path,
                kwargs: dict) -> tuple[list[dict], str | None]:
    """CP2K (dpglass's defaults) on `frames` with one shell: per point wall and CPU seconds, SCF
    steps, energy, forces, stress; and CP2K's version."""
    from dpglass.reference.cp2k import make_calculator

    calc = make_calculator(directory=directory, **kwargs,
                           command=f"env OMP_NUM_THREADS={threads} cp2k.psmp -s")
    points = []
    for frame in frames:
        atoms = frame.copy()
        atoms.calc = calc
        shell_pid = calc._shell._child.pid if calc._shell is not None else None
        cpu0 = process_tree_cpu_s(shell_pid) if shell_pid else 0.0
        start = time.perf_counter()
        energy = atoms.get_potential_energy()
        wall = time.perf_counter() - start
        shell_pid = shell_pid or calc._shell._child.pid
        cpu = process_tree_cpu_s(shell_pid) - cpu0
        steps = re.findall(r"SCF run converged in\s+(\d+)", calc.output_text)
        points.append({"wall_s": wall, "cpu_s": cpu, "scf_steps": int(steps[-1]) if steps else None,
                       "energy": energy, "forces": atoms.get_forces().copy(),
                       "stress": atoms.get_stress().copy(), "load": os.getloadavg()[0]})
        print(f"  {len(frame)} atoms: {wall:.1f} s wall, {cpu:.1f} s CPU, "
              f"{points[-1]['scf_steps']} SCF steps, load {points[-1]['load']:.1f}", flush=True)
    calc.close()
    return points, calc.version


def package_versions() -> dict:
    from importlib import metadata

    return {name: metadata.version(name) for name in ("chgnet", "ase", "torch", "numpy")}


def mean_sem(values) -> tuple[float, float | None]:
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return float(values.mean()), None
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(len(values)))


def compare_with_chgnet(frames: list, points: list[dict], seed: int = 0) -> dict:
    """CHGNet against CP2K on the same frames: RMSEs with bootstrap errors over frames."""
    from dpglass.reference.calculators import make_calculator

    chgnet = make_calculator("chgnet")
    rows = []
    for frame, point in zip(frames, points):
        atoms = frame.copy()
        atoms.calc = chgnet
        rows.append({"dE": atoms.get_potential_energy() / len(atoms) - point["energy"] / len(atoms),
                     "dF": atoms.get_forces() - point["forces"],
                     "dS": (atoms.get_stress() - point["stress"]) * GPA_PER_EV_A3,
                     "F": point["forces"]})

    def rmses(sample):
        dE = np.array([rows[i]["dE"] for i in sample])
        return (np.sqrt(np.mean(np.concatenate([rows[i]["dF"].ravel() for i in sample]) ** 2)),
                np.sqrt(np.mean((dE - dE.mean()) ** 2)),
                np.sqrt(np.mean(np.concatenate([rows[i]["dS"] for i in sample]) ** 2)))

    value = rmses(range(len(rows)))
    rng = np.random.default_rng(seed)
    boot = np.array([rmses(rng.integers(0, len(rows), len(rows))) for _ in range(1000)])
    error = boot.std(axis=0, ddof=1)
    forces = np.concatenate([r["F"].ravel() for r in rows])
    return {"frames": len(rows), "atoms": len(frames[0]),
            "force_rmse": quantity(value[0], error[0], "eV/Å"),
            "energy_rmse_per_atom": quantity(1000 * value[1], 1000 * error[1], "meV/atom"),
            "stress_rmse": quantity(value[2], error[2], "GPa"),
            "cp2k_force_rms": quantity(float(np.sqrt(np.mean(forces ** 2))), unit="eV/Å"),
            "energy_offset_per_atom": quantity(float(np.mean([r["dE"] for r in rows])), unit="eV/atom")}


def markdown(table: dict) -> str:
    lines = ["# CP2K single points on LiAlCl2.5O0.75 glass frames (benchmarks/bench_cp2k.py)", "",
             f"Command: `{table['command']}`, run {table['date']}; versions: "
             + ", ".join(f"{k} {v}" for k, v in table["versions"].items()) + ".", "",
             f"{table['machine']}; CP2K {table['settings']['version']}; settings: "
             f"{table['settings']['functional']}, {table['settings']['basis_set']}, "
             f"{table['settings']['pseudopotential']}, {table['settings']['cutoff']['value']:g} Ry, "
             f"{table['threads']} OpenMP thread(s), one MPI rank. Mean load average during the "
             f"points: {table['mean_load']:.1f} on {os.cpu_count()} cores (wall times include "
             f"waiting for the CPU; CPU seconds do not)."
             + (" Other jobs shared the machine during this run (load above its core count): "
                "its wall times overstate a quiet machine's; the CPU seconds are the cost."
                if table["mean_load"] > 0.75 * os.cpu_count() else ""), "",
             "| atoms | frames | first point, CPU s (wall s) | later points: CPU s per point | "
             "wall s per point | SCF steps (first; later) |", "|---|---|---|---|---|---|"]
    for row in table["single_points"]:
        s = row["seconds_per_point"]
        err = f" ± {s['error']:.2g}" if s["error"] is not None else ""
        lines.append(f"| {row['atoms']} | {row['frames']} | {row['first_cpu_s']:.0f} "
                     f"({row['first_wall_s']:.0f}) | {s['value']:.3g}{err} | "
                     f"{row['later_wall_s']:.3g} | {row['scf_steps'][0]}; "
                     f"{', '.join(map(str, row['scf_steps'][1:]))} |")
    fit = table["fit"]
    lines += ["", f"CPU seconds per point ≈ {fit['a']:.3g} · atoms^{fit['p']:.2f} (least squares "
              "in log-log over the rows; what `dpglass plan` extrapolates with).", ""]
    c = table["chgnet_vs_cp2k"]
    lines += [f"## CHGNet against CP2K-PBE ({c['frames']} frames of {c['atoms']} atoms, 600 K)", "",
              f"- force RMSE: {1000 * c['force_rmse']['value']:.0f} ± "
              f"{1000 * c['force_rmse']['error']:.0f} meV/Å (the CP2K forces' own RMS: "
              f"{1000 * c['cp2k_force_rms']['value']:.0f} meV/Å)",
              f"- energy RMSE per atom (mean offset {c['energy_offset_per_atom']['value']:.3f} "
              f"eV/atom removed): {c['energy_rmse_per_atom']['value']:.2f} ± "
              f"{c['energy_rmse_per_atom']['error']:.2f} meV/atom",
              f"- stress RMSE: {c['stress_rmse']['value']:.2f} ± {c['stress_rmse']['error']:.2f} GPa",
              "", "Errors: standard deviation of a bootstrap over frames (1000 resamples).", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[4, 8],
                        help="formula units per cell (4 -> 21 atoms)")
    parser.add_argument("--frames", type=int, nargs="+", default=[6, 2],
                        help="frames per size (the first size's are compared with CHGNet)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cutoff-ry", type=float, default=None,
                        help="density cutoff, Ry (default: dpglass's, 600); a smoke test of the script")
    parser.add_argument("--basis", default=None, help="basis set (default: dpglass's, DZVP-MOLOPT-SR-GTH)")
    parser.add_argument("--work", type=Path, default=Path("benchmarks/work_cp2k"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    from dpglass.report.provenance import cpu_model
    from dpglass.reference.calculators import describe

    kwargs = {key: value for key, value in (("cutoff_Ry", args.cutoff_ry), ("basis_set", args.basis))
              if value is not None}
    rows, comparison, calc_version = [], None, None
    all_loads = []
    for size, count in zip(args.sizes, args.frames):
        frames = glass_frames(size, count)
        print(f"{len(frames[0])} atoms, {count} frames", flush=True)
        points, calc_version = label_timed(frames, args.threads, args.work / f"atoms{len(frames[0])}",
                                           kwargs)
        later = points[1:] or points
        rows.append({"atoms": len(frames[0]), "frames": count,
                     "first_cpu_s": points[0]["cpu_s"], "first_wall_s": points[0]["wall_s"],
                     "seconds_per_point": quantity(*mean_sem([p["cpu_s"] for p in later]), unit="s"),
                     "later_wall_s": float(np.mean([p["wall_s"] for p in later])),
                     "scf_steps": [p["scf_steps"] for p in points]})
        all_loads += [p["load"] for p in points]
        if comparison is None:
            comparison = compare_with_chgnet(frames, points)
    from dpglass.report.plan import timing_fit

    a, p = timing_fit(rows)
    settings = describe("cp2k", kwargs) | {"version": calc_version}
    table = {"machine": f"{cpu_model()} ({platform.machine()}, {os.cpu_count()} cores)",
             "date": time.strftime("%Y-%m-%d"),
             "command": "nice -n 5 .venv/bin/python benchmarks/bench_cp2k.py " + " ".join(sys.argv[1:]),
             "versions": package_versions(),
             "threads": args.threads, "settings": settings, "mean_load": float(np.mean(all_loads)),
             "single_points": rows, "fit": {"a": a, "p": p}, "chgnet_vs_cp2k": comparison}
    write_json(args.out / "cp2k.json", table)
    write_text(args.out / "cp2k.md", markdown(table))
    print(markdown(table))


if __name__ == "__main__":
    main()
