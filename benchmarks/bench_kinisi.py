"""dpglass's D and its error beside kinisi's on the same synthetic trajectories.

kinisi (Bayesian GLS with an MSD covariance from the observed variance of squared displacements;
McCluskey et al., J. Chem. Theory Comput. 2024) is the reference for what the data allow. It is
not a dpglass dependency; install it into the venv for this benchmark only:

    .venv/bin/pip install kinisi
    .venv/bin/python benchmarks/bench_kinisi.py [--trials 3] [--out benchmarks/results/kinisi.md]

Each family (tests/analysis/synthetic_md.py) is generated with a fixed seed; both codes get the
same positions (kinisi through ASE Atoms, with a static framework for its drift correction),
the same fit start (dpglass's window start) and fit to the end of the run (kinisi's default;
dpglass's too; kinisi on at most KINISI_MAX_LAGS log-spaced lags, as in bench_kinisi_md.py). Printed per trajectory: true D, both D ± σ in Å²/ps, the difference in combined
σ, and σ_dpglass / σ_kinisi; per family, each code's actual scatter about the true D (rms of
D/D_true - 1) beside its median stated relative error: the true D is known here, so this, not
the ratio of stated errors, says which D is more precise and whose errors are honest.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "analysis"))

from synthetic_md import BOX_A, HOP_A, MD_LIKE_FAMILIES as FAMILIES  # noqa: E402

from dpglass.analysis.diffusion import estimate_diffusion  # noqa: E402
from dpglass.report.provenance import cpu_model  # noqa: E402

N_FRAMEWORK = 8
KINISI_MAX_LAGS = 400


def _atoms(positions: np.ndarray):
    """ASE frames: the Li positions (wrapped into the box) and a static Cl framework."""
    from ase import Atoms

    framework = np.random.default_rng(0).uniform(0, BOX_A, size=(N_FRAMEWORK, 3))
    symbols = ["Li"] * positions.shape[1] + ["Cl"] * N_FRAMEWORK
    return [Atoms(symbols, positions=np.vstack([frame, framework]), cell=[BOX_A] * 3,
                  pbc=True) for frame in positions]


def run_kinisi(positions: np.ndarray, dt_ps: float, start_ps: float, end_index: int):
    import scipp as sc
    from kinisi.analyze import DiffusionAnalyzer

    # the lags benchmarks/bench_kinisi_md.py gives kinisi: log-spaced, at most KINISI_MAX_LAGS
    lags = np.unique(np.concatenate([np.geomspace(1, end_index, KINISI_MAX_LAGS).round(),
                                     [end_index]]).astype(int))
    times = sc.array(dims=["time interval"], values=lags * dt_ps, unit="ps")
    analyzer = DiffusionAnalyzer.from_ase(_atoms(positions), specie="Li",
                                          time_step=sc.scalar(dt_ps, unit="ps"),
                                          step_skip=sc.scalar(1, unit="dimensionless"), dt=times,
                                          progress=False)
    analyzer.diffusion(sc.scalar(start_ps, unit="ps"), progress=False,
                       random_state=np.random.RandomState(0))
    samples = sc.to_unit(analyzer.D, "Å^2/ps").values
    return float(np.mean(samples)), float(np.std(samples))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3, help="trajectories per family")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/kinisi.md")
    args = parser.parse_args(argv)
    try:
        import kinisi
    except ImportError:
        print("kinisi is not installed: .venv/bin/pip install kinisi", file=sys.stderr)
        return 2
    header = ("| family | seed | D true | dpglass D ± σ | kinisi D ± σ | |Δ|/σ_comb | "
              "σ_dpglass/σ_kinisi | dpglass s | kinisi s |")
    lines = [header, "|---|---|---|---|---|---|---|---|---|"]
    print(header)
    ratios, deltas, scatter_lines = [], [], []
    for family, (generator, dt_ps) in FAMILIES.items():
        truth = []
        for seed in range(args.trials):
            positions, D_true = generator(np.random.default_rng(seed))
            started = time.perf_counter()
            estimate = estimate_diffusion(positions, dt_ps, hop_distance_A=HOP_A)
            ours_s = time.perf_counter() - started
            D, error = estimate.fit.D_A2_per_ps, estimate.fit.D_error_A2_per_ps
            start_ps = estimate.window.start_index * dt_ps
            started = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                D_k, error_k = run_kinisi(positions, dt_ps, start_ps, len(positions) - 1)
            kinisi_s = time.perf_counter() - started
            delta = abs(D - D_k) / np.hypot(error, error_k)
            ratios.append(error / error_k)
            deltas.append(delta)
            truth.append((D / D_true - 1, error / D_true, D_k / D_true - 1, error_k / D_true))
            row = (f"| {family} | {seed} | {D_true:.4g} | {D:.4g} ± {error:.2g}"
                   f"{'' if estimate.diffusive else ' (not diffusive)'} | {D_k:.4g} ± {error_k:.2g} | "
                   f"{delta:.2f} | {error / error_k:.2f} | {ours_s:.2f} | {kinisi_s:.1f} |")
            lines.append(row)
            print(row, flush=True)
        truth = np.array(truth)
        scatter_lines.append(
            f"| {family} | {np.sqrt(np.mean(truth[:, 0]**2)):.3f} | {np.median(truth[:, 1]):.3f} | "
            f"{np.sqrt(np.mean(truth[:, 2]**2)):.3f} | {np.median(truth[:, 3]):.3f} |")
        print(scatter_lines[-1], flush=True)
    ratios, deltas = np.array(ratios), np.array(deltas)
    verdict = (f"{np.mean(deltas < 2):.0%} of trajectories agree within 2 combined σ; "
               f"σ_dpglass/σ_kinisi median {np.median(ratios):.2f}, max {ratios.max():.2f} "
               f"({np.mean(ratios <= 1.5):.0%} at most 1.5)")
    print(verdict)
    text = ("# dpglass vs kinisi: D and its error on the same synthetic trajectories\n\n"
            f"`.venv/bin/python benchmarks/bench_kinisi.py --trials {args.trials}`, kinisi "
            f"{kinisi.__version__}, {time.strftime('%Y-%m-%d')}, {cpu_model()}. D in Å²/ps (1 Å²/ps "
            "= 1e-4 cm²/s); same positions and fit start (dpglass's window start) for both, both "
            f"fitted to the end of the run (kinisi on at most {KINISI_MAX_LAGS} log-spaced lags); "
            "kinisi's σ is the standard deviation of its "
            "posterior samples of D.\n\n" + "\n".join(lines) + f"\n\n{verdict}\n\n"
            "Actual scatter about the true D (rms of D/D_true - 1) beside the median stated "
            "relative error, per family:\n\n| family | dpglass rms | dpglass stated | kinisi rms "
            "| kinisi stated |\n|---|---|---|---|---|\n" + "\n".join(scatter_lines) + "\n")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
