"""What a scientist reads: summary.md per composition and the cross-composition table (its plot is in dpglass.plotting)."""

from __future__ import annotations

from dpglass.paper import oxygen_per_al


def fmt(q: dict | None, digits: int = 3) -> str:
    """'0.301 ± 0.012 eV' from a quantity dict; '—' when missing."""
    if not q or q.get("value") is None:
        return "—"
    value, error, unit = q["value"], q.get("error"), q.get("unit", "")
    unit = "" if unit in ("1", None) else f" {unit}"
    if isinstance(value, list):
        return ", ".join(f"{v:.{digits}g}" for v in value) + unit
    if isinstance(value, bool):
        return str(value)
    text = f"{value:.{digits}g}"
    if error is not None:
        text += f" ± {error:.2g}"
    return text + unit


def summary_markdown(summary: dict) -> str:
    """Human-readable summary of one composition's summary.json."""
    lines = [f"# {summary['composition']} ({summary['formula']})", ""]
    ion = summary.get("ion") or "ion"  # the composition's mobile ion (compositions.<name>.ion)
    fit = summary.get("arrhenius") or {}
    extrapolated = ""
    if summary.get("sigma_303K_extrapolated"):
        used = (fit.get("temperatures_used") or {}).get("value") or []
        extrapolated = (f" (extrapolated from {min(used):g}–{max(used):g} K)" if used
                        else " (extrapolated)")
    lines += ["## Headline numbers", "",
              f"- Activation energy Ea ({_window(fit)}): **{fmt(summary.get('Ea'))}**",
              f"- σ(303 K) from the Arrhenius fit: **{fmt(summary.get('sigma_303K'))}**"
              f"{extrapolated}"]
    if "error" in fit:
        lines.append(f"- No Arrhenius fit: {fit['error']}")
    bounds = fit.get("upper_bounds") or []
    if bounds:
        lines.append(f"- Not diffusive (upper bounds only, not fitted): "
                     + ", ".join(f"{b['temperature']['value']:g} K" for b in bounds))
    lines += _run_length_lines(summary.get("run_lengths") or [], fit)
    flagged = [f for f in summary.get("extrapolation", []) if f.get("extrapolating")]
    if flagged:
        temps = ", ".join(f"{f['temperature']['value']:g}"
                          + (f" (glass {f['glass']})" if f.get("glass") else "") for f in flagged)
        lines.append(f"- **Extrapolation warning**: the DeePMD ensemble disagrees beyond the trust level "
                     f"in {len(flagged)} of {len(summary['extrapolation'])} runs ({temps} K); "
                     f"add training data there before trusting these numbers")
    comparison = fit.get("model_comparison") or {}
    if comparison:
        span = (comparison.get("range") or {}).get("value") or []
        over = f"{span[0]:g}–{span[-1]:g} K" if len(span) == 2 else fmt(comparison.get("range"))
        points = (comparison.get("n_points") or {}).get("value")
        lines.append(f"- Arrhenius vs VFT over {over}" + (f" ({points} temperatures)" if points else "")
                     + f", by {comparison.get('criterion')}: {comparison.get('verdict')}")
    lines += _comparison_lines(summary.get("sigma_303K_comparison") or [])
    lines += ["", "## Transport per temperature", "",
              "Replicas pooled per temperature; where the ion has not diffused, D and σ tracer are "
              "upper bounds (<).", "",
              f"| T (K) | replicas | D({ion}) (cm²/s) | σ tracer (mS/cm) | σ {ion} collective (mS/cm) | "
              f"σ total (mS/cm) | Haven ratio ({ion}) | diffusive | extrapolation |",
              "|---|---|---|---|---|---|---|---|---|"]
    flags: dict = {}  # per temperature; a flagged run (any replica or glass) wins
    for f in summary.get("extrapolation", []):
        if f.get("extrapolating") or f["temperature"]["value"] not in flags:
            flags[f["temperature"]["value"]] = f
    for row in summary["transport"]:
        temperature = row["temperature"]["value"]
        flag = flags.get(temperature, {})
        diffusive = row.get("diffusive")
        D, sigma = row.get("D"), row.get("sigma_tracer")
        if diffusive is False:
            D, sigma = _bound(row.get("D_upper_bound")), _bound(row.get("sigma_tracer_upper_bound"))
        else:
            D, sigma = fmt(D), fmt(sigma)
        verdict = str(diffusive) if diffusive is not False else (
            "False: " + "; ".join(row.get("not_diffusive_because") or []) if
            row.get("not_diffusive_because") else "False")
        replicas = (row.get("n_replicas") or {}).get("value", 1)
        lines.append(f"| {temperature:g} | {replicas} | {D} | {sigma} | "
                     f"{fmt(row.get('sigma_collective_ion'))} | "
                     f"{fmt(row.get('sigma_collective'))} | "
                     f"{fmt(row.get('haven_ratio_ion'))} | {verdict} | {_extrapolation(flag)} |")
    from dpglass.glasses import glass_spread_markdown

    lines += glass_spread_markdown(summary.get("glass_spread"))
    lines += ["", "## Model quality (validation set)", "", "| model | energy RMSE | force RMSE |", "|---|---|---|"]
    for index, quality in enumerate(summary.get("model_quality", [])):
        lines.append(f"| {index} | {fmt(quality.get('energy_rmse'))} | {fmt(quality.get('force_rmse'))} |")
    if summary.get("learning"):
        from dpglass.learning.report import loop_markdown

        lines += ["", loop_markdown(summary["learning"]).replace("# Concurrent learning",
                                                                 "## Concurrent learning", 1)]
        lines += ["", _sweep_after_loop(summary)]
    if summary.get("certificate"):
        from dpglass.learning.certificate import certificate_markdown

        lines += ["", certificate_markdown(summary["certificate"])]
    paper = summary.get("paper") or {}
    if paper:
        lines += ["", "## The paper's values (Dai et al., Nature Energy 2023)", "",
                  "| quantity | paper | this run |", "|---|---|---|"]
        ours = {"Ea_md_303_378K": summary.get("Ea")}
        for row in summary.get("sigma_303K_comparison") or []:
            if row.get("paper_key"):
                ours[row["paper_key"]] = row.get("this_run")
        for key, value in paper.items():
            lines.append(f"| {key} | {fmt(value)} | {fmt(ours.get(key))} |")
    prov = summary.get("provenance", {})
    lines += ["", "## Provenance", "",
              f"- dpglass {prov.get('dpglass_version')}, commit {prov.get('git_commit')}, "
              f"config hash {prov.get('config_sha256_16')}",
              "- " + ", ".join(f"{k} {v}" for k, v in prov.get("packages", {}).items() if v),
              f"- seeds: {prov.get('seeds')}"]
    lines += [f"- labels: {label_line(label)}" for label in prov.get("labels") or []] + [""]
    return "\n".join(lines)


