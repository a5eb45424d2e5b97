"""One function per workflow rule. Scripts in scripts/ only feed these from the `snakemake` object."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from dpglass.units import quantity, read_json, write_json


def start_cell(formula_text: str, n_atoms: int, density_g_cm3: float, structure: dict,
               out_path: str) -> None:
    from ase.io import write

    from dpglass.cells import min_pair_distance, random_packing
    from dpglass.composition import check_neutral, parse_formula

    formula = parse_formula(formula_text)
    check_neutral(formula)
    atoms = random_packing(formula, n_atoms, density_g_cm3, structure["min_distance_A"],
                           structure["seed"])
    print(f"{formula.text}: {len(atoms)} atoms ({atoms.get_chemical_formula()}), cubic cell "
          f"{atoms.cell.lengths()[0]:.3f} Å at {density_g_cm3} g/cm^3, "
          f"shortest distance {min_pair_distance(atoms):.2f} Å")
    write(out_path, atoms, format="extxyz")


def melt_quench(start_path: str, structure: dict, reference: dict, protocol: dict,
                frames_path: str, quenched_path: str, trace_path: str, threads: int) -> None:
    import torch  # CHGNet's backend: the rule's threads, no more
    from ase.io import read, write

    from dpglass.meltquench import Schedule, prerelax, run_melt_quench
    from dpglass.reference import make_calculator

    torch.set_num_threads(threads)
    atoms = read(start_path)
    calc = make_calculator(reference["calculator"], reference["kwargs"])
    atoms.calc = calc
    e0 = atoms.get_potential_energy() / len(atoms)
    prerelax(atoms, structure["prerelax_steps"], log="-")
    print(f"pre-relaxation: {e0:.3f} -> {atoms.get_potential_energy() / len(atoms):.3f} eV/atom")
    schedule = Schedule(protocol["t_melt_K"], protocol["t_melt_ps"], protocol["cool_rate_K_per_ps"],
                        protocol["t_final_K"], protocol["t_hold_ps"])
    print(f"schedule: {schedule.t_melt_ps} ps at {schedule.t_melt_K} K, cool {schedule.cool_ps:.2f} ps "
          f"to {schedule.t_final_K} K, hold {schedule.t_hold_ps} ps; total {schedule.total_ps:.2f} ps")
    start = atoms.get_positions().copy()
    final = run_melt_quench(atoms, calc, schedule, protocol["timestep_fs"], protocol["friction_per_fs"],
                            protocol["sample_every_steps"], protocol["seed"], frames_path, trace_path,
                            protocol["max_temperature_K"])
    final.calc = None
    write(quenched_path, final, format="extxyz")
    print(f"done; final temperature {final.get_temperature():.0f} K; mean displacement from start "
          f"{((final.get_positions() - start) ** 2).sum(axis=1).mean() ** 0.5:.2f} Å (RMS, wrapped)")


def plot_melt_quench(trace_path: str, png_path: str, title: str) -> None:
    from dpglass.meltquench import plot_trace

    plot_trace(trace_path, png_path, title)


def training_data(frames_path: str, type_map: list[str], validation_fraction: float,
                  split_path: str) -> None:
    from dpglass.training import build_datasets

    split = build_datasets(frames_path, type_map, validation_fraction, Path(split_path).parent)
    print(json.dumps(split, indent=2))


def train_model(training_dir: str, validation_dir: str, type_map: list[str], train_cfg: dict,
                index: int, backend: str, threads: int, input_json: str, lcurve: str, frozen: str,
                log) -> None:
    from dpglass.training import dp, make_input, write_input

    work = Path(input_json).parent
    seed = train_cfg["seed"] + index
    payload = make_input(train_cfg, type_map, seed, os.path.relpath(training_dir, work),
                         os.path.relpath(validation_dir, work))
    write_input(input_json, payload)
    start = time.perf_counter()
    dp(["train", "input.json"], backend, work, threads, log)
    print(f"training: {train_cfg['numb_steps']} steps in {time.perf_counter() - start:.1f} s",
          file=log, flush=True)
    dp(["freeze", "-o", Path(frozen).name], backend, work, threads, log)
    if not Path(lcurve).exists():
        raise RuntimeError(f"training wrote no {lcurve}")


def compress_model(frozen: str, backend: str, threads: int, compressed: str, log) -> None:
    """Tabulate the embedding nets; input.json beside the model gives the training data's neighbour stats."""
    from dpglass.training import dp

    work = Path(compressed).parent
    dp(["compress", "-i", Path(frozen).name, "-o", Path(compressed).name, "-t", "input.json"],
       backend, work, threads, log)


