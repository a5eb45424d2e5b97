"""How long `snakemake -n` takes to plan the paper's whole DAG (5 compositions x 13 temperatures).

Run: .venv/bin/python benchmarks/bench_dryrun.py [repeats]
Prints the wall time of each dry-run and, side by side in the same run, that of `snakemake --version`
(the interpreter + snakemake start-up floor), so the planning cost itself is visible as the difference.
"""

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def timed(args, cwd):
    start = time.perf_counter()
    subprocess.run(args, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def main(repeats: int = 5) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        plan = [SNAKEMAKE, "-n", "-s", str(REPO / "Snakefile"), "--directory", workdir,
                "--configfile", str(REPO / "config" / "paper.yaml"), "--quiet", "all"]
        floor = [SNAKEMAKE, "--version"]
        timed(plan, workdir)  # warm-up (source cache, .pyc)
        plans, floors = [], []
        for _ in range(repeats):
            plans.append(timed(plan, workdir))
            floors.append(timed(floor, workdir))
    p, f = statistics.median(plans), statistics.median(floors)
    print(f"snakemake -n, config/paper.yaml (all jobs): median {p:.2f} s  (min {min(plans):.2f}, max {max(plans):.2f})")
    print(f"snakemake --version (start-up floor):      median {f:.2f} s")
    print(f"planning cost above the floor: {p - f:.2f} s; ratio plan/floor = {p / f:.2f}")
    print("target: < 3 s for the whole plan" + (" -- met" if p < 3 else " -- NOT met"))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
