"""One function per workflow rule. Scripts in scripts/ only feed these from the `snakemake` object."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from dpglass.core.io import read_json, write_json
from dpglass.core.threads import limit_calculator_threads
from dpglass.core.units import quantity


def start_cell(*, formula_text: str, composition: dict, structure: dict, out_path: str) -> None:
    """Random packing or substituted crystal; the composition's own settings override structure's."""
    from ase.io import write

    from dpglass.reference.cells import build_start_cell, density_g_cm3, min_pair_distance, start_cell_size
    from dpglass.core.composition import check_neutral, parse_formula

    formula = parse_formula(formula_text)
    check_neutral(formula)
    n_atoms, formula_units = start_cell_size(composition, structure)
    density = composition.get("density_g_cm3", structure["density_g_cm3"])
    crystal_file = composition.get("crystal_file", structure.get("crystal_file"))
    atoms = build_start_cell(formula, structure, n_atoms, formula_units, density, crystal_file)
    size = f"{formula_units} formula units" if formula_units else f"target {n_atoms} atoms"
    print(f"{formula.text}: {len(atoms)} atoms ({atoms.get_chemical_formula()}; {size}) from "
          f"{atoms.info['source']}{' ' + crystal_file if structure['source'] == 'crystal' else ''}; "
          f"cell {' x '.join(f'{x:.3f}' for x in atoms.cell.lengths())} Å, density "
          f"{density_g_cm3(atoms):.4f} g/cm^3, shortest distance {min_pair_distance(atoms):.2f} Å")
    if structure["source"] == "crystal":
        print(f"substitution: {atoms.info['removed']} {structure['substitution']['remove']} removed, "
              f"{atoms.info['added']} {structure['substitution']['add']} added on removed sites "
              f"(repeats {atoms.info['repeats']}, seed {structure['seed']})")
    write(out_path, atoms, format="extxyz")


def melt_quench(*, start_path: str, structure: dict, reference: dict, protocol: dict, formula: str,
                frames_path: str, quenched_path: str, trace_path: str, report_path: str,
                threads: int, relabel: dict | None = None) -> None:
    from ase.io import read, write

    from dpglass.reference.meltquench import check_guards, prerelax, run_melt_quench
    from dpglass.reference.calculators import check_available, check_ready, make_calculator

    if relabel is None:  # called with the whole reference section
        relabel = reference.get("relabel", {})
    if relabel.get("calculator"):  # the labelling rule must be able to run later
        check_available(relabel["calculator"], "reference.relabel.calculator")
    atoms = read(start_path)
    elements = sorted(set(atoms.get_chemical_symbols()))
    check_ready("reference", reference, elements)
    check_ready("reference.relabel", relabel, elements)  # CP2K: program, basis, potentials
    limit_calculator_threads(threads)
    work_dir = Path(report_path).parent / "calc"
    calc = make_calculator(reference["calculator"], reference["kwargs"], directory=work_dir)
    atoms.calc = calc
    e0 = atoms.get_potential_energy() / len(atoms)
    prerelax(atoms, structure["prerelax_steps"], log="-")
    e1 = atoms.get_potential_energy()
    print(f"pre-relaxation ({structure['prerelax_steps']} FIRE steps): {e0:.3f} -> "
          f"{e1 / len(atoms):.3f} eV/atom")
    check_guards(atoms, e1, atoms.get_forces(), 0.0, "after pre-relaxation",
                 protocol["max_temperature_K"], protocol["guard_min_distance_A"])
    quenched, report = run_melt_quench(atoms, calc, protocol, frames_path, trace_path,
                                       calc_name=reference["calculator"], log=print)
    report = {"formula": formula, **report}
    write(quenched_path, quenched, format="extxyz")
    write_json(report_path, report)
    print(f"done: {report['md_steps']} MD steps in {report['wall_time']['value']:.0f} s "
          f"({report['time_per_step']['value']:.3f} s/step); final T "
          f"{report['final_temperature']['value']:.0f} K; frames per phase {report['frames_per_phase']}")


def label_frames(*, sampled_path: str, reference: dict, frames_path: str, report_path: str,
                 threads: int) -> None:
    """Relabel the sampled frames with reference.relabel (one resumable single point per frame
    in label_work/), or keep and check the explore labels."""
    from ase.io import read

    from dpglass.reference.labelling import calculator_arguments, label_frames as label
    from dpglass.reference.calculators import describe

    relabel = reference["relabel"]
    name = relabel.get("calculator")
    if name is None:
        label(sampled_path, frames_path, report_path, None,
              calculator_name=f"{reference['calculator']} (labels of the melt-quench)",
              max_failed_fraction=reference["max_failed_fraction"],
              describe=lambda calc: describe(reference["calculator"], reference["kwargs"]))
        return
    work = Path(report_path).parent / "label_work"
    elements = sorted(set(read(sampled_path, index=0).get_chemical_symbols()))
    label(sampled_path, frames_path, report_path, calculator_name=name,
          max_failed_fraction=reference["max_failed_fraction"], stride=relabel["stride"],
          work=work, **calculator_arguments(name, relabel["kwargs"], work, "reference.relabel",
                                            elements, lambda: limit_calculator_threads(threads)))


def plot_melt_quench(*, trace_path: str, report_path: str, png_path: str, title: str) -> None:
    from dpglass.report.figures import plot_trace

    plot_trace(trace_path, png_path, title, read_json(report_path))


def training_data(*, frames_path: str, type_map: list[str], train_cfg: dict, split_path: str) -> None:
    from dpglass.training.data import build_datasets

    split = build_datasets(frames_path, type_map, train_cfg["validation_fraction"],
                           Path(split_path).parent, train_cfg["validation_blocks"],
                           train_cfg["split_gap_frames"])
    print(json.dumps(split, indent=2))


def perturbed_frames(*, frames_path: str, split_path: str, settings: dict, reference: dict,
                     type_map: list[str], name: str, out_frames: str, out_report: str,
                     data_dir: str, threads: int) -> None:
    """train.perturbed_frames: perturbed copies of a glass's training frames, labelled by the
    reference (resumable, one single point per frame), as a training-only deepmd/npy system."""
    from ase.io import read, write

    from dpglass.reference.labelling import label_with_reference
    from dpglass.training.data import read_labelled_frames
    from dpglass.training.perturb import make_perturbed, summary

    frames = read(frames_path, index=":")
    perturbed = make_perturbed(frames, read_json(split_path), settings, name)
    print(f"{len(perturbed)} perturbed copies of training frames (cell scale "
          f"{settings['cell_scale'][0]:g}-{settings['cell_scale'][1]:g}, displacement "
          f"{settings['displacement_A']:g} Å per component)")
    labelled, report = label_with_reference(perturbed, reference,
                                            Path(out_report).parent / "perturbed_work", threads)
    write(out_frames, labelled, format="extxyz")
    shutil.rmtree(data_dir, ignore_errors=True)
    read_labelled_frames(out_frames, type_map).to("deepmd/npy", data_dir)
    report.update({"settings": settings, "source_frames": sorted({f.info["perturbed_from"]
                                                                   for f in perturbed}),
                   **summary(perturbed, labelled)})
    write_json(out_report, report)


def neighbor_stat(*, data_dirs: list[str], type_map: list[str], train_cfg: dict, backend: str,
                  threads: int, out_json: str, log) -> None:
    """`dp neighbor-stat` on all data the model(s) will see -> sel with headroom, recorded in JSON."""
    from dpglass.training.neighbors import neighbor_stat as run_neighbor_stat

    run_neighbor_stat(data_dirs, type_map, train_cfg, backend, threads, out_json, log)


def train_model(*, training_dirs: list[str], validation_dirs: list[str], stats_json: str,
                type_map: list[str], train_cfg: dict, index: int, backend: str, device: str,
                threads: int, input_json: str, lcurve: str, frozen: str, lcurve_png: str,
                log) -> None:
    """Train ensemble member `index` (seed = train.seed + index) in work/, resuming from its last
    checkpoint, freeze it, and copy input.json and lcurve.out next to the frozen model
    (dpglass.training.member, as a retraining of the loop)."""
    from dpglass.report.figures import plot_lcurve
    from dpglass.training.member import member_input, member_work, train_member

    work = member_work(frozen)
    seed = train_cfg["seed"] + index
    payload = member_input(train_cfg, type_map, read_json(stats_json), seed, work, training_dirs,
                           validation_dirs)
    train_member(work=work, payload=payload, frozen=frozen, input_json=input_json, lcurve=lcurve,
                 backend=backend, threads=threads, device=device, log=log)
    plot_lcurve(lcurve, lcurve_png, title=f"model {index} (seed {seed})")


def compress_model(*, frozen: str, validation_dirs: list[str], backend: str, threads: int,
                   tolerance_meV_per_A: float, compressed: str, check_json: str, log,
                   input_json: str | None = None) -> None:
    """Tabulate the embedding nets, then check the compressed model against the frozen one on the
    validation frames (DeepPot inference); a deviation above the tolerance fails the rule."""
    from dpglass.core.threads import thread_variables
    from dpglass.training.compression import check_compression, compare_models
    from dpglass.training.dp import dp
    from dpglass.training.member import member_work

    # dp compress runs in the training work directory: the declared input.json (the training's copy
    # beside the frozen model) names the training data relative to it, for the neighbour statistics.
    input_json = input_json or str(Path(frozen).parent / "input.json")
    work = member_work(frozen)
    work.mkdir(parents=True, exist_ok=True)
    dp(["compress", "-i", os.path.relpath(frozen, work), "-o", os.path.relpath(compressed, work),
        "-t", os.path.relpath(input_json, work)], backend, work, threads, log)
    os.environ.update(thread_variables(threads))
    deviation = compare_models(frozen, compressed, validation_dirs)
    deviation["tolerance"] = quantity(tolerance_meV_per_A, unit="meV/Å")
    print(f"compressed vs frozen on {deviation['frames']} validation frames: max |dF| = "
          f"{deviation['max_force_deviation']['value']:.3g} meV/Å (tolerance "
          f"{tolerance_meV_per_A:g}), max |dE| = {deviation['max_energy_deviation']['value']:.3g} "
          f"meV/atom", file=log, flush=True)
    try:
        check_compression(deviation, tolerance_meV_per_A)
    except Exception:
        Path(compressed).unlink(missing_ok=True)
        raise
    write_json(check_json, deviation)


def test_model(*, model: str, validation_dir: str, lcurve: str, backend: str, threads: int,
               max_energy_rmse: float | None, max_force_rmse: float | None, result_path: str,
               parity_energy_png: str, parity_force_png: str, log) -> None:
    """`dp test` on the validation block: RMSEs, parity plots, and the quality gate."""
    from dpglass.report.figures import plot_parity
    from dpglass.training.dp import dp
    from dpglass.training.evaluation import model_test_record, parse_dp_test, quality_gate
    from dpglass.training.train import read_lcurve

    work = Path(result_path).parent
    work.mkdir(parents=True, exist_ok=True)
    test_log = work / "dp_test.log"
    test_log.unlink(missing_ok=True)
    dp(["test", "-m", os.path.relpath(model, work), "-s", os.path.relpath(validation_dir, work),
        "-d", "parity", "-l", test_log.name], backend, work, threads, log)
    metrics = parse_dp_test(test_log.read_text())
    plot_parity(work / "parity", parity_energy_png, parity_force_png, title=Path(model).name)
    result = model_test_record(metrics, model=model, validation_dir=validation_dir,
                               training_steps=int(read_lcurve(lcurve)["step"][-1]),
                               max_energy_rmse=max_energy_rmse, max_force_rmse=max_force_rmse)
    print(f"dp test: energy RMSE {metrics['energy_rmse']['value']:.3g} meV/atom, force RMSE "
          f"{metrics['force_rmse']['value']:.3g} meV/Å", file=log, flush=True)
    quality_gate(metrics, max_energy_rmse, max_force_rmse)
    write_json(result_path, result)


def lammps_data(*, quenched_path: str, type_map: list[str], out_path: str) -> None:
    from ase.io import read

    from dpglass.lammps.data import write_data_file

    write_data_file(read(quenched_path), out_path, type_map)


def sweep_md(*, data_path: str, models: list[str], type_map: list[str], sweep: dict, execution: dict,
             runs: list[list], outputs: list[str], preflight: bool, threads: int, tasks: int = 1,
             mpi: str | None = None, stopping: dict | None = None, label: str = "",
             glass: int | None = None) -> None:
    """One sweep job: one or several (temperature, replica) LAMMPS runs; see dpglass.lammps.jobs.
    runs: [temperature_K, replica] pairs; outputs: the job's run.json, dump.lammpstrj of each run
    in that order (a preflight has no dump). stopping: the analysis ion and hop distance an
    adaptive run's stopping rule uses; label: the composition and glass, for failure messages;
    glass: the glass index every run.json records."""
    from dpglass.lammps.jobs import RunSpec, run_md_job

    specs = [RunSpec(float(T), int(rep), outputs[2 * i],
                     outputs[2 * i + 1] if len(outputs) > 2 * i + 1 else None, glass)
             for i, (T, rep) in enumerate(runs)]
    run_md_job(data_path, models, type_map, sweep, execution, specs, preflight, threads, tasks, mpi,
                  stopping=stopping, label=label)


def diffusion(*, dump_path: str, run_json: str, ion: str, type_map: list[str], temperature_K: float,
              result_path: str, msd_png: str, hop_distance_A: float, charge: float | None,
              glass: int) -> None:
    """D, σ and the diffusive verdict of the composition's mobile ``ion`` in one sweep run (charge:
    its formal one unless given; analysis.hop_distance_A is the hop distance: the MSD at the fit
    window start must reach its square; glass: which of structure.glasses)."""
    from dpglass.analysis.conductivity import analyze_diffusion
    from dpglass.report.figures import plot_msd

    run = read_json(run_json)
    result = analyze_diffusion(dump_path, ion, temperature_K, fmt="lammps-dump", type_map=type_map,
                               timestep_fs=run["timestep_fs"], hop_distance_A=hop_distance_A,
                               charges=None if charge is None else {ion: charge})
    result["replica"] = run.get("replica", 0)
    result["glass"] = glass  # structure.glasses: which independent glass
    plot_msd(result, msd_png)
    write_json(result_path, result)
    D = result["D"]
    if result["diffusive"]:
        print(f"{ion} at {temperature_K:g} K: D = {D['value']:.3e} ± "
              f"{D['error'] or float('nan'):.1e} cm^2/s (window start set by "
              f"{result['window_start_set_by']})")
    else:
        print(f"{ion} at {temperature_K:g} K: not diffusive, D < "
              f"{result['D_upper_bound']['value']:.3e} cm^2/s: "
              + "; ".join(result["not_diffusive_because"]))


def summary(*, composition: str, formula: str, diffusion_paths: list[str], test_paths: list[str],
            window: list[float], config: dict, summary_path: str, markdown_path: str,
            plot_path: str, run_paths: list[str], learning_paths: list[str] = (),
            label_paths: list[str] = (), mechanism_path: str | None = None,
            rdf_path: str | None = None, scattering_path: str | None = None) -> None:
    """The composition's summary (dpglass.report.summary), its Markdown and Arrhenius plot; with the
    mechanism and structure results, their per-temperature table and headline numbers;
    label_paths: the labelling reports of its training data (who labelled it, for provenance)."""
    from dpglass.report.figures import plot_arrhenius
    from dpglass.core.io import write_text
    from dpglass.core.paper import paper_arrhenius
    from dpglass.report.markdown import summary_markdown
    from dpglass.report.summary import composition_summary

    def optional(path):
        return read_json(path) if path else None

    results = [read_json(p) for p in diffusion_paths]
    out = composition_summary(composition=composition, formula=formula, results=results,
                              model_quality=[read_json(p) for p in test_paths], window=window,
                              config=config, run_paths=run_paths,
                              label_reports={p: read_json(p) for p in label_paths},
                              learning=optional(learning_paths[0] if learning_paths else None),
                              certificate=optional(learning_paths[1] if len(learning_paths) > 1
                                                   else None),
                              mechanism=optional(mechanism_path), rdf=optional(rdf_path),
                              scattering=optional(scattering_path))
    fit = out["arrhenius"] if "error" not in out["arrhenius"] else None
    if fit is None:
        print(f"WARNING: no Arrhenius fit: {out['arrhenius']['error']}")
    plot_arrhenius(results, fit, plot_path,
                   note="" if fit else f"no Arrhenius fit: {out['arrhenius']['error']}",
                   paper=paper_arrhenius(formula))
    write_json(summary_path, out)
    write_text(markdown_path, summary_markdown(out))
    if fit:
        print(f"{composition}: Ea = {fit['Ea']['value']:.3f} ± {fit['Ea']['error']:.3f} eV; "
              f"σ(303 K) = {fit['sigma_303K']['value']:.3g} ± {fit['sigma_303K']['error']:.2g} mS/cm"
              + (" (extrapolated)" if fit["sigma_303K_extrapolated"] else ""))


def compare_compositions(*, summary_paths: list[str], json_path: str, markdown_path: str,
                         png_path: str) -> None:
    from dpglass.core.io import write_text
    from dpglass.report.figures import plot_cross_composition
    from dpglass.report.markdown import cross_composition, cross_composition_markdown

    table = cross_composition([read_json(p) for p in summary_paths])
    plot_cross_composition(table, png_path)
    write_json(json_path, table)
    write_text(markdown_path, cross_composition_markdown(table))


def rdf(*, dump_path: str, run_json: str, type_map: list[str], pair_names: list[str], r_max_A: float,
        result_path: str, png_path: str, formula: str | None = None,
        network_png: str | None = None) -> None:
    """Partial RDFs, first peaks, Al coordination, bridging-O fraction and the Al–O clusters of
    one production run; the paper's distances of this formula (none when the paper has none)
    marked beside them."""
    from dpglass.report.figures import plot_network, plot_rdf
    from dpglass.analysis.rdf_files import trajectory_rdf

    result = trajectory_rdf(dump_path, pair_names, r_max_A, fmt="lammps-dump", type_map=type_map,
                            timestep_fs=read_json(run_json)["timestep_fs"], formula=formula)
    plot_rdf(result, png_path)
    if network_png:
        plot_network(result, network_png)
    write_json(result_path, result)
    for name, peak in result["first_peak"].items():
        print(f"{name}: first peak {peak['value']} Å")
    clusters = result.get("al_o_clusters") or {}
    if clusters:
        shares = ", ".join(f"{kind} {q['value']:.0%}" for kind, q in clusters["al_fraction"].items())
        print(f"Al in Al-O clusters: {shares}; Al-weighted mean cluster size "
              f"{clusters['mean_size_al_weighted']['value']:.2f} Al")


# The total scattering averages at most this many frames of the RDF run (evenly spread): the
# glass's structure needs a few hundred, not every frame of a nanosecond run.
MAX_SCATTERING_FRAMES = 200


def total_scattering(*, dump_path: str, run_json: str, type_map: list[str], radiation: str,
                     q_max_per_A: float, measured_gr: str | None, result_path: str,
                     png_path: str, gr_path: str) -> None:
    """Neutron- (or X-ray-) weighted G(r) and S(Q) of the glass in one production run, the
    measured G(r) with its Rw when given, and the simulated G(r) as a two-column .gr file."""
    from dpglass.report.figures import plot_total_scattering
    from dpglass.analysis.scattering import gr_text
    from dpglass.analysis.scattering import total_scattering as analyze
    from dpglass.analysis.trajectory import count_frames, iter_frames
    from dpglass.core.io import write_text

    stride = max(1, -(-count_frames(dump_path, "lammps-dump") // MAX_SCATTERING_FRAMES))
    frames = iter_frames(dump_path, "lammps-dump", type_map,
                         read_json(run_json)["timestep_fs"], stride=stride)
    result = analyze(frames, radiation, q_max_per_A, measured_gr=measured_gr)
    result["source"] = str(dump_path)
    result["frame_stride"] = stride
    plot_total_scattering(result, png_path)
    write_text(gr_path, gr_text(result["r"]["value"], result["G"]["value"], radiation, dump_path))
    write_json(result_path, result)
    weights = ", ".join(f"{e} {w['value']:g} {w['unit']}" for e, w in result["weights"].items())
    print(f"{radiation} G(r) and S(Q) from {result['n_frames']['value']} frames (every {stride}); "
          f"weights {weights}"
          + (f"; Rw against {measured_gr}: {result['measured']['Rw']['value']:.3f}"
             if result["measured"] else ""))


def mechanism_run(*, dump_path: str, run_json: str, ion: str, type_map: list[str],
                  temperature_K: float, hop_events: dict, result_path: str, glass: int) -> None:
    """How the ion moves in one sweep run: MSD of every species and the glass verdict, hop
    events, position density (dpglass.analysis.mechanism)."""
    from dpglass.analysis.mechanism import run_mechanism
    from dpglass.analysis.trajectory import load_trajectory

    run = read_json(run_json)
    trajectory = load_trajectory(dump_path, "lammps-dump", type_map, run["timestep_fs"],
                                 require=[ion])
    result = run_mechanism(trajectory, ion, temperature_K, hop_events)
    result.update({"replica": run.get("replica", 0), "glass_index": glass,
                   "source": str(dump_path)})
    write_json(result_path, result)
    from dpglass.report.markdown import number

    hops = result["hops"]
    print(f"{ion} at {temperature_K:g} K: {hops['n_hops']['value']} hops "
          f"({number(hops['hops_per_ion'])} per ion, {number(hops['rate_per_ion_per_ns'])} per ion "
          f"per ns); back-jump fraction {number(hops['back_jump_fraction'], 2)}; hop-length peaks "
          f"{hops['length_peaks']['value']} Å; framework: {result['glass']['verdict']} "
          f"({result['glass']['because']})")


def mechanism(*, run_paths: list[str], diffusion_paths: list[str], prior_D: list,
              hop_distance_A: float, formula: str, result_path: str, msd_png: str,
              hops_png: str, density_png: str) -> None:
    """Per temperature: the runs' mechanism pooled, hops observed beside the plan's prediction;
    the figures (species MSD, hops, ion density) of each temperature's first run."""
    from dpglass.analysis.mechanism import mechanism_table
    from dpglass.report.figures import plot_hops, plot_ion_density, plot_species_msd
    from dpglass.core.paper import paper_rdf_distances
    from dpglass.report.markdown import number

    runs = [read_json(p) for p in run_paths]
    table = mechanism_table(runs, [read_json(p) for p in diffusion_paths], prior_D, hop_distance_A)
    first = {}
    for run in sorted(runs, key=lambda r: (r.get("glass_index", 0), r.get("replica", 0))):
        first.setdefault(run["temperature"]["value"], run)
    shown = list(first.values())
    ion = runs[0]["ion"]
    paper = (paper_rdf_distances(formula).get(f"{ion}-{ion}") or {}).get("value") or []
    plot_species_msd(shown, msd_png)
    plot_hops(shown, table, hops_png, paper)
    plot_ion_density(shown, density_png)
    write_json(result_path, {"ion": ion, "formula": formula,
                             "paper_hop_lengths": quantity(paper or None, None, "Å"),
                             "temperatures": table,
                             "runs": [{"temperature": r["temperature"], "replica": r["replica"],
                                       "glass": r["glass_index"], "source": p}
                                      for r, p in zip(runs, run_paths)]})
    columns = ("hops_per_ion", "hops_per_ion_plan", "hops_per_ion_from_D", "he_relative_error",
               "D_relative_error")
    print(f"{'T/K':>6} {'hops/ion':>16} {'plan':>9} {'6Dt/a^2':>9} {'He RSD':>7} {'D RSD':>7}  "
          "framework")
    for row in table:
        cells = [number(row[name], 3 if index < 3 else 2) for index, name in enumerate(columns)]
        print(f"{row['temperature']['value']:>6g} {cells[0]:>16} {cells[1]:>9} {cells[2]:>9} "
              f"{cells[3]:>7} {cells[4]:>7}  {row['glass']}")