def _run_length_lines(rows: list[dict], fit: dict) -> list[str]:
    """Adaptive runs: where the D error target was met, where the maximum length was reached."""
    adaptive = [r for r in rows if r["stopped_because"] != "fixed length"]
    if not adaptive:
        return []
    by_reason: dict = {}
    for row in adaptive:
        by_reason.setdefault(row["stopped_because"], []).append(row)
    parts = []
    for reason, group in sorted(by_reason.items()):
        temps = sorted({r["temperature"]["value"] for r in group})
        lengths = [r["production"]["value"] for r in group]
        span = (f"{min(lengths):g} ps" if min(lengths) == max(lengths)
                else f"{min(lengths):g}–{max(lengths):g} ps")
        parts.append(f"{reason} at {', '.join(f'{t:g}' for t in temps)} K ({span})")
    used = (fit.get("temperatures_used") or {}).get("value")
    return [f"- Run length (D relative error target {adaptive[0]['target_relative_error']:g}): "
            + "; ".join(parts) + (f". The Arrhenius fit uses the resolved temperatures only: "
                                  f"{', '.join(f'{t:g}' for t in used)} K" if used else "")]


def _bound(q: dict | None) -> str:
    """'< 1.2e-07 cm^2/s' for an upper bound; '—' when missing."""
    if not q or q.get("value") is None:
        return "—"
    return f"< {fmt(q)}"


