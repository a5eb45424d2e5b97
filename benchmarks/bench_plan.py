"""How long `dpglass plan --configfile config/paper.yaml` takes (5 compositions x 13 temperatures),
as a user runs it: a fresh process from the repository root, interpreter start-up included.

Run: .venv/bin/python benchmarks/bench_plan.py [repeats]
Prints the median wall time beside `python -c pass` (the interpreter start-up floor) and the
target (< 3 s, issue 15).
"""

import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DPGLASS = str(Path(sys.executable).with_name("dpglass"))


def timed(args):
    start = time.perf_counter()
    subprocess.run(args, cwd=REPO, check=True, capture_output=True)
    return time.perf_counter() - start


def main(repeats: int = 5) -> None:
    plan = [DPGLASS, "plan", "--configfile", str(REPO / "config" / "paper.yaml")]
    floor = [sys.executable, "-c", "pass"]
    timed(plan)  # warm-up (.pyc)
    plans = [timed(plan) for _ in range(repeats)]
    floors = [timed(floor) for _ in range(repeats)]
    p, f = statistics.median(plans), statistics.median(floors)
    print(f"dpglass plan, config/paper.yaml: median {p:.2f} s (min {min(plans):.2f}, max {max(plans):.2f})")
    print(f"python -c pass (start-up floor): median {f:.2f} s")
    print("target: < 3 s" + (" -- met" if p < 3 else " -- NOT met"))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
