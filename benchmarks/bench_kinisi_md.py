"""dpglass's D and its error beside kinisi's on real MD, and both errors against the scatter of
independent blocks of one long run.

kinisi (McCluskey et al., J. Chem. Theory Comput. 2024) is not a dpglass dependency:

    .venv/bin/pip install kinisi
    .venv/bin/python benchmarks/real_md.py --work /tmp/dpglass-md          # own LAMMPS runs
    .venv/bin/python benchmarks/bench_kinisi_md.py --work /tmp/dpglass-md \\
        --xdatcar .venv/lib/python3.11/site-packages/kinisi/tests/inputs/example_XDATCAR.gz \\
        [--sweep results/LACO75/sweep/T393/r0] [--transport BENCH_TRANSPORT_WORK] \\
        [--runs lj-liquid ka-0.6] [--block-runs lj-liquid ka-0.6] [--out benchmarks/results/kinisi_md.md]

About 8 minutes of one core with every option above (two 20-block checks of 10,000-frame runs).

Per trajectory both codes get the same unwrapped positions and the same fit start (dpglass's
window start); kinisi fits from there to the end of the run (its default), dpglass too. Printed:
D ± σ of each (Å²/ps), |Δ|/σ_comb, σ_dpglass/σ_kinisi, dpglass's verdict, hop events and ion
correlation. kinisi has no diffusive verdict: it reports a D for any positive slope.

Block check: a long run cut into B equal blocks, each analysed on its own by both codes (each with
dpglass's start of that block). If the reported errors are right, the blocks' D scatter about
their mean as their errors say: the ratio "scatter / error" = √(Σ (D_b - D̄)² / σ_b² / (B - 1))
is 1 within ±√(1/(2(B-1))) (≈ ±0.16 for 20 blocks); above 1 the errors are too small.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from real_md import RUNS, MdRun  # noqa: E402

from dpglass.analysis.conductivity import analyze_trajectory  # noqa: E402
from dpglass.analysis.trajectory import (_minimum_image_step, iter_frames,  # noqa: E402
                                         load_species_trajectory)
from dpglass.report.provenance import cpu_model  # noqa: E402

TO_A2_PER_PS = 1e4  # cm²/s → Å²/ps
# kinisi builds a dense covariance over every lag it is given: cap the lags (log-spaced subset of
# the frames' lags, always including the last) so that a long run stays tractable.
KINISI_MAX_LAGS = 400


@dataclasses.dataclass
class Trajectory:
    """One trajectory as both codes need it: dpglass's species trajectory and ASE frames."""

    name: str
    ion: str
    temperature_K: float
    species: object            # dpglass SpeciesTrajectory
    cell: np.ndarray
    symbols: np.ndarray
    positions: np.ndarray      # (frames, atoms, 3) unwrapped, all atoms
    drift_correction: str      # "framework" when other species exist, else "system"

    def block(self, index: int, count: int) -> "Trajectory":
        size = len(self.positions) // count
        part = slice(index * size, (index + 1) * size)
        s = self.species
        times = s.times_ps[part] - s.times_ps[part][0]
        species = dataclasses.replace(
            s, times_ps=times, positions=s.positions[part], system_com=s.system_com[part],
            framework_com=s.framework_com[part],
            charge_dipole=None if s.charge_dipole is None else s.charge_dipole[part])
        return dataclasses.replace(self, name=f"{self.name} block {index}", species=species,
                                   positions=self.positions[part])


def load(name: str, path: Path, ion: str, temperature_K: float, fmt: str | None = None,
         type_map=None, timestep_fs=None, dt_fs=None, stride: int = 1) -> Trajectory:
    species = load_species_trajectory(path, ion, fmt=fmt, type_map=type_map,
                                      timestep_fs=timestep_fs, dt_fs=dt_fs)
    frames, previous = [], None
    for frame in iter_frames(path, fmt, type_map, timestep_fs):
        positions = frame.positions
        if not frame.unwrapped and previous is not None:
            positions = _minimum_image_step(previous, positions, frame.cell)
        frames.append(positions)
        previous = positions
        cell, symbols = frame.cell, frame.symbols
    positions = np.array(frames)
    if stride > 1:
        positions = positions[::stride]
        species = dataclasses.replace(
            species, times_ps=species.times_ps[::stride], positions=species.positions[::stride],
            system_com=species.system_com[::stride], framework_com=species.framework_com[::stride],
            charge_dipole=None if species.charge_dipole is None
            else species.charge_dipole[::stride])
    drift = "framework" if len(set(symbols)) > 1 else "system"
    return Trajectory(name, ion, temperature_K, species, cell, symbols, positions, drift)


