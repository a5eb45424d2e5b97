"""Figures from result dicts: MSD (log–log with fit window), Arrhenius, RDFs."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: cluster nodes and CI have no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from dpglass.analysis.arrhenius import (PAPER_EA_MD_EV, PAPER_SIGMA_303K_MS_PER_CM,  # noqa: E402
                                        PAPER_WINDOW_K, REFERENCE_TEMPERATURE_K)
from dpglass.units import ANGSTROM2_PER_PS_IN_CM2_PER_S, BOLTZMANN_EV_PER_K  # noqa: E402


def _save(figure, path: str | Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=150)
    plt.close(figure)


def plot_msd(result: dict, path: str | Path) -> None:
    """MSD of the ion per direction and in total, log–log, with the fit window shaded and the
    lags the GLS fit uses (the ones that carry the weight) marked."""
    msd = result["msd"]
    time = np.asarray(msd["time"]["value"])
    total = np.asarray(msd["total"]["value"])
    figure, axes = plt.subplots(figsize=(5, 4))
    axes.loglog(time, total, "k-", label=f"{result['ion']} total")
    for axis in "xyz":
        axes.loglog(time, msd[axis]["value"], lw=0.8, label=axis)
    start, end = result["fit_window"]["value"]
    axes.axvspan(start, end, color="tab:green", alpha=0.15, label="fit window")
    fit_lags = np.asarray((result.get("fit_lags") or {}).get("value") or [])
    if len(fit_lags):
        axes.loglog(fit_lags, np.interp(fit_lags, time, total), "g|", ms=8,
                    label=f"{len(fit_lags)} fitted lags")
    D = result["D"]
    fit_times = np.linspace(start, end, 50)
    slope_A2_per_ps = 6 * D["value"] / ANGSTROM2_PER_PS_IN_CM2_PER_S
    axes.loglog(fit_times, slope_A2_per_ps * fit_times + result["msd_fit_intercept"]["value"],
                "r--", label=f"6Dt + c, D = {D['value']:.2e} ± {D['error']:.1e} cm²/s")
    hop = (result.get("hop_distance") or {}).get("value")
    if hop:
        axes.axhline(hop**2, color="gray", ls=":", lw=0.8, label=f"hop distance² ({hop:g} Å)²")
    axes.set_xlabel("lag time (ps)")
    axes.set_ylabel("MSD (Å²)")
    title = f"{result['ion']} at {result['temperature']['value']:g} K"
    if result["diffusive"]:
        title += f" (window start set by {result.get('window_start_set_by', '?')})"
    else:
        bound = (result.get("D_upper_bound") or {}).get("value")
        title += " not diffusive" + (f": D < {bound:.1e} cm²/s" if bound else "")
    axes.set_title(title, fontsize=8)
    axes.legend(fontsize=7)
    _save(figure, path)


def plot_arrhenius(results: list[dict], fit: dict | None, path: str | Path,
                   quantity_name: str = "sigma_tracer", note: str = "",
                   paper: dict | None = None) -> None:
    """ln(σT) or ln D against 1000/T with error bars (replicas pooled), upper bounds where the
    ion has not diffused, the fit, and the paper's numbers.

    With ``fit=None`` (too few diffusive points) the points are drawn and ``note`` says why.
    ``paper``: the composition's own reference (``dpglass.paper.paper_arrhenius``; {} = none);
    None = the seed paper's LACO75 numbers.
    """
    from dpglass.analysis.arrhenius import UPPER_BOUNDS, pool_replicas

    name = fit["quantity"] if fit else quantity_name
    conductivity = name.startswith("sigma")
    figure, axes = plt.subplots(figsize=(5, 4))
    pooled = pool_replicas(results)
    chosen = [r for r in pooled if r.get("diffusive", True)
              and (r.get(name) or {}).get("value") is not None]
    if chosen:
        temperatures = np.array([r["temperature"]["value"] for r in chosen])
        values = np.array([r[name]["value"] for r in chosen])
        errors = np.array([r[name]["error"] or 0.0 for r in chosen])
        # Error bars clipped at the axis floor: a point compatible with zero is drawn to the bottom.
        lower = np.minimum(errors, values * (1 - 1e-3))
        axes.errorbar(1000 / temperatures, values, yerr=[lower, errors], fmt="o", capsize=3,
                      label="MD (replicas pooled)")
    bound_key = UPPER_BOUNDS.get(name)
    bounds = [(r["temperature"]["value"], (r.get(bound_key) or {}).get("value"))
              for r in pooled if not r.get("diffusive", True)] if bound_key else []
    bounds = [(t, b) for t, b in bounds if b]
    if bounds:
        temperatures, values = np.array(bounds).T
        axes.errorbar(1000 / temperatures, values, yerr=0.3 * values, uplims=True, fmt="v",
                      color="gray", label="not diffusive: upper bound")
    low, high = fit["window"]["value"] if fit else PAPER_WINDOW_K
    temperatures = np.linspace(low, high, 50)
    if fit:
        prefactor, Ea = fit["prefactor"]["value"], fit["Ea"]["value"]
        line = prefactor * np.exp(-Ea / (BOLTZMANN_EV_PER_K * temperatures))
        if conductivity:
            line = line / temperatures
        axes.plot(1000 / temperatures, line, "r-",
                  label=f"Arrhenius Ea = {Ea:.3f} ± {fit['Ea']['error']:.3f} eV")
    if paper is None:
        paper = {"Ea_md": {"value": PAPER_EA_MD_EV},
                 "sigma_303K_experiment": {"value": PAPER_SIGMA_303K_MS_PER_CM}}
    sigma_key = next((k for k in ("sigma_303K_experiment", "sigma_literature") if k in paper), None)
    if conductivity and sigma_key:
        sigma_ref = paper[sigma_key]["value"]
        if "Ea_md" in paper:
            ea_ref = paper["Ea_md"]["value"]
            paper_line = sigma_ref * REFERENCE_TEMPERATURE_K / temperatures * np.exp(
                -ea_ref / BOLTZMANN_EV_PER_K * (1 / temperatures - 1 / REFERENCE_TEMPERATURE_K))
            axes.plot(1000 / temperatures, paper_line, "k:",
                      label=f"paper: Ea {ea_ref} eV through {sigma_ref:g} mS/cm")
        axes.plot(1000 / REFERENCE_TEMPERATURE_K, sigma_ref, "k*", ms=10,
                  label=f"paper σ = {sigma_ref:g} mS/cm, "
                        f"{'experiment (total), 303 K' if sigma_key == 'sigma_303K_experiment' else 'literature, room T'}")
    axes.set_yscale("log")
    axes.set_xlabel("1000 / T (1/K)")
    axes.set_ylabel(f"{name} ({'mS/cm' if conductivity else 'cm²/s'})")
    comparison = fit.get("model_comparison") if fit else None
    if comparison:
        axes.set_title(comparison["verdict"], fontsize=8)
    elif note:
        axes.set_title(note, fontsize=7, wrap=True)
    axes.legend(fontsize=7)
    _save(figure, path)


def plot_rdf(rdf_result: dict, path: str | Path) -> None:
    """Partial g(r), one panel per pair, first peaks marked."""
    radii = np.asarray(rdf_result["r"]["value"])
    names = list(rdf_result["g"])
    figure, axes = plt.subplots(len(names), 1, figsize=(5, 2 * len(names)), sharex=True,
                                squeeze=False)
    for panel, name in zip(axes[:, 0], names):
        panel.plot(radii, rdf_result["g"][name]["value"], label=name)
        peak = rdf_result["first_peak"][name]["value"]
        if peak is not None:
            panel.axvline(peak, color="gray", ls="--", lw=0.8, label=f"first peak {peak:.2f} Å")
        for reference in rdf_result["paper_reference"].get(name, {"value": []})["value"]:
            panel.axvline(reference, color="red", ls=":", lw=0.8)
        panel.set_ylabel("g(r)")
        panel.legend(fontsize=7)
    axes[-1, 0].set_xlabel("r (Å)")
    _save(figure, path)