def test_model(model: str, validation_dir: str, lcurve: str, backend: str, threads: int,
               result_path: str, lcurve_png: str, log) -> None:
    from dpglass.training import dp, parse_dp_test, plot_lcurve

    work = Path(result_path).parent
    test_log = work / "dp_test.log"
    test_log.unlink(missing_ok=True)
    dp(["test", "-m", Path(model).name, "-s", os.path.relpath(validation_dir, work), "-d",
        "parity", "-l", test_log.name], backend, work, threads, log)
    metrics = parse_dp_test(test_log.read_text())
    metrics["model"] = Path(model).name
    metrics["validation_system"] = validation_dir
    write_json(result_path, metrics)
    plot_lcurve(lcurve, lcurve_png)


def lammps_data(quenched_path: str, type_map: list[str], out_path: str) -> None:
    from ase.io import read

    from dpglass.lammps_md import write_data_file

    write_data_file(read(quenched_path), out_path, type_map)


def sweep_md(data_path: str, models: list[str], type_map: list[str], sweep: dict, execution: dict,
             runs: list[dict], preflight: bool, threads: int, tasks: int = 1,
             mpi: str | None = None) -> None:
    """One sweep job: one or several (temperature, replica) LAMMPS runs; see dpglass.sweep."""
    from dpglass.sweep import RunSpec, run_sweep_job

    specs = [RunSpec(float(r["temperature_K"]), int(r["replica"]), r["run_json"], r.get("dump"))
             for r in runs]
    run_sweep_job(data_path, models, type_map, sweep, execution, specs, preflight, threads, tasks, mpi)


def diffusion(dump_path: str, run_json: str, ion: str, type_map: list[str], temperature_K: float,
              result_path: str, msd_png: str) -> None:
    from dpglass.analysis import analyze_diffusion
    from dpglass.analysis.plots import plot_msd

    run = read_json(run_json)
    result = analyze_diffusion(dump_path, ion, temperature_K, fmt="lammps-dump", type_map=type_map,
                               timestep_fs=run["timestep_fs"])
    plot_msd(result, msd_png)
    write_json(result_path, result)
    print(f"{ion} at {temperature_K:g} K: D = {result['D']['value']:.3e} ± "
          f"{result['D']['error'] or float('nan'):.1e} cm^2/s, diffusive: {result['diffusive']}")


def extrapolation_flags(run_paths: list[str]) -> list[dict]:
    """Per sweep run: the ensemble's model-deviation verdict (flagged runs extrapolate)."""
    flags = []
    for path in run_paths:
        run = read_json(path)
        deviation = run.get("model_deviation") or {}
        flags.append({"temperature": run["temperature"], "replica": run.get("replica", 0),
                      "extrapolating": run.get("extrapolating"),
                      "fraction_above_hi": deviation.get("fraction_above_hi"),
                      "fraction_above_lo": deviation.get("fraction_above_lo")})
        if run.get("extrapolating"):
            print(f"WARNING: the potential extrapolates at {run['temperature']['value']:g} K "
                  f"(replica {run.get('replica', 0)}): {deviation['fraction_above_hi']['value']:.1%} "
                  f"of frames above the high trust level")
    return flags