def own_run(run: MdRun, work: Path, stride: int = 1) -> Trajectory:
    return load(run.name, work / run.name / "dump.lammpstrj", "Ar", run.temperature_K,
                fmt="lammps-dump", type_map=run.type_map, timestep_fs=run.timestep_fs,
                stride=stride)


def run_dpglass(trajectory: Trajectory) -> dict:
    return analyze_trajectory(trajectory.species, trajectory.ion, trajectory.temperature_K,
                              drift_correction=trajectory.drift_correction)


def run_kinisi(trajectory: Trajectory, start_ps: float) -> tuple[float, float]:
    """kinisi's D ± σ (Å²/ps; mean and standard deviation of its posterior) from ``start_ps`` to
    the end of the run, on the same unwrapped positions."""
    import scipp as sc
    from ase import Atoms
    from kinisi.analyze import DiffusionAnalyzer

    dt_ps = trajectory.species.timestep_ps
    n_lags = len(trajectory.positions) - 1
    lags = np.unique(np.concatenate([np.geomspace(1, n_lags, KINISI_MAX_LAGS).round(),
                                     [n_lags]]).astype(int))
    frames = [Atoms(trajectory.symbols, positions=p, cell=trajectory.cell, pbc=True)
              for p in trajectory.positions]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        analyzer = DiffusionAnalyzer.from_ase(
            frames, specie=trajectory.ion, time_step=sc.scalar(dt_ps, unit="ps"),
            step_skip=sc.scalar(1, unit="dimensionless"),
            dt=sc.array(dims=["time interval"], values=lags * dt_ps, unit="ps"), progress=False)
        analyzer.diffusion(sc.scalar(start_ps, unit="ps"), progress=False,
                           random_state=np.random.RandomState(0))
    samples = sc.to_unit(analyzer.D, "Å^2/ps").values
    return float(np.mean(samples)), float(np.std(samples))


def compare(trajectory: Trajectory) -> dict:
    started = time.perf_counter()
    result = run_dpglass(trajectory)
    ours_s = time.perf_counter() - started
    D = result["D"]["value"] * TO_A2_PER_PS
    error = result["D"]["error"] * TO_A2_PER_PS
    start_ps = result["fit_window"]["value"][0]
    started = time.perf_counter()
    D_k, error_k = run_kinisi(trajectory, start_ps)
    kinisi_s = time.perf_counter() - started
    hops = result.get("hop_statistics") or {}
    return {"name": trajectory.name, "ions": trajectory.species.positions.shape[1],
            "frames": len(trajectory.positions), "run_ps": result["duration"]["value"],
            "start_ps": start_ps, "D": D, "error": error, "D_k": D_k, "error_k": error_k,
            "diffusive": result["diffusive"],
            "refused_by": (result.get("resolution") or {}).get("refused_by") or [],
            "hop_events": (hops.get("hop_events") or {}).get("value"),
            "ion_correlation": result["ion_correlation"]["value"],
            "dpglass_s": ours_s, "kinisi_s": kinisi_s}


COMPARE_HEADER = ("| trajectory | ions | frames | run (ps) | start (ps) | dpglass D ± σ | "
                  "kinisi D ± σ | |Δ|/σ_comb | σ_dpglass/σ_kinisi | dpglass verdict | hop events | "
                  "ion correlation | dpglass s | kinisi s |")


