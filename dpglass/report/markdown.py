"""What a scientist reads: summary.md per composition and the cross-composition table (its plot is in dpglass.report.figures)."""

from __future__ import annotations

from dpglass.analysis.glasses import SPREAD_QUANTITIES
from dpglass.report.certificate import certificate_markdown
from dpglass.core.paper import oxygen_per_al


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


UNIT_TEXT = {"cm^2/s": "cm²/s", "Å^2": "Å²", "Å^-2": "Å⁻²", "Å^3": "Å³", "1/Å^3": "Å⁻³",
             "1": "", None: ""}


def unit_text(unit: str | None) -> str:
    """'cm^2/s' -> 'cm²/s'; dimensionless -> ''."""
    return UNIT_TEXT.get(unit, unit)


def number(q: dict | None, digits: int = 3) -> str:
    """'0.301 ± 0.012' from a quantity, without its unit (tables carry it in the header)."""
    if not q or q.get("value") is None:
        return "—"
    value, error = q["value"], q.get("error")
    if isinstance(value, list):
        return ", ".join(f"{v:.{digits}g}" for v in value)
    if isinstance(value, bool):
        return str(value)
    return f"{value:.{digits}g}" + (f" ± {error:.2g}" if error is not None else "")


def header_unit(name: str, q: dict | None, default: str) -> str:
    """'σ tracer (mS/cm)': a column name with the unit of its quantities."""
    unit = unit_text((q or {}).get("unit") or default)
    return f"{name} ({unit})" if unit else name


def resolved(q: dict | None, bound: dict | None = None, not_diffusive: bool = False) -> str:
    """A table cell: 'value ± error', or 'not resolved (< bound)' when the quantity is not
    resolved: the run is not diffusive (bound: its upper bound when it has one), or |value| is
    below two standard errors (bound: max(value, 0) + 2σ, as σ and D cannot be negative)."""
    if not q or q.get("value") is None:
        return "—"
    value, error = q["value"], q.get("error")
    if not_diffusive:
        if bound and bound.get("value") is not None:
            return f"not resolved (< {bound['value']:.2g})"
        if error is not None:
            return f"not resolved (< {max(value, 0.0) + 2 * error:.2g})"
        return "not resolved"
    if error is not None and abs(value) < 2 * error:
        return f"not resolved (< {max(value, 0.0) + 2 * error:.2g})"
    return number(q)


class Footnotes:
    """Numbered notes under a table: a cell says '[2]', the note says why."""

    def __init__(self):
        self.notes: list[str] = []
        self.flushed = 0  # notes already listed under an earlier table

    def mark(self, text: str | None) -> str:
        """' [n]' for ``text`` (the same number for the same text within one table)."""
        if not text:
            return ""
        pending = self.notes[self.flushed:]
        if text not in pending:
            self.notes.append(text)
            pending.append(text)
        return f" [{self.flushed + pending.index(text) + 1}]"

    def flush(self) -> list[str]:
        """The notes collected since the last flush, as a list under the table."""
        pending = self.notes[self.flushed:]
        lines = [f"- [{self.flushed + i + 1}] {note}" for i, note in enumerate(pending)]
        self.flushed = len(self.notes)
        return [""] + lines if lines else []


def row_reasons(row: dict) -> list[str]:
    """Every reason a transport row gives: each ``*_because`` field (a sentence, a list of them,
    or a dict with a 'statement'), then the notes it does not already say."""
    reasons = []
    for key, value in row.items():
        if not key.endswith("_because") or not value:
            continue
        label = key[: -len("_because")].replace("_", " ")
        if isinstance(value, dict):
            value = value.get("statement") or value.get("text")
        items = [value] if isinstance(value, str) else [str(v) for v in value or []]
        if items:
            reasons.append(f"{label}: " + "; ".join(items))
    said = " ".join(reasons)
    extra = [part for part in (row.get("note") or "").split("; ") if part and part not in said]
    if extra:
        reasons.append("note: " + "; ".join(dict.fromkeys(extra)))
    return reasons


