"""How much training does the demo's potential need? Validation force RMSE against training steps
(batch size, descriptor) for the demo's network on the demo's own data, with a power-law fit that says how
many steps a target error would take if the trend held.

Every run is the first training's input.json of a finished demo (results/LACO75/train/model_0:
network, loss, seed, data), with `numb_steps`, the batch size and the learning-rate decay changed
(decay_steps = numb_steps / 20, so every run decays from start_lr to stop_lr over its length, as the
demo's 40k steps do). Each is frozen and tested with `dp test -d` on the first training's
validation frames (time blocks of every melt-quench phase, never trained on): force RMSE overall and
by species. `--reuse` takes a finished demo model (its frozen.pb) as one of the points.

Runs are kept under --work and reused, so a killed benchmark resumes per run.

    nice -n 5 .venv/bin/python benchmarks/bench_training_budget.py --results results/LACO75 \\
        --steps 8000 80000 --reuse results/LACO75/train/model_0 [--batch 4] \\
        [--variants rcut8 hybrid_se_e3 dpa1] [--target-meV-A 43]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from dpglass.core.io import write_json, write_text
from dpglass.training.dp import dp_command, dp_env

RESULTS = Path(__file__).resolve().parent / "results"

def variant_descriptor(base: dict, variant: str) -> dict:
    """The demo's descriptor ("demo") or one of the alternatives compared with it."""
    d = json.loads(json.dumps(base))
    if variant == "demo":
        return d
    if variant == "rcut8":  # the same net over 8 Å: (8/6)^3 = 2.4x the neighbours
        return {**d, "rcut": 8.0, "rcut_smth": 2.0,
                "sel": [int(math.ceil(n * 2.25)) for n in d["sel"]]}
    if variant == "hybrid_se_e3":  # + explicit three-body embedding within 4 Å
        return {"type": "hybrid", "list": [d, {
            "type": "se_e3", "sel": [max(6, n // 2) for n in d["sel"]], "rcut": 4.0,
            "rcut_smth": 0.5, "neuron": [4, 8, 16], "resnet_dt": False, "seed": d.get("seed", 1),
            "precision": d.get("precision", "float64")}]}
    if variant == "dpa1":  # dpglass's DPA-1 (no attention layer: compressible)
        return {"type": "dpa1", "sel": sum(d["sel"]), "rcut": d["rcut"],
                "rcut_smth": d["rcut_smth"], "neuron": d["neuron"],
                "axis_neuron": d["axis_neuron"], "tebd_dim": 8, "tebd_input_mode": "strip",
                "attn": 64, "attn_layer": 0, "attn_dotr": True, "resnet_dt": False,
                "type_one_side": True, "seed": d.get("seed", 1),
                "precision": d.get("precision", "float64")}
    raise ValueError(f"--variants: unknown variant {variant!r} (demo, rcut8, hybrid_se_e3, dpa1)")


def run_input(base: dict, data: Path, steps: int, batch, variant: str = "demo") -> dict:
    config = json.loads(json.dumps(base))
    config["model"]["descriptor"] = variant_descriptor(base["model"]["descriptor"], variant)
    config["training"]["training_data"]["systems"] = [str(data / "training")]
    config["training"]["validation_data"]["systems"] = [str(data / "validation")]
    config["training"]["training_data"]["batch_size"] = batch
    config["training"]["numb_steps"] = steps
    config["training"]["save_freq"] = min(steps, 10000)
    config["learning_rate"]["decay_steps"] = max(steps // 20, 100)
    return config


def dp(args: list[str], cwd: Path, log: str) -> None:
    """One `dp --tf` subcommand on one thread (dpglass's own command line and environment)."""
    with open(cwd / log, "w") as out:
        subprocess.run(dp_command(args, "tensorflow"), cwd=cwd, stdout=out,
                       stderr=subprocess.STDOUT, env=dp_env(1), check=True)


def train(work: Path, config: dict) -> float | None:
    """Train and freeze (skipped when frozen.pb exists); the wall seconds of the training (None
    when a reused run did not record them)."""
    work.mkdir(parents=True, exist_ok=True)
    stored = work / "input.json"
    if (work / "frozen.pb").exists() and stored.exists() and json.loads(stored.read_text()) == config:
        timing = work / "time.json"
        return json.loads(timing.read_text())["train_s"] if timing.exists() else None
    (work / "input.json").write_text(json.dumps(config, indent=1))
    start = time.time()
    dp(["train", "input.json"], work, "train.log")
    seconds = time.time() - start
    dp(["freeze", "-o", "frozen.pb"], work, "freeze.log")
    (work / "time.json").write_text(json.dumps({"train_s": seconds}))
    return seconds


def seconds_per_step(work: Path, config: dict, steps: int = 600, every: int = 100) -> float:
    """DeePMD-kit's own average training time per batch of a short run of `config` (its first
    `every` batches excluded): the cost per step, measured one configuration after another."""
    timing = json.loads(json.dumps(config))
    timing["training"].update({"numb_steps": steps, "disp_freq": every, "save_freq": steps})
    work.mkdir(parents=True, exist_ok=True)
    (work / "input.json").write_text(json.dumps(timing, indent=1))
    dp(["train", "input.json"], work, "train.log")
    match = re.search(r"average training time: ([0-9.]+) s/batch", (work / "train.log").read_text())
    if not match:
        raise RuntimeError(f"{work / 'train.log'}: DeePMD-kit printed no average training time")
    return float(match.group(1))


def validation_errors(model: Path, validation: Path, work: Path) -> dict:
    """Force RMSE (meV/Å per component) overall and by species on the validation system."""
    dp(["test", "-m", str(model), "-s", str(validation), "-d", "detail"], work, "test.log")
    detail = np.loadtxt(work / "detail.f.out")
    error = detail[:, 3:6] - detail[:, 0:3]
    type_map = (validation / "type_map.raw").read_text().split()
    types = np.loadtxt(validation / "type.raw", dtype=int)
    per_frame = np.tile(types, len(error) // len(types))
    by_species = {type_map[t]: 1000 * float(np.sqrt(np.mean(error[per_frame == t] ** 2)))
                  for t in sorted(set(types))}
    return {"force_rmse_meV_A": 1000 * float(np.sqrt(np.mean(error ** 2))),
            "by_species_meV_A": by_species, "frames": len(error) // len(types)}


def power_law(steps: list[int], errors: list[float]) -> dict | None:
    """error = a · steps^-b through the two longest trainings (the local slope: the curve
    flattens, so a fit over shorter runs would promise too much); None with fewer than 2."""
    points = sorted(dict(zip(steps, errors)).items())[-2:]
    if len(points) < 2:
        return None
    (s1, e1), (s2, e2) = points
    exponent = math.log(e1 / e2) / math.log(s2 / s1)
    return {"exponent": exponent, "prefactor": e2 * s2 ** exponent, "between_steps": [s1, s2]}


def markdown(result: dict) -> str:
    lines = ["# Training budget of the demo's potential (benchmarks/bench_training_budget.py)", "",
             f"Command: `{result['command']}`, run {result['date']}, {result['machine']}.", "",
             f"Data: {result['data']} ({result['validation_frames']} validation frames); network "
             f"and loss: {result['base']}; one thread per training. s per step: DeePMD-kit's average "
             "training time of a 600-step run of each network and batch, one after another at the "
             "end (the trainings themselves may have shared the cores: their wall times are not "
             "comparable).", "",
             "| descriptor | steps | batch | validation force RMSE (meV/Å) | by species (meV/Å) | "
             "s per step | training wall s (shared cores) |", "|---|---|---|---|---|---|---|"]
    for row in result["runs"]:
        species = ", ".join(f"{k} {v:.0f}" for k, v in row["by_species_meV_A"].items())
        wall = "—" if row["train_s"] is None else f"{row['train_s']:.0f}"
        per_step = f"{row['seconds_per_step']:.4f}" if row.get("seconds_per_step") else "—"
        lines.append(f"| {row['variant']} | {row['steps']} | {row['batch']} | "
                     f"{row['force_rmse_meV_A']:.1f} | {species} | {per_step} | {wall}"
                     f"{' (' + row['source'] + ')' if row.get('source') else ''} |")
    fit = result.get("fit")
    if fit:
        lines += ["", f"Power law through the two longest trainings ({fit['between_steps'][0]} and "
                  f"{fit['between_steps'][1]} steps, demo network and batch): RMSE ≈ "
                  f"{fit['prefactor']:.3g} · steps^-{fit['exponent']:.3f} meV/Å; "
                  + (f"{result['target_meV_A']:g} meV/Å would take ~{fit['steps_for_target']:.3g} "
                     "steps if the trend held (an extrapolation: a capacity or data floor ends it "
                     "sooner or never)." if fit["steps_for_target"] is not None else
                     "the error did not fall between them: no number of steps reaches "
                     f"{result['target_meV_A']:g} meV/Å on this trend.")]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=Path("results/LACO75"))
    parser.add_argument("--steps", type=int, nargs="+", default=[8000, 40000, 80000])
    parser.add_argument("--batch", type=int, nargs="*", default=[],
                        help="batch sizes to compare with the demo's (auto: 1 frame of 42 "
                             "atoms), at --variant-steps")
    parser.add_argument("--variants", nargs="*", default=[],
                        help="descriptors to compare with the demo's: rcut8 hybrid_se_e3 dpa1")
    parser.add_argument("--variant-steps", type=int, default=8000)
    parser.add_argument("--reuse", type=Path, help="the demo's model dir (frozen.pb, input.json)")
    parser.add_argument("--target-meV-A", type=float, default=43.0)
    parser.add_argument("--work", type=Path, default=Path("/tmp/training_budget"))
    parser.add_argument("--out", default=str(RESULTS / "training_budget"))
    args = parser.parse_args()

    data = (args.results / "train" / "data").resolve()
    base_path = args.results / "train" / "model_0" / "input.json"
    for path in (data / "training", data / "validation", base_path):
        if not path.exists():
            parser.error(f"--results {args.results}: {path} is missing (run the demo first)")
    base = json.loads(base_path.read_text())
    runs = []
    if args.reuse:
        reused = json.loads((args.reuse / "input.json").read_text())["training"]
        work = args.work / "reused"
        work.mkdir(parents=True, exist_ok=True)
        row = validation_errors((args.reuse / "frozen.pb").resolve(), data / "validation", work)
        runs.append({"variant": "demo", "steps": reused["numb_steps"],
                     "batch": reused["training_data"]["batch_size"],
                     "train_s": None, "source": f"{args.reuse}", **row})
    plan = [("demo", steps, "auto") for steps in args.steps]
    plan += [("demo", args.variant_steps, int(b)) for b in args.batch]
    plan += [(variant, args.variant_steps, "auto") for variant in args.variants]
    for variant, steps, batch in plan:
        work = args.work / f"{variant}_steps{steps}_batch{batch}"
        config = run_input(base, data, steps, batch, variant)
        seconds = train(work, config)
        row = validation_errors(work / "frozen.pb", data / "validation", work)
        runs.append({"variant": variant, "steps": steps, "batch": batch, "train_s": seconds,
                     "config": config, **row})
        print(f"{variant}, {steps} steps, batch {batch}: {row['force_rmse_meV_A']:.1f} meV/Å",
              flush=True)
    # cost per step: short runs one after another (not the runs above, which may have shared
    # the cores), each distinct network and batch once
    costs = {}
    for row in runs:
        config = row.pop("config", None)
        if config is None:
            continue
        key = (row["variant"], row["batch"])
        if key not in costs:
            costs[key] = seconds_per_step(args.work / "timing" / f"{key[0]}_batch{key[1]}", config)
        row["seconds_per_step"] = costs[key]
    fit_batch = "auto"
    points = [r for r in runs if r["batch"] == fit_batch and r.get("variant", "demo") == "demo"]
    fit = power_law([r["steps"] for r in points], [r["force_rmse_meV_A"] for r in points])
    if fit:
        fit["steps_for_target"] = (fit["prefactor"] / args.target_meV_A) ** (1 / fit["exponent"]) \
            if fit["exponent"] > 0 else None  # JSON has no infinity
    d = base["model"]["descriptor"]
    result = {"command": "python benchmarks/bench_training_budget.py " + " ".join(sys.argv[1:]),
              "date": time.strftime("%Y-%m-%d"), "machine": f"{os.cpu_count()} cores",
              "data": str(data), "validation_frames": runs[0]["frames"],
              "base": f"{d['type']} {d['neuron']} axis {d.get('axis_neuron')}, rcut {d['rcut']} Å, "
                      f"fitting {base['model']['fitting_net']['neuron']}, "
                      f"lr {base['learning_rate']['start_lr']:g} → {base['learning_rate']['stop_lr']:g}",
              "runs": runs, "fit": fit, "fit_batch": fit_batch, "target_meV_A": args.target_meV_A}
    write_json(Path(args.out).with_suffix(".json"), result)
    write_text(Path(args.out).with_suffix(".md"), markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