def compare_row(row: dict) -> str:
    delta = abs(row["D"] - row["D_k"]) / np.hypot(row["error"], row["error_k"])
    verdict = "diffusive" if row["diffusive"] else "not: " + ", ".join(row["refused_by"])
    events = f"{row['hop_events']:.3g}" if row["hop_events"] else "—"
    return (f"| {row['name']} | {row['ions']} | {row['frames']} | {row['run_ps']:.4g} | "
            f"{row['start_ps']:.3g} | {row['D']:.4g} ± {row['error']:.2g} | "
            f"{row['D_k']:.4g} ± {row['error_k']:.2g} | {delta:.2f} | "
            f"{row['error'] / row['error_k']:.2f} | {verdict} | {events} | "
            f"{row['ion_correlation']:.2f} | {row['dpglass_s']:.2f} | {row['kinisi_s']:.1f} |")


def block_check(trajectory: Trajectory, count: int) -> tuple[list[dict], str]:
    rows = [compare(trajectory.block(index, count)) for index in range(count)]
    lines = []
    for code, D_key, error_key in (("dpglass", "D", "error"), ("kinisi", "D_k", "error_k")):
        D = np.array([r[D_key] for r in rows])
        error = np.array([r[error_key] for r in rows])
        weights = 1 / error**2
        mean = np.sum(weights * D) / np.sum(weights)
        ratio = np.sqrt(np.sum(weights * (D - mean)**2) / (count - 1))
        lines.append(f"{code}: blocks' D = {mean:.4g} Å²/ps (weighted mean), standard deviation "
                     f"of the blocks' D {np.std(D, ddof=1):.2g}, median reported σ "
                     f"{np.median(error):.2g}, scatter/error {ratio:.2f} (1 ± "
                     f"{np.sqrt(1 / (2 * (count - 1))):.2f} if the errors are right)")
    # What the errors are for: how much the codes' D actually scatter between blocks. The
    # ratio of the two standard deviations over B blocks has a relative standard error of about
    # √(1/(B-1)) (each sample standard deviation √(1/(2(B-1)))).
    spreads = [np.std([r[key] for r in rows], ddof=1) for key in ("D", "D_k")]
    ratio = spreads[0] / spreads[1]
    lines.append(f"actual precision: standard deviation of the blocks' D, dpglass / kinisi = "
                 f"{ratio:.2f} ± {ratio * np.sqrt(1 / (count - 1)):.2f}")
    diffusive = sum(r["diffusive"] for r in rows)
    lines.append(f"dpglass calls {diffusive} of {count} blocks diffusive")
    return rows, "; ".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="benchmarks/real_md.py --work")
    parser.add_argument("--xdatcar", type=Path, default=None,
                        help="kinisi's example_XDATCAR.gz (Li6PS5Cl, 600 K)")
    parser.add_argument("--lips", type=Path, default=None,
                        help="kinisi's LiPS.exyz (default: the installed kinisi's test input)")
    parser.add_argument("--sweep", type=Path, nargs="*", default=[],
                        help="dpglass sweep runs (folders with dump.lammpstrj and run.json), "
                             "e.g. the demo's hottest: results/LACO75/sweep/T393/r0")
    parser.add_argument("--transport", type=Path, default=None,
                        help="benchmarks/bench_transport.py --work (teacher_T*.extxyz, "
                             "student_T*.extxyz: CHGNet and DeePMD NVT of the demo glass)")
    parser.add_argument("--ion", default="Li", help="mobile ion of --sweep and --transport")
    parser.add_argument("--blocks", type=int, default=20)
    parser.add_argument("--runs", nargs="*", default=list(RUNS))
    parser.add_argument("--block-runs", nargs="*", default=["lj-liquid"],
                        help="own runs to cut into --blocks blocks (one long run is enough)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/kinisi_md.md")
    args = parser.parse_args(argv)
    try:
        import kinisi
    except ImportError:
        print("kinisi is not installed: .venv/bin/pip install kinisi", file=sys.stderr)
        return 2
    trajectories = []
    if args.xdatcar:
        from ase.io import read, write

        converted = args.work / "li6ps5cl.extxyz"
        if not converted.is_file():
            write(converted, read(args.xdatcar, format="vasp-xdatcar", index=":"),
                  format="extxyz")
        trajectories.append(load("Li6PS5Cl 600 K (kinisi example, AIMD)", converted, "Li", 600.0,
                                 fmt="extxyz", dt_fs=100.0))
    lips = args.lips or Path(kinisi.__file__).parent / "tests/inputs/LiPS.exyz"
    if lips.is_file():
        # Li7P3S11 AIMD, 200 frames; the file has no times: kinisi's own (former) test of it
        # read it with a 1 fs timestep and 20 steps between frames. The temperature only
        # scales σ, not D.
        trajectories.append(load("Li7P3S11 (kinisi LiPS.exyz, AIMD)", lips, "Li", 600.0,
                                 fmt="extxyz", dt_fs=20.0))
    for folder in args.sweep:
        import json

        info = json.loads((folder / "run.json").read_text())
        temperature = info["temperature"]["value"]
        trajectories.append(load(f"demo sweep {temperature:g} K, DeePMD "
                                 f"({'/'.join(folder.parts[-4:])})",
                                 folder / "dump.lammpstrj", args.ion, temperature,
                                 fmt="lammps-dump", type_map=info["type_map"],
                                 timestep_fs=info["timestep_fs"]))
    if args.transport:
        for path in sorted(args.transport.glob("*_T*.extxyz")):
            side, temperature = path.stem.split("_T")
            code = {"teacher": "CHGNet", "student": "DeePMD"}.get(side, side)
            trajectories.append(load(f"demo glass {temperature} K, {code} ({path.name})", path,
                                     args.ion, float(temperature), fmt="extxyz"))
    for name in args.runs:
        run = RUNS[name]
        if (args.work / name / "done").is_file():
            trajectories.append(own_run(run, args.work, stride=5))
    lines = [COMPARE_HEADER, "|" + "---|" * 14]
    print(COMPARE_HEADER, flush=True)
    compared = []
    for trajectory in trajectories:
        row = compare(trajectory)
        compared.append(row)
        lines.append(compare_row(row))
        print(lines[-1], flush=True)
    blocks_text = []
    for name in args.block_runs:
        if not (args.work / name / "done").is_file():
            continue
        long_run = own_run(RUNS[name], args.work)
        rows, verdict = block_check(long_run, args.blocks)
        blocks_text += [f"### {name}: {args.blocks} blocks of "
                        f"{rows[0]['run_ps']:.4g} ps", "", COMPARE_HEADER, "|" + "---|" * 14]
        blocks_text += [compare_row(r) for r in rows] + ["", verdict, ""]
        print(verdict, flush=True)
    both = [r for r in compared if r["diffusive"]]
    ratios = [r["error"] / r["error_k"] for r in both]
    summary = (f"Where dpglass calls the run diffusive ({len(both)} of {len(compared)}): "
               f"σ_dpglass/σ_kinisi {', '.join(f'{x:.2f}' for x in ratios)}; D within 2 "
               f"combined σ in {sum(abs(r['D'] - r['D_k']) < 2 * np.hypot(r['error'], r['error_k']) for r in both)} of {len(both)}; "
               f"goal σ_dpglass/σ_kinisi ≤ 1.2 met in {sum(x <= 1.2 for x in ratios)} of "
               f"{len(ratios)}")
    print(summary)
    import os
    import platform

    from dpglass.report.provenance import git_commit

    command = " ".join(["benchmarks/bench_kinisi_md.py", *(argv if argv is not None
                                                           else sys.argv[1:])])
    text = ("# dpglass vs kinisi on real MD\n\n"
            f"`{command}`\n\n"
            f"{time.strftime('%Y-%m-%d %H:%M %Z')}; dpglass commit {git_commit(REPO)}, kinisi "
            f"{kinisi.__version__}, numpy {np.__version__}, Python {platform.python_version()}; "
            f"{cpu_model()}, {os.cpu_count()} cores (shared). D in Å²/ps "
            "(1 Å²/ps = 1e-4 cm²/s); same positions and fit start (dpglass's window start) for "
            "both, both fit to the end of the run (kinisi on at most "
            f"{KINISI_MAX_LAGS} log-spaced lags); kinisi's σ is the standard deviation of its "
            "posterior samples of D. Own LAMMPS runs (benchmarks/real_md.py) use every 5th frame "
            "here.\n\n" + "\n".join(lines) + f"\n\n{summary}\n\n## Block checks\n\n"
            + "\n".join(blocks_text))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
