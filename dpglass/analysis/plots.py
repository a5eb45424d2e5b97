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


def _temperature_colours(temperatures):
    cmap = plt.get_cmap("coolwarm")
    low, high = min(temperatures), max(temperatures)
    return {t: cmap(0.5 if high == low else (t - low) / (high - low)) for t in temperatures}


def plot_species_msd(runs: list[dict], path: str | Path) -> None:
    """MSD of every species against lag (log–log), one panel per species, one line per
    temperature (the seed paper's Fig. 2c); the legend gives each temperature's glass verdict."""
    runs = sorted(runs, key=lambda r: r["temperature"]["value"])
    ion = runs[0]["ion"]
    species = [ion] + [name for name in runs[0]["species_msd"] if name != ion]
    colours = _temperature_colours([r["temperature"]["value"] for r in runs])
    columns = min(2, len(species))
    rows = -(-len(species) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.2 * rows), squeeze=False)
    for panel, name in zip(axes.flat, species):
        for run in runs:
            T = run["temperature"]["value"]
            curve = run["species_msd"][name]
            label = f"{T:g} K"
            if name != run["ion"]:
                label += (f": {curve['state']}, β = {curve['beta']['value']:.2f} ± "
                          f"{curve['beta']['error'] or 0:.2f}")
            panel.loglog(curve["time"]["value"], curve["msd"]["value"], color=colours[T],
                         label=label)
        panel.set_title(name + (" (mobile ion)" if name == ion else ""), fontsize=9)
        panel.set_xlabel("lag time (ps)")
        panel.set_ylabel("MSD (Å²)")
        panel.legend(fontsize=6)
    for panel in list(axes.flat)[len(species):]:
        panel.axis("off")
    by_verdict: dict = {}
    for run in runs:
        by_verdict.setdefault(run["glass"].get("verdict"), []).append(
            f"{run['temperature']['value']:g}")
    figure.suptitle("framework: " + "; ".join(
        f"{verdict} at {', '.join(temps)} K" if len(temps) <= 4 else
        f"{verdict} at {len(temps)} of {len(runs)} temperatures"
        for verdict, temps in by_verdict.items()), fontsize=8)
    _save(figure, path)


def plot_hops(runs: list[dict], table: list[dict], path: str | Path,
              paper_lengths_A: list[float] | None = None) -> None:
    """Left: hop-length distribution per temperature, the paper's Li–Li hop distances marked.
    Right: hops per ion observed against the plan's prediction and 6Dt/a² from the measured D."""
    runs = sorted(runs, key=lambda r: r["temperature"]["value"])
    colours = _temperature_colours([r["temperature"]["value"] for r in runs])
    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 4.4))
    for run in runs:
        histogram = run["hops"]["length_histogram"]
        counts = np.asarray(histogram["counts"]["value"], float)
        if counts.sum() == 0:
            continue
        edges = np.asarray(histogram["edges"]["value"])
        T = run["temperature"]["value"]
        left.stairs(counts / counts.sum(), edges, color=colours[T],
                    label=f"{T:g} K ({int(counts.sum())} hops)")
    for length in paper_lengths_A or []:
        left.axvline(length, color="k", ls=":", lw=0.8)
    if paper_lengths_A:
        left.plot([], [], "k:", label="paper: " + ", ".join(f"{x:g}" for x in paper_lengths_A)
                  + " Å")
    left.set_xlabel("hop length (Å)")
    left.set_ylabel("fraction of hops")
    left.set_xlim(0, 6)
    left.legend(fontsize=6, ncols=2, loc="lower left", bbox_to_anchor=(0, 1.02, 1, 0.2),
                mode="expand")
    temperatures = [row["temperature"]["value"] for row in table]
    observed = [row["hops_per_ion"]["value"] for row in table]
    errors = [row["hops_per_ion"]["error"] or 0 for row in table]
    right.errorbar(temperatures, observed, yerr=errors, fmt="o", label="observed hop events")
    plan = [row["hops_per_ion_plan"]["value"] for row in table]
    if any(v is not None for v in plan):
        right.plot(temperatures, [np.nan if v is None else v for v in plan], "k--",
                   label="plan: 6 D_prior t / a²")
    from_D = [row["hops_per_ion_from_D"]["value"] for row in table]
    if any(v is not None for v in from_D):
        right.plot(temperatures, [np.nan if v is None else v for v in from_D], "s", mfc="none",
                   label="6 D t / a² (measured D; bound where not diffusive)")
    right.set_yscale("symlog", linthresh=0.1)
    right.set_xlabel("T (K)")
    right.set_ylabel("hops per ion per run")
    right.legend(fontsize=6, loc="lower left", bbox_to_anchor=(0, 1.02, 1, 0.2), mode="expand")
    _save(figure, path)


