"""Does a DeePMD sweep report its teacher's transport? Teacher (the reference calculator, CHGNet
by default) and student (a DeePMD model, e.g. the demo's certified final model 0) run NVT MD of
the same glass with the same thermostat (ASE Langevin, the melt-quench's damping) at several
temperatures where the ion diffuses within tens of ps; dpglass's own analysis gives D ± error and
its diffusive verdict for each run; the Arrhenius fit of each side gives Ea ± error. Printed side
by side with the ratio and the difference in combined σ, and written to
benchmarks/results/transport.md.

    .venv/bin/python benchmarks/bench_transport.py --results results/LACO75 \
        --model results/LACO75/learning/iter2/model_0/compressed.pb \
        --temperatures 500 575 650 --time-ps 20

Runs are kept under --work and reused (a rerun only analyses), so a killed benchmark resumes
per run. Goal (issue 23): D within 2 combined σ at every temperature and Ea within 0.05 eV.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

BOLTZMANN_EV = 8.617333262e-5


def run_md(side: str, calc_factory, start, protocol: dict, seed: int, path: Path) -> float:
    """One NVT run (dpglass.reference.meltquench.nvt_run); returns its wall time (0 when reused)."""
    from dpglass.reference.meltquench import nvt_run

    if path.exists():
        return 0.0
    t0 = time.perf_counter()
    nvt_run(start, calc_factory(), protocol, seed, path, f"{side} {protocol['temperature_K']:g} K",
            side)
    return time.perf_counter() - t0


def arrhenius(temperatures: list[float], d_values: list[dict]) -> dict:
    """Weighted fit of ln D = ln D0 - Ea / (kB T) (weights from the relative errors of D)."""
    import numpy as np

    x = 1.0 / (BOLTZMANN_EV * np.asarray(temperatures))
    y = np.log([d["value"] for d in d_values])
    sigma = np.array([d["error"] / d["value"] for d in d_values])
    w = 1.0 / sigma**2
    design = np.vstack([np.ones_like(x), -x]).T
    covariance = np.linalg.inv(design.T @ (design * w[:, None]))
    coefficients = covariance @ design.T @ (w * y)
    return {"Ea_eV": float(coefficients[1]), "Ea_error_eV": float(math.sqrt(covariance[1, 1]))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, required=True,
                        help="results/<composition> of a finished run (quenched glass, config)")
    parser.add_argument("--model", required=True, help="the student (frozen/compressed .pb)")
    parser.add_argument("--temperatures", type=float, nargs="+", default=[500.0, 575.0, 650.0])
    parser.add_argument("--time-ps", type=float, default=20.0)
    parser.add_argument("--timestep-fs", type=float, default=2.0)
    parser.add_argument("--every-steps", type=int, default=10)
    parser.add_argument("--damping-ps", type=float, default=0.1)
    parser.add_argument("--ion", default="Li")
    parser.add_argument("--teacher", default="chgnet", help="reference calculator name")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2027)
    parser.add_argument("--work", type=Path, default=Path("benchmarks/transport_runs"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/transport.md"))
    args = parser.parse_args()

    from ase.io import read

    from dpglass.analysis.conductivity import analyze_diffusion
    from dpglass.reference.calculators import make_calculator
    from dpglass.core.threads import limit_torch_threads

    limit_torch_threads(args.threads)
    start = read(args.results / "melt_quench" / "quenched.extxyz")
    start.calc = None
    args.work.mkdir(parents=True, exist_ok=True)
    steps = int(round(args.time_ps * 1000 / args.timestep_fs))
    calculators = {
        "teacher": lambda: make_calculator(args.teacher, {}, directory=args.work / "calc"),
        "student": lambda: __import__("deepmd.calculator", fromlist=["DP"]).DP(model=args.model),
    }
    rows, walls = [], {"teacher": 0.0, "student": 0.0}
    for n, temperature in enumerate(args.temperatures):
        protocol = {"thermostat": "langevin", "damping_ps": args.damping_ps,
                    "temperature_K": temperature, "timestep_fs": args.timestep_fs,
                    "steps": steps, "every_steps": args.every_steps}
        row = {"temperature_K": temperature}
        for side, factory in calculators.items():
            path = args.work / f"{side}_T{temperature:g}.extxyz"
            walls[side] += run_md(side, factory, start, protocol, args.seed + n, path)
            result = analyze_diffusion(str(path), args.ion, temperature, fmt="extxyz")
            row[side] = {"D": result["D"], "diffusive": result["diffusive"],
                         "because": result.get("not_diffusive_because") or []}
        a, b = row["teacher"]["D"], row["student"]["D"]
        sigma = math.hypot(a["error"], b["error"])
        row["ratio"] = b["value"] / a["value"]
        row["difference_sigmas"] = abs(b["value"] - a["value"]) / sigma
        rows.append(row)
    both = [r for r in rows if r["teacher"]["diffusive"] and r["student"]["diffusive"]]
    fits = {}
    if len(both) >= 2:
        for side in ("teacher", "student"):
            fits[side] = arrhenius([r["temperature_K"] for r in both], [r[side]["D"] for r in both])

    lines = ["# Teacher vs student transport (benchmarks/bench_transport.py)", "",
             f"Teacher: {args.teacher}; student: {args.model}; start: {args.results}/melt_quench/"
             f"quenched.extxyz ({len(start)} atoms); NVT Langevin (damping {args.damping_ps} ps), "
             f"{args.timestep_fs} fs, {args.time_ps} ps per run, a frame every "
             f"{args.every_steps} steps; D from dpglass's own analysis (default hop distance). "
             f"Wall time: teacher {walls['teacher']:.0f} s, student {walls['student']:.0f} s "
             f"(runs reused from {args.work} count 0).", "",
             f"| T (K) | D teacher (cm²/s) | D student (cm²/s) | student/teacher | "
             f"|ΔD| / combined σ | both diffusive |", "|---|---|---|---|---|---|"]
    for r in rows:
        t, s = r["teacher"], r["student"]
        lines.append(f"| {r['temperature_K']:g} | {t['D']['value']:.3g} ± {t['D']['error']:.2g} | "
                     f"{s['D']['value']:.3g} ± {s['D']['error']:.2g} | {r['ratio']:.2f} | "
                     f"{r['difference_sigmas']:.2f} | "
                     f"{'yes' if t['diffusive'] and s['diffusive'] else 'no: ' + '; '.join(t['because'] + s['because'])} |")
    if fits:
        t, s = fits["teacher"], fits["student"]
        diff = abs(t["Ea_eV"] - s["Ea_eV"])
        lines += ["", f"Ea over the temperatures where both are diffusive: teacher "
                      f"{t['Ea_eV']:.3f} ± {t['Ea_error_eV']:.3f} eV, student {s['Ea_eV']:.3f} ± "
                      f"{s['Ea_error_eV']:.3f} eV, |ΔEa| = {diff:.3f} eV (combined σ "
                      f"{math.hypot(t['Ea_error_eV'], s['Ea_error_eV']):.3f} eV)."]
    else:
        lines += ["", "Ea: fewer than two temperatures where both runs are diffusive."]
    within = all(r["difference_sigmas"] <= 2 for r in rows)
    lines += ["", f"Goal, D within 2 combined σ at every temperature: "
                  f"{'met' if within else 'NOT met'}" + (
                  f"; Ea within 0.05 eV: {'met' if diff <= 0.05 else 'NOT met'}." if fits else ".")]
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    (args.work / "transport.json").write_text(json.dumps({"rows": rows, "fits": fits}, indent=1))


if __name__ == "__main__":
    main()