def summary(composition: str, formula: str, diffusion_paths: list[str], test_paths: list[str],
            window: list[float], config: dict, summary_path: str, markdown_path: str,
            plot_path: str, run_paths: list[str] = ()) -> None:
    """The composition's headline numbers: D(T), σ(T), Ea, σ(303 K), model quality, provenance."""
    from dpglass.analysis import fit_arrhenius
    from dpglass.analysis.plots import plot_arrhenius
    from dpglass.paper import paper_values
    from dpglass.provenance import provenance
    from dpglass.report import summary_markdown
    from dpglass.units import write_text

    results = [read_json(p) for p in diffusion_paths]
    table = [{key: r[key] for key in ("temperature", "D", "sigma_tracer", "sigma_collective",
                                      "haven_ratio", "diffusive", "fit_window", "note") if key in r}
             for r in results]
    try:
        fit, fit_error = fit_arrhenius(results, window=tuple(window)), None
    except ValueError as err:
        fit, fit_error = None, str(err)
        print(f"WARNING: no Arrhenius fit: {err}")
    out = {
        "composition": composition,
        "formula": formula,
        "ion": results[0].get("ion") if results else None,
        "Ea": fit["Ea"] if fit else None,
        "sigma_303K": fit["sigma_303K"] if fit else None,
        "arrhenius": fit if fit is not None else {"error": fit_error},
        "transport": table,
        "model_quality": [read_json(p) for p in test_paths],
        "extrapolation": extrapolation_flags(run_paths),
        "paper": paper_values(formula),
        "provenance": provenance(config),
    }
    plot_arrhenius(results, fit, plot_path, note=f"no Arrhenius fit: {fit_error}" if fit_error else "")
    write_json(summary_path, out)
    write_text(markdown_path, summary_markdown(out))
    if fit:
        print(f"{composition}: Ea = {fit['Ea']['value']:.3f} ± {fit['Ea']['error']:.3f} eV; "
              f"σ(303 K) = {fit['sigma_303K']['value']:.3g} ± {fit['sigma_303K']['error']:.2g} mS/cm")


def compare_compositions(summary_paths: list[str], json_path: str, markdown_path: str,
                         png_path: str) -> None:
    from dpglass.report import cross_composition, cross_composition_markdown, plot_cross_composition
    from dpglass.units import write_text

    table = cross_composition([read_json(p) for p in summary_paths])
    plot_cross_composition(table, png_path)
    write_json(json_path, table)
    write_text(markdown_path, cross_composition_markdown(table))


def rdf(dump_path: str, run_json: str, type_map: list[str], pair_names: list[str], r_max_A: float,
        result_path: str, png_path: str) -> None:
    """Partial RDFs, first peaks, Al coordination and bridging-O fraction of one production run."""
    import numpy as np

    from dpglass.analysis import compute_rdfs, iter_frames
    from dpglass.analysis.plots import plot_rdf

    run = read_json(run_json)
    pairs = [tuple(name.split("-")) for name in pair_names]
    present = [p for p in pairs if set(p) <= set(type_map)]
    skipped = [f"{a}-{b}" for a, b in pairs if (a, b) not in present]
    if not present:
        raise ValueError(f"analysis.rdf_pairs {pair_names}: no pair has both species in {type_map}")
    first = next(iter_frames(dump_path, fmt="lammps-dump", type_map=type_map,
                             timestep_fs=run["timestep_fs"]))
    cell = np.asarray(first.cell)
    half_width = 0.5 * abs(np.linalg.det(cell)) / max(
        np.linalg.norm(np.cross(cell[(i + 1) % 3], cell[(i + 2) % 3])) for i in range(3))
    r_max = min(r_max_A, 0.999 * half_width)
    if r_max < r_max_A:
        print(f"RDF r_max capped at {r_max:.2f} Å (half the smallest cell width)")
    frames = iter_frames(dump_path, fmt="lammps-dump", type_map=type_map, timestep_fs=run["timestep_fs"])
    result = compute_rdfs(frames, present, r_max_A=r_max)
    result["skipped_pairs"] = skipped
    plot_rdf(result, png_path)
    write_json(result_path, result)
    for name, peak in result["first_peak"].items():
        print(f"{name}: first peak {peak['value']} Å")