def summary_markdown(summary: dict) -> str:
    """Human-readable summary of one composition's summary.json."""
    lines = [f"# {summary['composition']} ({summary['formula']})", ""]
    ion = summary.get("ion") or "ion"  # the composition's mobile ion (compositions.<name>.ion)
    fit = summary.get("arrhenius") or {}
    notes = Footnotes()
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
    lines += _comparison_lines(summary.get("sigma_303K_comparison") or [], notes)
    lines += _transport_lines(summary, ion, notes)
    lines += resolution_lines(summary["transport"])

    lines += glass_spread_markdown(summary.get("glass_spread"), notes)
    lines += _mechanism_lines(summary.get("mechanism"), summary.get("paper") or {}, ion, notes)
    lines += _structure_lines(summary.get("structure"))
    lines += _model_quality_lines(summary.get("model_quality", []))
    if summary.get("learning"):
        from dpglass.report.loop import loop_markdown

        lines += ["", loop_markdown(summary["learning"]).replace("# Concurrent learning",
                                                                 "## Concurrent learning", 1)]
        lines += ["", _sweep_after_loop(summary)]
    if summary.get("certificate"):

        lines += ["", certificate_markdown(summary["certificate"])]
    lines += _paper_lines(summary)
    prov = summary.get("provenance", {})
    lines += ["", "## Provenance", "",
              f"- dpglass {prov.get('dpglass_version')}, commit {prov.get('git_commit')}, "
              f"config hash {prov.get('config_sha256_16')}",
              "- " + ", ".join(f"{k} {v}" for k, v in prov.get("packages", {}).items() if v),
              f"- seeds: {prov.get('seeds')}"]
    lines += [f"- labels: {label_line(label)}" for label in prov.get("labels") or []] + [""]
    return "\n".join(lines)


