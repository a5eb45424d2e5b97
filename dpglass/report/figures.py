"""Every figure of the workflow: the stages' (melt-quench trace, learning curve, parity,
compositions, the learning loop) and the analysis' (MSD, Arrhenius, RDFs, mechanism, scattering).

matplotlib is imported lazily, on the headless Agg backend, so that planning needs no matplotlib.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dpglass.analysis.arrhenius import REFERENCE_TEMPERATURE_K
from dpglass.reference.meltquench import read_trace
from dpglass.training.evaluation import read_detail
from dpglass.training.train import read_lcurve
from dpglass.core.units import ANGSTROM2_PER_PS_IN_CM2_PER_S, BOLTZMANN_EV_PER_K


def pyplot():
    """matplotlib.pyplot on the headless Agg backend (cluster nodes and CI have no display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


class _Pyplot:
    """matplotlib.pyplot, imported at its first use (``plt.subplots(...)``)."""

    def __getattr__(self, name):
        return getattr(pyplot(), name)


plt = _Pyplot()


def save(fig, png: str | Path, dpi: int = 120) -> None:
    """Lay out, write and close a figure."""
    fig.tight_layout()
    fig.savefig(png, dpi=dpi)
    pyplot().close(fig)


def plot_trace(trace_path: str | Path, png_path: str | Path, title: str = "",
               report: dict | None = None) -> None:
    """Temperature (target and instantaneous), potential energy and density vs time, phases shaded.

    With the melt-quench report, the density panel also shows the start cell's density, so a
    relaxation before the MD is visible."""
    plt = pyplot()
    trace = read_trace(trace_path)
    time_ps, phases = trace["time_ps"], trace["phase"]
    fig, axes = plt.subplots(3, 1, figsize=(7, 7.5), sharex=True)
    axes[0].plot(time_ps, trace["temperature_K"], lw=0.8, label="instantaneous")
    axes[0].plot(time_ps, trace["target_K"], "k--", lw=1.2, label="target")
    axes[0].set_ylabel("T (K)")
    axes[0].legend(frameon=False, fontsize=8, loc="upper right")
    axes[1].plot(time_ps, trace["epot_eV_per_atom"], lw=0.8)
    axes[1].set_ylabel("E_pot (eV/atom)")
    axes[2].plot(time_ps, trace["density_g_cm3"], lw=0.8, label="MD")
    if report is not None:
        density = report["density"]
        axes[2].axhline(density["start_cell"]["value"], color="grey", ls=":", lw=1.2,
                        label=f"start cell ({density['start_cell']['value']:.3f})")
        axes[2].set_title(f"density protocol: {report['density_protocol']}", fontsize=8)
        axes[2].legend(frameon=False, fontsize=8, loc="best")
    axes[2].set_ylabel("density (g/cm³)")
    axes[2].set_xlabel("time (ps)")
    # Shade and name each contiguous phase (npt, melt, cool, hold, sample_213K, ...).
    starts = [0] + [i for i in range(1, len(phases)) if phases[i] != phases[i - 1]]
    for k, first in enumerate(starts):
        last = (starts[k + 1] if k + 1 < len(starts) else len(phases)) - 1
        left = time_ps[first - 1] if first > 0 else 0.0
        for ax in axes:
            ax.axvspan(left, time_ps[last], color=f"C{k % 10}", alpha=0.08, lw=0)
        label = str(phases[first]).replace("sample_", "").replace("K", "")  # sampling runs: their T
        narrow = time_ps[last] - left < 0.08 * (time_ps[-1] - time_ps[0])
        height = 1.01 + (0.05 * (k % 2) if narrow else 0.0)  # stagger short neighbours' labels
        axes[0].text((left + time_ps[last]) / 2, height, label,
                     transform=axes[0].get_xaxis_transform(), ha="center", va="bottom", fontsize=7)
    if title:
        fig.suptitle(title)
    save(fig, png_path)


def plot_lcurve(path: str | Path, png: str | Path, title: str = "") -> None:
    plt = pyplot()
    curve = read_lcurve(path)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for ax, kind, unit in ((axes[0], "e", "eV/atom"), (axes[1], "f", "eV/Å")):
        for split in ("trn", "val"):
            name = f"rmse_{kind}_{split}"
            if name in curve:
                ax.semilogy(curve["step"], curve[name], label=split)
        ax.set_xlabel("training step")
        ax.set_ylabel(f"RMSE {'energy' if kind == 'e' else 'force'} ({unit})")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(frameon=False)
    if title:
        fig.suptitle(title)
    save(fig, png)


def plot_parity(detail_prefix: str | Path, energy_png: str | Path, force_png: str | Path,
                title: str = "") -> None:
    """Parity plots from `dp test -d PREFIX`: energy per atom and force components, with RMSE."""
    plt = pyplot()
    energy = read_detail(f"{detail_prefix}.e_peratom.out")
    force = read_detail(f"{detail_prefix}.f.out")
    panels = [(energy[:, 0], energy[:, 1], "energy (eV/atom)", "meV/atom", energy_png),
              (force[:, :3].ravel(), force[:, 3:6].ravel(), "force component (eV/Å)", "meV/Å",
               force_png)]
    for reference, predicted, label, unit, png in panels:
        rmse = float(np.sqrt(np.mean((predicted - reference) ** 2))) * 1000.0
        fig, ax = plt.subplots(figsize=(4.5, 4.5))
        ax.plot(reference, predicted, ".", ms=3, alpha=0.6)
        low, high = float(min(reference.min(), predicted.min())), float(max(reference.max(),
                                                                          predicted.max()))
        ax.plot([low, high], [low, high], "k--", lw=0.8)
        ax.set_xlabel(f"reference {label}")
        ax.set_ylabel(f"DeePMD {label}")
        ax.set_title(f"{title} RMSE {rmse:.3g} {unit}".strip())
        save(fig, png)


def plot_cross_composition(table: dict, png: str | Path) -> None:
    """σ(303 K) and Ea against O content (x in MAlCl(4-2x)Ox), with error bars."""
    plt = pyplot()
    rows = [r for r in table["compositions"] if r["Ea"] and r["sigma_303K"]]
    fig, (ax_sigma, ax_ea) = plt.subplots(1, 2, figsize=(9, 3.8))
    for r in rows:
        x = r["O_per_Al"]["value"]
        ax_sigma.errorbar(x, r["sigma_303K"]["value"], yerr=r["sigma_303K"]["error"], fmt="o", capsize=3)
        ax_sigma.annotate(r["composition"], (x, r["sigma_303K"]["value"]), fontsize=7)
        ax_ea.errorbar(x, r["Ea"]["value"], yerr=r["Ea"]["error"], fmt="s", capsize=3)
        ax_ea.annotate(r["composition"], (x, r["Ea"]["value"]), fontsize=7)
    ax_sigma.set_yscale("log")
    ax_sigma.set_xlabel("O per Al (x)")
    ax_sigma.set_ylabel("σ(303 K) (mS/cm)")
    ax_ea.set_xlabel("O per Al (x)")
    ax_ea.set_ylabel("Ea (eV)")
    if not rows:
        ax_sigma.text(0.5, 0.5, "no composition has an Arrhenius fit", transform=ax_sigma.transAxes,
                      ha="center")
    save(fig, png)


def plot_learning_loop(record: dict, png: str, title: str = "") -> None:
    """The concurrent-learning loop: accurate (o) and failed (x) fractions per exploration and
    temperature, with the accurate fraction required; frames labelled per iteration."""
    plt = pyplot()
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(9, 3.6))
    series: dict[float, list[tuple[int, float, float]]] = {}
    for row in record["iterations"]:
        for t in row["temperatures"]:
            series.setdefault(t["temperature_K"], []).append(
                (row["iteration"], t["accurate_fraction"], t["failed_fraction"]))
    for T, points in sorted(series.items()):
        ks = [p[0] for p in points]
        line, = ax.plot(ks, [p[1] for p in points], "o-", label=f"{T:g} K")
        ax.plot(ks, [p[2] for p in points], "x:", color=line.get_color())
    if record.get("accurate_fraction_required") is not None:
        ax.axhline(record["accurate_fraction_required"], color="k", lw=0.8, ls="--")
    explored = sorted({k for points in series.values() for k, _, _ in points})
    if explored:
        # explorations are whole numbers; one alone got a fractional axis around it
        ax.set_xticks(explored)
        ax.set_xlim(explored[0] - 0.5, explored[-1] + 0.5)
    ax.set_xlabel("exploration k (models of iteration k-1)")
    ax.set_ylabel("fraction of frames (o accurate, x failed)")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=7)
    trained = [r for r in record["iterations"] if "frames_labelled" in r]
    points = [(0, record.get("first_training_validation"))] + [
        (r["iteration"], r.get("validation_after_retraining")) for r in trained]
    points = [(k, (v or {}).get("force_rmse")) for k, v in points]
    points = [(k, f) for k, f in points if f and f.get("value") is not None]
    if points:
        bx.errorbar([k for k, _ in points], [f["value"] for _, f in points],
                    yerr=[f.get("error") or 0.0 for _, f in points], fmt="s-", color="C3",
                    capsize=3)
    bx.set_xlabel("iteration (0 = first training)")
    bx.set_ylabel("validation force RMSE (meV/Å)", color="C3")
    labelled = bx.twinx()
    labelled.bar([r["iteration"] for r in trained], [r["frames_labelled"] for r in trained],
                 alpha=0.25, color="C0", width=0.4)
    labelled.set_ylabel("frames labelled (bars)")
    from matplotlib.ticker import MaxNLocator
    bx.xaxis.set_major_locator(MaxNLocator(integer=True))
    import textwrap
    heading = f"{title}: {record['verdict']}" if title else record["verdict"]
    fig.suptitle("\n".join(textwrap.wrap(heading, 130)), fontsize=8)
    save(fig, png)


def _save(figure, path: str | Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    save(figure, path, dpi=150)


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
    ``paper``: the composition's own reference (``dpglass.core.paper.paper_arrhenius``); None or {}
    = none drawn.
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
    drawn = [r["temperature"]["value"] for r in pooled]
    low, high = fit["window"]["value"] if fit else (min(drawn), max(drawn))
    temperatures = np.linspace(low, high, 50)
    if fit:
        prefactor, Ea = fit["prefactor"]["value"], fit["Ea"]["value"]
        line = prefactor * np.exp(-Ea / (BOLTZMANN_EV_PER_K * temperatures))
        if conductivity:
            line = line / temperatures
        axes.plot(1000 / temperatures, line, "r-",
                  label=f"Arrhenius Ea = {Ea:.3f} ± {fit['Ea']['error']:.3f} eV")
    paper = paper or {}
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
