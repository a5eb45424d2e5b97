"""Every plot of the workflow's stages (melt-quench trace, learning curve, parity, compositions).

matplotlib is imported lazily, on the headless Agg backend, so that planning needs no matplotlib.
The analysis plots (MSD, Arrhenius, RDF) are still in dpglass.analysis.plots.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dpglass.meltquench import read_trace
from dpglass.training.evaluation import read_detail
from dpglass.training.train import read_lcurve


def pyplot():
    """matplotlib.pyplot on the headless Agg backend (cluster nodes and CI have no display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


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
