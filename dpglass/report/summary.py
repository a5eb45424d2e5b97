"""A composition's summary: transport table, Arrhenius fits, the paper comparison, the verdicts of
every sweep run (extrapolation, run length, glass) and provenance, as one JSON-ready dict."""

from __future__ import annotations

from dpglass.core.io import read_json
from dpglass.core.units import quantity

# Conductivities of the run beside the paper's like-for-like number (dpglass/core/paper.py keys).
LIKE_FOR_LIKE = (
    ("sigma_collective", "sigma_303K_experiment",
     "total conductivity (all charges' collective displacement) vs the measured total σ"),
    ("sigma_collective_ion", "sigma_303K_single_Li_experiment",  # the paper has it for Li only
     "{ion}-partial conductivity ({ion} charge displacement) vs the measured σ × t_{ion}"),
    ("sigma_tracer", None,
     "Nernst–Einstein tracer conductivity: no measured counterpart (σ_{ion} × Haven ratio)"),
)
SUMMARY_ROW_KEYS = ("temperature", "n_replicas", "D", "D_upper_bound", "sigma_tracer",
                    "sigma_tracer_upper_bound", "sigma_collective", "sigma_collective_ion",
                    "haven_ratio", "haven_ratio_ion", "diffusive", "not_diffusive_because",
                    "window_start_set_by", "fit_window", "replica_scatter", "hop_statistics",
                    "resolution", "note")
FITTED_QUANTITIES = ("sigma_tracer", "D", "sigma_collective_ion", "sigma_collective")


def glass_of_run(run: dict, path: str) -> int:
    """The glass a sweep run records (dpglass.lammps.jobs writes it into run.json)."""
    if run.get("glass") is None:
        raise ValueError(f"{path} records no glass: it was written before dpglass recorded one; "
                         f"rerun its sweep_md job (snakemake --forcerun sweep_md)")
    return int(run["glass"])


def run_lengths(run_paths: list[str]) -> list[dict]:
    """Per sweep run: its production length and, for an adaptive run, why it stopped there."""
    rows = []
    for path in run_paths:
        run = read_json(path)
        stopping = run.get("stopping") or {}
        rows.append({"temperature": run["temperature"], "replica": run.get("replica", 0),
                     "glass": glass_of_run(run, path),
                     "production": quantity(run["production_steps"] * run["timestep_fs"] / 1000.0,
                                            None, "ps"),
                     "stopped_because": stopping.get("reason") or "fixed length",
                     "relative_error_at_stop": quantity(stopping.get("relative_error"), None, "1"),
                     "target_relative_error": stopping.get("target_relative_error")})
    return rows


def extrapolation_flags(run_paths: list[str], trust_levels: list[float] | None = None,
                        max_fraction: float | None = None) -> list[dict]:
    """Per sweep run: the ensemble's model-deviation verdict (flagged runs extrapolate), from the
    run's per-frame max force deviations with these trust levels (else the run's own verdict)."""
    from dpglass.lammps.deviation import deviation_summary

    flags = []
    for path in run_paths:
        run = read_json(path)
        if trust_levels is not None and run.get("max_devi_f"):
            run["model_deviation"] = deviation_summary(run["max_devi_f"]["value"], trust_levels,
                                                       max_fraction)
            run["extrapolating"] = run["model_deviation"]["extrapolating"]
        deviation = run.get("model_deviation") or {}
        flags.append({"temperature": run["temperature"], "replica": run.get("replica", 0),
                      "glass": glass_of_run(run, path),
                      "extrapolating": run.get("extrapolating"),
                      "fraction_above_hi": deviation.get("fraction_above_hi"),
                      "deviation_frames": deviation.get("frames"),
                      "fraction_above_lo": deviation.get("fraction_above_lo")})
        if run.get("extrapolating"):
            print(f"WARNING: the potential extrapolates at {run['temperature']['value']:g} K "
                  f"(replica {run.get('replica', 0)}): {deviation['fraction_above_hi']['value']:.1%} "
                  f"of {deviation.get('frames')} frames above the high trust level")
    return flags


