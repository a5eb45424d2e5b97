"""How often a DeePMD model survives NVT MD: the measurement behind config/test.yaml's training length
and perturbed frames (README, "Perturbed training frames").

For each model, NVT runs (LAMMPS, pair_style deepmd, 1 fs, Nosé–Hoover 0.1 ps) of the sweep's cell
(data.lmp replicated 2x1x1, as config/test.yaml's sweep) at each temperature with each velocity
seed; a run fails when the temperature passes 3x its target or the energy is NaN (the sweep's
blow-up guard). Prints, per model and temperature, how many runs reached the end, side by side.

    .venv/bin/python benchmarks/bench_stability.py --data results/NACO75/sweep/data.lmp \
        --elements Na Al Cl O --temperatures 303 363 --seeds 6 --steps 6000 \
        results/NACO75/train/model_0/frozen.pb other/frozen.pb
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))


def survives(model: str, data: str, elements: list[str], temperature: float, seed: int,
             steps: int, supercell: list[int]) -> int:
    """Steps reached (== steps when the run survived)."""
    from dpglass.lammps.loader import import_lammps

    lammps = import_lammps()
    with tempfile.TemporaryDirectory() as work:
        lmp = lammps(cmdargs=["-screen", "none", "-log", os.path.join(work, "log.lammps")])
        for line in (
            "units metal", "atom_style atomic", "boundary p p p", f"read_data {data}",
            "replicate {} {} {}".format(*supercell),
            f"velocity all create {temperature} {seed} dist gaussian mom yes rot yes",
            "neighbor 1.0 bin", "timestep 0.001", f"pair_style deepmd {model}",
            f"pair_coeff * * {' '.join(elements)}", "thermo 100",
            f"fix nvt all nvt temp {temperature} {temperature} 0.1",
        ):
            lmp.command(line)
        done = 0
        while done < steps:
            lmp.command(f"run {min(500, steps - done)}")
            done = int(lmp.get_thermo("step"))
            temp, pe = lmp.get_thermo("temp"), lmp.get_thermo("pe")
            if not math.isfinite(pe) or temp > 3 * temperature:
                lmp.close()
                return done
        lmp.close()
    return steps


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--data", required=True)
    parser.add_argument("--elements", nargs="+", required=True)
    parser.add_argument("--temperatures", nargs="+", type=float, default=[303.0, 363.0])
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--supercell", nargs=3, type=int, default=[2, 1, 1])
    args = parser.parse_args(argv)
    print(f"NVT runs of {args.steps} steps (1 fs), {args.seeds} velocity seeds per temperature")
    print(f"{'model':<60}{'T/K':>6}  survived  steps reached")
    for model in args.models:
        for temperature in args.temperatures:
            reached = [survives(model, args.data, args.elements, temperature, 11 + s, args.steps,
                                args.supercell) for s in range(args.seeds)]
            ok = sum(r == args.steps for r in reached)
            print(f"{model:<60}{temperature:>6g}  {ok:>3} of {len(reached):<3} {reached}", flush=True)


if __name__ == "__main__":
    main()
