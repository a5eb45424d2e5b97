"""DeePMD training with `execution.training_threads`: one 2-thread training vs two 1-thread trainings
side by side, on the same machine in one run.

Takes a finished workflow's first training (its input.json and training/validation data: the
real networks and data of that config), sets `numb_steps`, and times, interleaved `--repeats` times:
  A: one `dp train` with 2 threads (TF intra-op and OpenMP; what `training_threads: 2` gives a job);
  B: two `dp train` processes with 1 thread each, started together (what `training_threads: 1` lets
     Snakemake do on 2 cores with an ensemble of two models).
It prints the wall times and the throughput ratio (models trained per second, B over A): > 1 means
1 thread per job trains an ensemble faster on this machine.

Run from the directory the workflow ran in (the repository root for a normal run), e.g. after the demo:
    .venv/bin/python benchmarks/bench_training_threads.py [results/LACO75/train/model_0] [--steps 400]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from dpglass.training.dp import dp_command, dp_env


def prepare(model_dir: Path, work: Path, steps: int) -> None:
    spec = json.loads((model_dir / "input.json").read_text())
    training = spec["training"]
    run_dir = model_dir / "work"  # dp train ran there: its data paths are relative to it
    for key in ("training_data", "validation_data"):
        if key in training:
            training[key]["systems"] = [str((run_dir / s).resolve()) for s in training[key]["systems"]]
    training.update(numb_steps=steps, disp_freq=max(1, steps // 4), save_freq=steps)
    work.mkdir(parents=True)
    (work / "input.json").write_text(json.dumps(spec, indent=1))


def start(work: Path, threads: int) -> subprocess.Popen:
    return subprocess.Popen(dp_command(["train", "input.json"], "tensorflow"), cwd=work,
                            env=dp_env(threads), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def timed(works: list[Path], threads: int) -> float:
    begin = time.perf_counter()
    processes = [start(work, threads) for work in works]
    codes = [p.wait() for p in processes]
    if any(codes):
        raise SystemExit(f"dp train failed (exit codes {codes}) in {works}")
    return time.perf_counter() - begin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dir", nargs="?", default="results/LACO75/train/model_0")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    model_dir = Path(args.model_dir)
    if not (model_dir / "input.json").exists():
        raise SystemExit(f"{model_dir}/input.json not found: run the workflow first (or give a "
                         "results/<scope>/train/model_<i> directory)")
    one, two = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            a = Path(tmp, f"r{repeat}_a")
            prepare(model_dir, a, args.steps)
            one.append(timed([a], threads=2))
            b = [Path(tmp, f"r{repeat}_b{k}") for k in range(2)]
            for work in b:
                prepare(model_dir, work, args.steps)
            two.append(timed(b, threads=1))
    a, b = statistics.median(one), statistics.median(two)
    print(f"{model_dir}: {args.steps} training steps, {args.repeats} interleaved repeats (median wall)")
    print(f"  A  one training, 2 threads        : {a:7.1f} s  ({', '.join(f'{t:.1f}' for t in one)})")
    print(f"  B  two trainings, 1 thread each   : {b:7.1f} s  ({', '.join(f'{t:.1f}' for t in two)})")
    print(f"  ensemble throughput B/A (models per s): {2 * a / b:.2f}x")


if __name__ == "__main__":
    main()