# Temperatures shown in the ion-density figure (every run's projections are in its JSON).
MAX_DENSITY_ROWS = 4


def plot_ion_density(runs: list[dict], path: str | Path) -> None:
    """Where the ion has been: its positions projected along each cell vector, one row per
    temperature (at most MAX_DENSITY_ROWS, evenly spread; the seed paper's Fig. 2a,b), log
    colour scale."""
    from matplotlib.colors import LogNorm

    runs = sorted(runs, key=lambda r: r["temperature"]["value"])
    if len(runs) > MAX_DENSITY_ROWS:  # the coldest, the hottest and evenly between
        picks = np.unique(np.linspace(0, len(runs) - 1, MAX_DENSITY_ROWS).round().astype(int))
        runs = [runs[i] for i in picks]
    figure, axes = plt.subplots(len(runs), 3, figsize=(9, 3 * len(runs)), squeeze=False)
    for row, run in zip(axes, runs):
        density = run["density"]
        for panel, (name, projection) in zip(row, density["projections"].items()):
            counts = np.asarray(projection["counts"]["value"], float)
            width, height = projection["extent"]["value"]
            shown = np.ma.masked_equal(counts.T, 0)
            panel.imshow(shown, origin="lower", extent=(0, width, 0, height), cmap="viridis",
                         norm=LogNorm(vmin=1, vmax=max(2.0, counts.max())), aspect="equal")
            first, second = projection["axes"]
            panel.set_xlabel(f"{first} (Å)")
            panel.set_ylabel(f"{second} (Å)")
            panel.set_title(f"{run['ion']} at {run['temperature']['value']:g} K, {name.replace('_', ' ')}"
                            f"; visited {density['visited_volume_fraction']['value']:.0%}",
                            fontsize=7)
    _save(figure, path)


def plot_network(rdf_result: dict, path: str | Path) -> None:
    """Share of Al in Al–O clusters of each size (isolated, chains, networks)."""
    clusters = rdf_result.get("al_o_clusters") or {}
    figure, axes = plt.subplots(figsize=(5, 3.4))
    if clusters:
        sizes = [int(n) for n in clusters["al_fraction_by_size"]]
        shares = [q["value"] for q in clusters["al_fraction_by_size"].values()]
        axes.bar(sizes, shares, color="tab:blue")
        axes.set_xticks(sizes)
        kinds = clusters["al_fraction"]
        axes.set_title(", ".join(f"{kind} {kinds[kind]['value']:.0%}" for kind in kinds)
                       + f" of Al ({clusters['n_frames']['value']} frames)", fontsize=8)
        axes.set_xlabel("cluster size (Al joined by O)")
        axes.set_ylabel("fraction of Al")
    else:
        axes.text(0.5, 0.5, "no Al in this composition", ha="center", transform=axes.transAxes)
        axes.axis("off")
    _save(figure, path)


def plot_total_scattering(result: dict, path: str | Path) -> None:
    """Total G(r) (measured G(r) over it with its Rw when given) and S(Q)."""
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(6, 6))
    radiation = result["radiation"]
    top.plot(result["r"]["value"], result["G"]["value"], "k-", lw=1, label=f"simulated ({radiation})")
    measured = result.get("measured")
    if measured:
        top.plot(measured["r"]["value"], measured["G"]["value"], "r-", lw=0.8, alpha=0.8,
                 label=f"measured, Rw = {measured['Rw']['value']:.3f}")
    top.axhline(0, color="gray", lw=0.5)
    top.set_xlabel("r (Å)")
    top.set_ylabel("G(r) (Å⁻²)")
    top.legend(fontsize=7)
    bottom.plot(result["Q"]["value"], result["S"]["value"], "k-", lw=1)
    r_max = result["r"]["value"][-1]
    bottom.axvspan(0, 2 * np.pi / r_max, color="gray", alpha=0.2,
                   label=f"Q < 2π/r_max = {2 * np.pi / r_max:.2f} 1/Å: shaped by the cell size")
    bottom.legend(fontsize=7)
    bottom.axhline(1, color="gray", lw=0.5)
    bottom.set_xlabel("Q (1/Å)")
    bottom.set_ylabel("S(Q)")
    _save(figure, path)
