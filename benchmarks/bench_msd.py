"""FFT MSD against the direct O(T²) MSD for 10,000 frames × 500 atoms, in one run.

The direct all-origins MSD of the full system takes minutes, so it is timed on a subset of atoms
(over every lag and origin) and extrapolated linearly in the number of atoms: each atom's work is
independent, so the cost scales linearly in atoms. The printout says so.

Run from the repository root with dpglass installed (or PYTHONPATH=.):
    python benchmarks/bench_msd.py [--frames 10000] [--atoms 500] [--direct-atoms 10]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from dpglass.analysis.msd import msd_direct, msd_fft


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=10_000)
    parser.add_argument("--atoms", type=int, default=500)
    parser.add_argument("--direct-atoms", type=int, default=10,
                        help="atoms the direct MSD is timed on before extrapolating")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    positions = np.cumsum(rng.normal(size=(args.frames, args.atoms, 3)), axis=0).astype(np.float32)

    start = time.perf_counter()
    fast = msd_fft(positions)
    fft_seconds = time.perf_counter() - start

    subset = positions[:, :args.direct_atoms]
    start = time.perf_counter()
    direct_subset = msd_direct(subset)
    direct_subset_seconds = time.perf_counter() - start
    direct_seconds = direct_subset_seconds * args.atoms / args.direct_atoms

    # Lag 0 is zero in both; compare relative differences from lag 1 on.
    agreement = np.max(np.abs(msd_fft(subset)[1:] - direct_subset[1:]) / direct_subset[1:])
    print(f"MSD over all time origins, {args.frames} frames x {args.atoms} atoms x 3 directions")
    print(f"{'method':<10}{'seconds':>12}  note")
    print(f"{'fft':<10}{fft_seconds:>12.2f}  measured, all {args.atoms} atoms")
    print(f"{'direct':<10}{direct_seconds:>12.2f}  extrapolated: measured {direct_subset_seconds:.2f}"
          f" s on {args.direct_atoms} atoms x {args.atoms // args.direct_atoms}")
    print(f"speed-up direct/fft: {direct_seconds / fft_seconds:.0f}x")
    print(f"max relative difference fft vs direct on the subset: {agreement:.1e}")
    assert fast.shape == (args.frames, 3)


if __name__ == "__main__":
    main()