def _comparison_lines(rows: list[dict]) -> list[str]:
    """σ(303 K) of each conductivity beside the paper's like-for-like number."""
    if not rows:
        return []
    lines = ["", "## σ(303 K), like for like", "",
             "| quantity | this run | paper | what is compared |", "|---|---|---|---|"]
    for row in rows:
        ours = fmt(row.get("this_run")) if row.get("this_run") else f"no fit ({row.get('no_fit')})"
        if row.get("extrapolated"):
            ours += " (extrapolated)"
        lines.append(f"| {row['quantity']} | {ours} | {fmt(row.get('paper'))} | {row['meaning']} |")
    return lines


def _sweep_after_loop(summary: dict) -> str:
    """Where the production sweep (last iteration's models) still extrapolates, and why."""
    flags = summary.get("extrapolation") or []
    bad = [f for f in flags if f.get("extrapolating")]
    if not flags or all(f.get("extrapolating") is None for f in flags):
        return "Production sweep: no model deviation (a single model)."
    if not bad:
        return ("Production sweep with the last iteration's models: not extrapolating at any "
                "temperature.")
    glasses = any(f.get("glass") for f in flags)
    where = ", ".join(f"{f['temperature']['value']:g} K"
                      + (f" in glass {f.get('glass', 0)}" if glasses else "")
                      + _extrapolation(f)[3:] for f in bad)
    loop = summary["learning"]
    why = ("the loop converged on its short explorations, but the longer production runs reach "
           "configurations it never explored" if loop.get("converged") else
           f"the loop ran out ({loop.get('max_iterations')} iterations) before the ensemble was "
           f"accurate there (raise learning.max_iterations or learning.max_frames_per_iteration)")
    return f"Production sweep with the last iteration's models still extrapolates at {where}: {why}."


def _extrapolation(flag: dict) -> str:
    """'yes (95 % > hi)' when the ensemble disagrees beyond the trust level, else 'no'."""
    if flag.get("extrapolating") is None:
        return "—"
    above = (flag.get("fraction_above_hi") or {}).get("value")
    share = f" ({100 * above:.0f} % of frames above the high trust level)" if above is not None else ""
    return ("yes" if flag["extrapolating"] else "no") + share


def _window(fit: dict) -> str:
    window = (fit.get("window") or {}).get("value")
    return f"{window[0]:g}–{window[1]:g} K" if window else "window"


def cross_composition(summaries: list[dict]) -> dict:
    """One row per composition: O per Al, Ea, σ(303 K)."""
    rows = []
    for s in summaries:
        rows.append({"composition": s["composition"], "formula": s["formula"],
                     "O_per_Al": {"value": oxygen_per_al(s["formula"]), "error": None, "unit": "1"},
                     "Ea": s.get("Ea"), "sigma_303K": s.get("sigma_303K")})
    rows.sort(key=lambda r: r["O_per_Al"]["value"])
    return {"compositions": rows}


def cross_composition_markdown(table: dict) -> str:
    lines = ["# All compositions", "", "| composition | formula | O/Al | Ea | σ(303 K) |", "|---|---|---|---|---|"]
    for r in table["compositions"]:
        lines.append(f"| {r['composition']} | {r['formula']} | {r['O_per_Al']['value']:.3g} | "
                     f"{fmt(r['Ea'])} | {fmt(r['sigma_303K'])} |")
    return "\n".join(lines) + "\n"


def label_line(label: dict) -> str:
    """One label description in words: 'CP2K version 2023.1: PBE, DZVP-MOLOPT-SR-GTH basis, GTH-PBE
    pseudopotentials, cutoff 600 Ry (123 frames)'."""
    parts = []
    if label.get("functional"):
        parts.append(str(label["functional"]))
    if label.get("basis_set"):
        parts.append(f"{label['basis_set']} basis")
    if label.get("pseudopotential"):
        parts.append(f"{label['pseudopotential']} pseudopotentials")
    if label.get("cutoff"):
        parts.append(f"cutoff {label['cutoff']['value']:g} {label['cutoff']['unit']}")
    if label.get("model"):
        parts.append(str(label["model"]))
    frames = sum(s.get("frames_labelled") or 0 for s in label.get("sources", []))
    version = label.get("version") or "version unknown"
    return (f"{label['code']} {version}" + (f": {', '.join(parts)}" if parts else "")
            + f" ({frames} frames)")
