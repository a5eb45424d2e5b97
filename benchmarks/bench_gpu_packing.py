"""GPU packing: aggregate MD throughput of k LAMMPS processes sharing one GPU, k = 1, 2, 4, ...

Needs a GPU node with the gpu environment (bash envs/setup.sh gpu) and deployed models (the
workflow's results/{comp}/train/model_*/compressed.pth, or --models/--data/--type-map). It runs the
sweep job exactly as the workflow does (dpglass.lammps.jobs.run_md_job with execution.device gpu:
one LAMMPS process per temperature, all pinned to the job's GPU via CUDA_VISIBLE_DEVICES), for each
pack size, alternating the order over repeats, and writes benchmarks/results/gpu_packing.md
naming the GPU model. Speed-up = aggregate katom-step/s with k per GPU / aggregate with 1 per GPU.

    .venv/bin/python benchmarks/bench_gpu_packing.py --comp LACO75 [--packs 1 2 4 8] [--steps 5000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dpglass.config import validate_config
from dpglass.lammps.jobs import RunSpec, run_md_job

ROOT = Path(__file__).resolve().parent.parent


def gpu_name() -> str:
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=index,name,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=30)
        return out.stdout.strip() or "unknown (nvidia-smi printed nothing)"
    except (OSError, subprocess.TimeoutExpired) as err:
        raise SystemExit(f"no GPU here (nvidia-smi: {err}); run this on a GPU node") from None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--comp", default="LACO75")
    parser.add_argument("--models", nargs="*")
    parser.add_argument("--data")
    parser.add_argument("--type-map", nargs="*", default=["Li", "Al", "Cl", "O"])
    parser.add_argument("--packs", type=int, nargs="*", default=[1, 2, 4, 8])
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--supercell", type=int, nargs=3, default=[4, 4, 4])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2, help="CPU threads per LAMMPS process")
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/gpu_packing.md"))
    args = parser.parse_args()

    gpus = gpu_name()
    models = args.models or sorted(str(p) for p in ROOT.glob(f"results/{args.comp}/train/model_*/compressed.pth"))
    data = args.data or str(ROOT / f"results/{args.comp}/sweep/data.lmp")
    if not models or not Path(data).exists():
        raise SystemExit("no models/data: run the workflow up to the sweep first, or pass --models and --data")
    dt = 1.0
    cfg = validate_config({"compositions": {"X": {"formula": "LiCl"}}, "execution": {"device": "gpu"},
                           "sweep": {"timestep_fs": dt, "equilibration_ps": 0.1, "production_ps": args.steps * dt / 1000,
                                     "chunk_ps": 0, "dump_every_steps": 1000, "thermo_every_steps": 1000,
                                     "supercell": args.supercell}})
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "0")  # one GPU for every pack size
    work = Path(tempfile.mkdtemp(prefix="bench_gpu_packing_"))
    results: dict[int, list[float]] = {k: [] for k in args.packs}
    natoms = None
    for repeat in range(args.repeats):
        order = args.packs if repeat % 2 == 0 else args.packs[::-1]
        for k in order:
            runs = [RunSpec(213.0 + 15 * i, 0, str(work / f"k{k}_r{repeat}/T{i}/run.json"), None) for i in range(k)]
            start = time.perf_counter()
            out = run_md_job(data, models, args.type_map, cfg["sweep"], cfg["execution"], runs, False,
                                args.threads * k)
            wall = time.perf_counter() - start
            natoms = out[0]["natoms"]
            steps = sum(r["steps_this_process"] for r in out)
            results[k].append(natoms * steps / wall / 1000.0)
            print(f"repeat {repeat + 1}: {k} per GPU -> {results[k][-1]:.1f} katom-step/s aggregate "
                  f"(job wall {wall:.1f} s)", flush=True)
    base = statistics.median(results[args.packs[0]])
    lines = ["# GPU packing: LAMMPS processes per GPU\n",
             f"GPU: {gpus}", f"CUDA_VISIBLE_DEVICES={os.environ['CUDA_VISIBLE_DEVICES']}; {natoms} atoms per run, "
             f"{args.steps} production steps, models: {', '.join(models)}; {args.repeats} alternating repeats;"
             f" throughput from job wall time (start-up included).", f"Command: `{' '.join(sys.argv)}`\n",
             "| processes per GPU | aggregate katom-step/s (median) | speed-up vs 1 |", "|---|---|---|"]
    for k in args.packs:
        median = statistics.median(results[k])
        lines.append(f"| {k} | {median:.1f} | {median / base:.2f} |")
    report = "\n".join(lines) + "\n"
    Path(args.out).write_text(report)
    print(report)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