def _transport_lines(summary: dict, ion: str, notes: Footnotes) -> list[str]:
    """The per-temperature transport table: numbers only, units in the header, 'not resolved'
    with its bound where a quantity is not resolved, reasons as numbered notes under it."""
    rows = summary["transport"]
    first = rows[0] if rows else {}
    columns = ["T (K)", "replicas", header_unit(f"D({ion})", first.get("D"), "cm^2/s"),
               header_unit("σ tracer", first.get("sigma_tracer"), "mS/cm"),
               header_unit(f"σ {ion} collective", first.get("sigma_collective_ion"), "mS/cm"),
               header_unit("σ total", first.get("sigma_collective"), "mS/cm"),
               f"Haven ratio ({ion})", "diffusive", "extrapolating"]
    lines = ["", "## Transport per temperature", "",
             "Replicas pooled per temperature. *not resolved (< b)*: the ion has not diffused (b: "
             "the upper bound of D and σ tracer), or |value| is below 2σ (b: the larger of the "
             "value and 0, plus 2σ). [n]: notes below the table.", "",
             "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    flags: dict = {}  # per temperature; a flagged run (any replica or glass) wins
    for f in summary.get("extrapolation", []):
        if f.get("extrapolating") or f["temperature"]["value"] not in flags:
            flags[f["temperature"]["value"]] = f
    for row in rows:
        temperature = row["temperature"]["value"]
        not_diffusive = row.get("diffusive") is False
        cells = [f"{temperature:g}", str((row.get("n_replicas") or {}).get("value", 1)),
                 resolved(row.get("D"), row.get("D_upper_bound"), not_diffusive),
                 resolved(row.get("sigma_tracer"), row.get("sigma_tracer_upper_bound"),
                          not_diffusive),
                 resolved(row.get("sigma_collective_ion"), None, not_diffusive),
                 resolved(row.get("sigma_collective"), None, not_diffusive)]
        ion_collective = cells[4]
        haven = row.get("haven_ratio_ion")
        cells.append("not resolved" if haven and haven.get("value") is not None and (
            not_diffusive or ion_collective.startswith("not resolved")) else resolved(haven))
        reasons = row_reasons(row)
        verdict = {True: "yes", False: "no"}.get(row.get("diffusive"), "—")
        cells.append(verdict + notes.mark(f"{temperature:g} K: " + " — ".join(reasons)
                                          if reasons else None))
        flag = flags.get(temperature, {})
        cells.append(_extrapolation(flag, temperature, notes))
        lines.append("| " + " | ".join(cells) + " |")
    return lines + notes.flush()


def _mechanism_lines(rows: list[dict] | None, paper: dict, ion: str,
                     notes: Footnotes) -> list[str]:
    """How the ion moves, per temperature (dpglass.analysis.mechanism.mechanism_table)."""
    if not rows:
        return []
    a = (rows[0].get("hop_distance") or {}).get("value")
    threshold = (rows[0].get("hop_threshold") or {}).get("value")
    paper_hops = (paper.get("Li_Li_shortest_hops") or {}).get("value") if ion == "Li" else None
    lines = ["", "## Mechanism: how the ion moves", "",
             f"A hop: {ion} leaves its site by more than "
             + (f"{threshold:g} Å" if threshold else "the hop threshold")
             + " and settles at a new one (analysis.hop_events). *plan*: hops per ion the plan "
             f"predicted from its prior D, 6 D t / a² (a = {a:g} Å, analysis.hop_distance_A); "
             "*from D*: the same count from the measured D (< where D is an upper bound). "
             "*He RSD*: the relative error of D that He et al. (2018) expect from the hops "
             "observed, 3.43/√N; *D RSD*: the fitted D's. *framework*: glass (every other species' "
             "MSD plateaus), relaxing (creeps) or flows (diffuses).", ""]
    if paper_hops:
        lines += [f"The paper's shortest Li–Li hops for this composition: "
                  f"{', '.join(f'{x:g}' for x in paper_hops)} Å.", ""]
    columns = ["T (K)", "runs", "framework", "hops per ion", "plan: hops per ion",
               "from D: hops per ion", "hop rate (1/ns per ion)", "back-jump fraction",
               "hop-length peaks (Å)", "residence time (ps)", "He RSD", "D RSD"]
    lines += ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        T = row["temperature"]["value"]
        verdict = row.get("glass") or "—"
        if verdict != "glass" and row.get("glass_because"):
            verdict += notes.mark(f"{T:g} K framework: {row['glass_because']}")
        from_D = number(row.get("hops_per_ion_from_D"))
        if row.get("D_is_upper_bound") and from_D != "—":
            from_D = f"< {from_D}"
        peaks = (row.get("length_peaks") or {}).get("value") or []
        cells = [f"{T:g}", str(row["n_runs"]["value"]), verdict, number(row["hops_per_ion"]),
                 number(row["hops_per_ion_plan"]), from_D, number(row["rate_per_ion_per_ns"]),
                 number(row["back_jump_fraction"], 2), ", ".join(f"{p:.2f}" for p in peaks) or "—",
                 number(row["residence_time_mean"]), number(row["he_relative_error"], 2),
                 number(row["D_relative_error"], 2)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines + notes.flush()


def _structure_lines(structure: dict | None) -> list[str]:
    """The glass's network and total scattering in a few lines."""
    if not structure:
        return []
    lines = ["", "## Structure of the glass", ""]
    clusters = structure.get("al_o_clusters") or {}
    if clusters:
        shares = ", ".join(f"{kind} {q['value']:.0%}" for kind, q in clusters["al_fraction"].items())
        lines.append(f"- Al in Al–O clusters: {shares}; Al-weighted mean cluster size "
                     f"{clusters['mean_size_al_weighted']['value']:.2f} Al, largest "
                     f"{clusters['largest_max']['value']} Al ({clusters['n_frames']['value']} frames)")
    coordination = structure.get("al_coordination") or {}
    if coordination:
        lines.append(f"- Al coordination: {number(coordination['O'])} O + "
                     f"{number(coordination['Cl'])} Cl = {number(coordination['total'])}; "
                     f"bridging-O fraction {number(structure.get('bridging_oxygen_fraction'))}")
    scattering = structure.get("total_scattering")
    if scattering:
        text = (f"- Total scattering ({scattering['radiation']}): G(r) and S(Q) in "
                "analysis/total_scattering.json, G(r) as two columns in total_scattering.gr; ")
        if scattering.get("Rw"):
            span = scattering["Rw_r_range"]["value"]
            text += (f"Rw = {scattering['Rw']['value']:.3f} against {scattering['measured_gr']} "
                     f"over {span[0]:g}–{span[1]:g} Å")
        else:
            text += "no measured G(r) to compare (compositions.<name>.measured_gr)"
        lines.append(text)
    return lines


def _model_quality_lines(qualities: list[dict]) -> list[str]:
    first = qualities[0] if qualities else {}
    lines = ["", "## Model quality (validation set)", "",
             f"| model | {header_unit('energy RMSE', first.get('energy_rmse'), 'meV/atom')} | "
             f"{header_unit('force RMSE', first.get('force_rmse'), 'meV/Å')} |", "|---|---|---|"]
    for index, quality in enumerate(qualities):
        lines.append(f"| {index} | {number(quality.get('energy_rmse'))} | "
                     f"{number(quality.get('force_rmse'))} |")
    return lines


def _paper_lines(summary: dict) -> list[str]:
    paper = summary.get("paper") or {}
    if not paper:
        return []
    lines = ["", "## The paper's values (Dai et al., Nature Energy 2023)", "",
             "| quantity | unit | paper | this run |", "|---|---|---|---|"]
    ours = {"Ea_md_303_378K": summary.get("Ea")}
    for row in summary.get("sigma_303K_comparison") or []:
        if row.get("paper_key"):
            ours[row["paper_key"]] = row.get("this_run")
    for key, value in paper.items():
        lines.append(f"| {key} | {unit_text(value.get('unit')) or '1'} | {number(value)} | "
                     f"{number(ours.get(key))} |")
    return lines


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


# The diffusive criteria by the names of ``resolution.refused_by`` (dpglass.analysis.diffusion).
CRITERIA = {"hop": "hop (one hop per ion by the window start)", "beta": "linear MSD (β)",
            "halves": "the window's two halves agree", "ngp": "after the non-Gaussian peak",
            "D": "positive slope"}


def resolution_lines(rows: list[dict]) -> list[str]:
    """Per temperature of the transport table: D resolved or an upper bound, and why, counted in
    hops (the rows' ``hop_statistics`` and ``resolution``); [] when the rows have neither."""
    lines = [f"- {row['temperature']['value']:g} K: {text}" for row in rows
             if (text := resolution_text(row))]
    return ["", "Resolution per temperature (hops of the hop distance a; expected errors from "
            "He et al. 2018, the model `dpglass plan` uses):", "", *lines] if lines else []


def resolution_text(row: dict) -> str | None:
    """'resolved: 674 hop events of 2 Å ...' or 'upper bound: ... refused by ...; a run of ...'."""
    hops, verdict = row.get("hop_statistics") or {}, row.get("resolution") or {}
    if not hops and not verdict:
        return None

    def value(entry: dict, name: str):
        return (entry.get(name) or {}).get("value")

    a, run = value(hops, "hop_distance"), value(hops, "run_length")
    per_ion, events = value(hops, "hops_per_ion"), value(hops, "hop_events")
    if row.get("diffusive") is not False:
        if events is None:
            return None
        text = (f"resolved: {events:.3g} hop events of {a:g} Å ({per_ion:.2g} per ion in "
                f"{run:.4g} ps), He et al. expect ±{value(hops, 'expected_relative_error'):.0%}")
        effective = value(hops, "effective_hop_events")
        if effective:
            text += f"; the fitted error is worth {effective:.3g} independent hops"
        return text
    text = (f"upper bound: in {run:.4g} ps the ions made at most {per_ion:.2g} hops of {a:g} Å "
            f"each" if per_ion is not None else "upper bound")
    single = verdict.get("single_criterion")
    if single:
        text += (f"; refused by one criterion alone, {CRITERIA.get(single, single)} (β and the "
                 f"non-Gaussian parameter pass; kinisi and pymatgen-analysis-diffusion would "
                 f"report a D)")
    elif verdict.get("refused_by"):
        text += "; refused by: " + ", ".join(CRITERIA.get(name, name)
                                             for name in verdict["refused_by"])
    length = value(verdict, "run_length_to_pass")
    if length:
        at_least = "≥ " if verdict.get("run_length_is_lower_limit") else ""
        error = value(verdict, "expected_relative_error_at_that_length")
        text += (f"; a run of {at_least}{length:.3g} ps would pass the hop criterion"
                 + (f" (He et al. expect ±{error:.0%} then)" if error else ""))
    return text


def _bound(q: dict | None) -> str:
    """'< 1.2e-07 cm^2/s' for an upper bound; '—' when missing."""
    if not q or q.get("value") is None:
        return "—"
    return f"< {fmt(q)}"


def _comparison_lines(rows: list[dict], notes: Footnotes) -> list[str]:
    """σ(303 K) of each conductivity beside the paper's like-for-like number."""
    if not rows:
        return []
    lines = ["", "## σ(303 K), like for like", "",
             "| quantity | this run (mS/cm) | paper (mS/cm) |", "|---|---|---|"]
    for row in rows:
        ours = (resolved(row.get("this_run")) if row.get("this_run") else
                "no fit" + notes.mark(f"{row['quantity']}: {row.get('no_fit')}"))
        if row.get("extrapolated"):
            ours += " (extrapolated)"
        lines.append(f"| {row['quantity']}{notes.mark(row['meaning'])} | {ours} | "
                     f"{number(row.get('paper'))} |")
    return lines + notes.flush()


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


def _extrapolation(flag: dict, temperature: float | None = None,
                   notes: Footnotes | None = None) -> str:
    """'yes [n]' (the note: the share of frames above the high trust level) when the ensemble
    disagrees beyond the trust level, 'no' when not, '—' without a model deviation."""
    if flag.get("extrapolating") is None:
        return "—"
    if not flag["extrapolating"]:
        return "no"
    above = (flag.get("fraction_above_hi") or {}).get("value")
    frames = flag.get("deviation_frames")
    if above is None:
        share = "above the high trust level"
    elif frames:
        share = (f"{round(above * frames)} of {frames} frames, {100 * above:.0f} %, above the high "
                 "trust level")
    else:
        share = f"{100 * above:.0f} % of frames above the high trust level"
    if notes is None:
        return f"yes ({share})"
    where = f"{temperature:g} K" if temperature is not None else ""
    glass = f" (glass {flag['glass']})" if flag.get("glass") else ""
    return "yes" + notes.mark(f"{where}{glass}: the ensemble extrapolates, {share}")


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
    lines = ["# All compositions", "",
             "| composition | formula | O/Al | Ea (eV) | σ(303 K) (mS/cm) |", "|---|---|---|---|---|"]
    for r in table["compositions"]:
        lines.append(f"| {r['composition']} | {r['formula']} | {r['O_per_Al']['value']:.3g} | "
                     f"{resolved(r['Ea'])} | {resolved(r['sigma_303K'])} |")
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
    # CP2K's own version line already names it ('CP2K version 2023.1'); VASP's does not
    name = version if version.lower().startswith(label["code"].lower()) else (
        f"{label['code']} {version}")
    return name + (f": {', '.join(parts)}" if parts else "") + f" ({frames} frames)"


def glass_spread_markdown(spread: dict | None, notes=None) -> list[str]:
    """summary.md lines: one row per temperature and quantity (units in the quantity column,
    why a row has no spread as a numbered note), the Ea line."""
    if not spread:
        return []
    notes = notes if notes is not None else Footnotes()
    lines = ["", "## Glass-to-glass spread", "",
             f"{len(spread['glasses'])} independent glasses (own start cells and melt-quenches, "
             "one ensemble). Mean over glasses; *trajectory error* = error of that mean from each "
             "glass's own statistical error; *glass spread* = standard deviation over glasses.", ""]
    ea = spread.get("Ea")
    if ea:
        lines.append(f"- Ea (tracer σ): {fmt(ea['mean'])}, trajectory error "
                     f"{fmt(ea['trajectory_error'])}, glass spread {fmt(ea['glass_spread'])} "
                     f"(per glass: {', '.join(fmt(f['Ea']) for f in spread['Ea_per_glass'])})")
    for failure in spread.get("Ea_fit_failures", []):
        lines.append(f"- glass {failure['glass']}: no Arrhenius fit ({failure['error']})")
    lines += ["", "| T (K) | quantity (unit) | per glass | mean | trajectory error | glass spread |",
              "|---|---|---|---|---|---|"]
    for row in spread["transport"]:
        for name in SPREAD_QUANTITIES:
            combined = row[name]
            per_glass = row[f"{name}_per_glass"]
            unit = unit_text(next((q.get("unit") for q in per_glass if q), None))
            label = f"{name} ({unit})" if unit else name
            values = ", ".join(number(q) for q in per_glass)
            T = row["temperature"]["value"]
            if "mean" in combined:
                lines.append(f"| {T:g} | {label} | {values} | {number(combined['mean'])} | "
                             f"{number(combined['trajectory_error'])} | "
                             f"{number(combined['glass_spread'])} |")
            else:
                lines.append(f"| {T:g} | {label} | {values} | — | — | —"
                             f"{notes.mark(f'{T:g} K, {name}: ' + combined['note'])} |")
    return lines + notes.flush()