def composition_summary(*, composition: str, formula: str, results: list[dict],
                        model_quality: list[dict], window: list[float], config: dict,
                        run_paths: list[str], label_reports: dict[str, dict] | None = None,
                        learning: dict | None = None, certificate: dict | None = None,
                        mechanism: dict | None = None, rdf: dict | None = None,
                        scattering: dict | None = None) -> dict:
    """The composition's summary.json, assembled here only: D(T), σ(T), Ea, σ(303 K), model
    quality, provenance; the loop's record and the certificate (learning.max_iterations > 0), the
    mechanism table and the structure in a few numbers when their results are given.

    ``transport`` has one row per distinct temperature (replicas pooled; temperatures where the
    ion has not diffused keep their upper bounds). ``arrhenius`` is the fit of the tracer σ (the
    headline Ea and sigma_303K; {"error": why} when there is none); ``arrhenius_by_quantity`` the
    fits of D, the Li-partial and the total collective σ; ``sigma_303K_comparison`` sets each
    σ(303 K) beside the paper's like-for-like number. VFT is fitted above the paper's glass
    transition where it has one.
    """
    from dpglass.analysis.arrhenius import fit_arrhenius, pool_replicas
    from dpglass.analysis.glasses import glass_spread
    from dpglass.core.paper import paper_arrhenius, paper_values
    from dpglass.report.provenance import provenance

    paper = paper_values(formula)  # this composition's paper numbers only ({} when none)
    glass_transition = (paper.get("Tg_DMA") or {}).get("value")
    # every *_because field too: the reasons summary.md turns into notes (dpglass.report.markdown)
    table = [{key: value for key, value in row.items()
              if key in SUMMARY_ROW_KEYS or key.endswith("_because")}
             for row in pool_replicas(results)]
    fits = {}
    for name in FITTED_QUANTITIES:
        try:
            fits[name] = fit_arrhenius(results, window=tuple(window), quantity_name=name,
                                       glass_transition_K=glass_transition)
        except ValueError as err:
            fits[name] = {"error": str(err)}
    fit = fits["sigma_tracer"] if "error" not in fits["sigma_tracer"] else None
    if fit is not None:
        fit["paper_reference"] = paper_arrhenius(formula)
    ion = results[0].get("ion") if results else config["compositions"][composition]["ion"]
    comparison = []
    for name, paper_key, meaning in LIKE_FOR_LIKE:
        ours = fits[name].get("sigma_303K")
        comparison.append({"quantity": name, "this_run": ours,
                           "extrapolated": fits[name].get("sigma_303K_extrapolated"),
                           "paper_key": paper_key,
                           "paper": paper.get(paper_key) if paper_key else None,
                           "meaning": meaning.format(ion=ion), "no_fit": fits[name].get("error")})
    sweep = config["sweep"]
    return {
        "composition": composition,
        "formula": formula,
        "ion": ion,
        "ion_charge": results[0].get("ion_charge") if results else None,  # the charge in σ
        "Ea": fit["Ea"] if fit else None,
        "sigma_303K": fit["sigma_303K"] if fit else None,
        "sigma_303K_extrapolated": fit["sigma_303K_extrapolated"] if fit else None,
        "arrhenius": fit if fit is not None else {"error": fits["sigma_tracer"]["error"]},
        "arrhenius_by_quantity": {name: fits[name] for name in fits if name != "sigma_tracer"},
        "sigma_303K_comparison": comparison,
        "glass_transition": (quantity(glass_transition, None, "K") if glass_transition else None),
        "transport": table,
        "model_quality": model_quality,
        "extrapolation": extrapolation_flags(run_paths, sweep["trust_level_eV_per_A"],
                                             sweep["max_extrapolating_fraction"]),
        "run_lengths": run_lengths(run_paths),
        "glass_spread": glass_spread(results, tuple(window), glass_transition),
        "paper": paper,
        "provenance": provenance(config, label_reports),
        "learning": learning,
        "certificate": certificate,
        "mechanism": mechanism["temperatures"] if mechanism else None,
        "structure": structure_summary(rdf, scattering),
    }


def structure_summary(rdf: dict | None, scattering: dict | None) -> dict | None:
    """The glass's structure in a few numbers: Al coordination, bridging-O fraction, the share of
    Al isolated / in chains / in networks of Al–O clusters (from the RDF run), and the total
    scattering's weighting, source files and R-factor against the measured G(r)."""
    if rdf is None and scattering is None:
        return None
    out = {}
    if rdf:
        out.update({key: rdf.get(key) for key in ("al_coordination", "bridging_oxygen_fraction",
                                                  "al_o_clusters", "source")})
        out["first_peak"] = rdf.get("first_peak")
    if scattering:
        measured = scattering.get("measured") or {}
        out["total_scattering"] = {
            "radiation": scattering["radiation"], "weights_source": scattering["weights_source"],
            "measured_gr": measured.get("source"), "Rw": measured.get("Rw"),
            "Rw_r_range": measured.get("r_range"), "n_frames": scattering.get("n_frames")}
    return out
