"""The loop's record per composition: loop.json, a table (loop.md) and one plot (loop.png)."""

from __future__ import annotations

from pathlib import Path

from dpglass.core.io import read_json, write_json, write_text
from dpglass.core.units import quantity


def mean_over_members(rows: list[dict]) -> dict:
    """Energy and force RMSE of an ensemble from its members' (dp test) rows: the mean, with the
    members' spread as its error (std / sqrt(n); None for one member)."""
    import numpy as np

    out = {}
    for key, unit in (("energy_rmse", "meV/atom"), ("force_rmse", "meV/Å"),
                      ("energy_offset", "meV/atom"), ("energy_rmse_without_offset", "meV/atom")):
        if not all(r.get(key) for r in rows):  # records written before the offset was measured
            continue
        values = np.array([r[key]["value"] for r in rows])
        error = float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else None
        out[key] = quantity(float(values.mean()), error, unit)
    return out


def _mean_validation(paths: list[str], key: str = "validation") -> dict:
    rows = [(read_json(p) or {}).get(key) for p in paths]
    rows = [r for r in rows if r]
    if not rows:
        return {"energy_rmse": None, "force_rmse": None, "trained": False}
    return {**mean_over_members(rows), "trained": any(read_json(p).get("trained") for p in paths)}


def loop_record(*, convergence_paths: list[str], selection_paths: list[str],
                labelling_paths: list[str], validation_paths: list[str], n_models: int,
                max_iterations: int) -> dict:
    statuses = [read_json(p) for p in convergence_paths]
    selections = [read_json(p) for p in selection_paths]
    labellings = [read_json(p) for p in labelling_paths]
    rows = []
    for status in statuses:
        k = status["iteration"]
        row = {"iteration": k, "models_from_iteration": k - 1, "noop": status["noop"],
               "explore_ps": quantity(status.get("explore_ps"), unit="ps"),
               "temperatures": [] if status["noop"] else status["temperatures"],
               "hottest_transport": None if status["noop"] else status.get("hottest_transport")}
        selection, labelling = selections[k - 1], labellings[k - 1]
        row["frames_selected"] = selection["selected"]
        row["spot_checks"] = selection.get("spot_checks", 0)
        row["frames_labelled"] = labelling["frames_labelled"]
        row["frames_failed_labelling"] = labelling["frames_failed"]
        # the models' true error on the spot checks of each temperature (frames the deviation
        # called accurate): RMS of the error vector, and the max-atom error the convergence
        # compared with the low trust level (the deviation's own statistic)
        truth = {r["temperature_K"]: r for r in labelling.get("true_errors") or []
                 if r["kind"] == "spot_check"}
        for t in row["temperatures"]:
            spot = truth.get(float(t["temperature_K"]))
            t["spot_check_error"] = spot["force_error_vector_rms"] if spot else None
        if k <= max_iterations:
            row["validation_after_retraining"] = _mean_validation(
                validation_paths[(k - 1) * n_models:k * n_models])
        rows.append(row)
    final = statuses[-1]
    converged = bool(final["converged"])
    verification = _spot_check_verification(statuses)

    def spots(r):
        v = r.get("spot_checks")
        return (f"; spot checks {v['accurate']} of {v['frames']} truly accurate, verified "
                f"{r['verified_accurate_fraction']:.1%}" if v else "")

    verdict = (f"converged: the models of iteration {final['converged_models']}"
               + (" (the first training)" if final["converged_models"] == 0 else "") + " passed "
               f"(accurate fraction >= {final['accurate_fraction_required']:g} at every "
               f"exploration temperature" + (", verified by their spot checks)"
                                            if final.get("verified_by_spot_checks") else
                                            "; NOT verified: no spot checks labelled)")
               if converged else
               f"ran out: {max_iterations} iteration(s) and the final models (iteration "
               f"{max_iterations}) still fail the accuracy test at "
               + ", ".join(f"{r['temperature_K']:g} K ({r['accurate_fraction']:.1%} accurate by "
                           f"the deviation{spots(r)})"
                           for r in final["temperatures"] if not r["passed"]))
    if verification and verification["missed"]:
        verdict += (f". The deviation missed the error on {verification['missed']} of "
                    f"{verification['frames']} spot checks of the final check (true max-atom "
                    f"|ΔF| up to {verification['largest']['value']:.2f} eV/Å against the low "
                    f"trust level {verification['trust_low']['value']:g} eV/Å, deviation below "
                    f"it): the ensemble underestimates its error there")
    required = next((s.get("accurate_fraction_required") for s in statuses if not s["noop"]),
                    None)
    # the spot checks' labelling: the exploration the verification read them from
    profile = (error_profile(labellings[verification["iteration"] - 1],
                             verification["trust_low"]["value"], required)
               if verification and verification["iteration"] <= len(labellings) else None)
    if profile and not converged:
        verdict += ". " + profile["text"]
    return {"converged": converged, "converged_at_iteration": final["converged_models"],
            "spot_check_verification": verification, "error_profile": profile,
            "accurate_fraction_required": required,
            "max_iterations": max_iterations, "verdict": verdict,
            # the first training's models, measured by iteration 1 on the same validation frames
            "first_training_validation": (_mean_validation(validation_paths[:n_models],
                                                           "validation_before")
                                          if validation_paths else None),
            "iterations": rows}


def _spot_check_verification(statuses: list[dict]) -> dict | None:
    """The true error of the models the loop ends with, on the spot checks of the last exploration
    that ran (the one that converged, or the final check): how many the reference finds at or
    above the low trust level although the deviation called them accurate (None without spot
    checks)."""
    last = next((s for s in reversed(statuses) if not s["noop"]), None)
    rows = [t["spot_checks"] for t in (last or {}).get("temperatures", []) if t.get("spot_checks")]
    if not rows:
        return None
    frames = sum(r["frames"] for r in rows)
    return {"iteration": last["iteration"], "models_from_iteration": last["iteration"] - 1,
            "frames": frames, "missed": frames - sum(r["accurate"] for r in rows),
            "largest": quantity(max(r["true_max_f"]["value"] for r in rows), unit="eV/Å"),
            "trust_low": rows[0]["trust_low"]}


def error_profile(labelling: dict | None, trust_low: float, target: float) -> dict | None:
    """Where the models' error is and what accuracy convergence needs, from the spot checks of
    one labelling (labelling.json's `frames`: true_max_f, rms_f, worst_species; `true_errors`:
    force RMSE by species). A frame passes when its worst atom is below `trust_low`; its worst
    atom sits true_max_f / rms_f above its RMS error, so a fraction `target` of frames passes
    once the RMS error is below trust_low over that ratio's `target` quantile (assuming the
    shape of the error stays as the potential improves). None without profiled spot checks."""
    import numpy as np
    from collections import Counter

    rows = [r for r in (labelling or {}).get("frames") or []
            if r["kind"] == "spot_check" and r.get("rms_f") and r.get("worst_species")]
    if not rows:
        return None
    ratios = np.array([r["true_max_f"] / r["rms_f"] for r in rows])
    rms = np.array([r["rms_f"] for r in rows])
    ratio = float(np.quantile(ratios, target))
    needed = trust_low / ratio
    worst = Counter(r["worst_species"] for r in rows).most_common()
    groups = [g for g in (labelling.get("true_errors") or []) if g["kind"] == "spot_check"
              and g.get("force_rmse_by_species")]
    by_species = {}
    for symbol in sorted({s for g in groups for s in g["force_rmse_by_species"]}):
        weights = [(g["frames"], g["force_rmse_by_species"][symbol]["value"]) for g in groups
                   if symbol in g["force_rmse_by_species"]]
        by_species[symbol] = quantity(
            float(np.sqrt(sum(n * v ** 2 for n, v in weights) / sum(n for n, _ in weights))),
            unit="meV/Å")
    species_text = ", ".join(f"{s} {q['value']:.0f}" for s, q in
                             sorted(by_species.items(), key=lambda kv: -kv[1]["value"]))
    text = (f"Where the error is: the worst atom of a spot check is "
            + ", ".join(f"{s} in {n}" for s, n in worst) + f" of {len(rows)}"
            + (f" (force RMSE by species on the spot checks: {species_text} meV/Å)"
               if species_text else "")
            + f"; a frame's worst atom sits {ratios.min():.1f}–{ratios.max():.1f}x above its RMS "
            f"abs(ΔF) (now {np.sqrt(np.mean(rms ** 2)):.3f} eV/Å), so {target:.0%} of frames "
            f"pass {trust_low:g} eV/Å only below an RMS abs(ΔF) of {needed:.3f} eV/Å, a force "
            f"RMSE of ~{1000 * needed / np.sqrt(3):.0f} meV/Å per component (if the error keeps "
            f"its shape): it takes a more accurate potential (capacity, training, data, a "
            f"student that sees as far as the teacher), not more iterations; "
            f"benchmarks/bench_training_budget.py and bench_teacher_locality.py measure how far "
            f"training and the student's cutoff go against this teacher")
    return {"spot_checks": len(rows), "worst_species": dict(worst),
            "force_rmse_by_species": by_species,
            "worst_to_rms_ratio": quantity([float(ratios.min()), float(ratios.max())], unit="1"),
            "worst_to_rms_ratio_quantile": quantity(ratio, unit="1"),
            "rms_force_error_now": quantity(float(np.sqrt(np.mean(rms ** 2))), unit="eV/Å"),
            "rms_force_error_needed": quantity(needed, unit="eV/Å"),
            "force_rmse_needed": quantity(1000 * needed / float(np.sqrt(3)), unit="meV/Å"),
            "text": text}


def _hottest_d(transport: dict | None) -> str:
    if not transport:
        return "—"
    T = transport.get("temperature_K")
    if transport.get("diffusive") and transport.get("D"):
        d = transport["D"]
        return f"{d['value']:.3g} ± {(d['error'] or float('nan')):.2g} {d['unit']} ({T:g} K)"
    bound = transport.get("D_upper_bound") or {}
    if bound.get("value") is not None:
        return f"< {bound['value']:.3g} {bound['unit']} ({T:g} K, not diffusive)"
    return f"not measured ({T:g} K)"


def _spot_cell(t: dict) -> str:
    v = t.get("spot_checks")
    if not v:
        return "—"
    rms = t.get("spot_check_error") or {}
    return (f"{v['accurate']} of {v['frames']} ({v['true_max_f']['value']:.2f} eV/Å"
            + (f"; {rms['value']:.0f} meV/Å" if rms.get("value") is not None else "") + ")")


def loop_markdown(record: dict, title: str = "") -> str:
    lines = [f"# Concurrent learning{' — ' + title if title else ''}", "",
             f"**{record['verdict']}**",
             "", "Exploration k runs the models of iteration k-1 (0 = the first training).", "",
             "| iteration | T (K) | frames | accurate | candidate | failed | spot checks truly "
             "accurate (largest true max-atom abs(ΔF); RMS abs(ΔF)) | verified accurate | "
             "selected | labelled | val. energy RMSE (meV/atom) | "
             "val. force RMSE (meV/Å) | ion D at the hottest T |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]

    def pm(q):
        if not q or q.get("value") is None:
            return "—"
        error = q.get("error")
        return f"{q['value']:.3g}" + (f" ± {error:.2g}" if error is not None else "")

    def energy(val):
        cell = pm(val.get("energy_rmse"))
        if val.get("energy_offset") and val.get("energy_rmse_without_offset"):
            cell += (f" (offset {pm(val['energy_offset'])}, without it "
                     f"{pm(val['energy_rmse_without_offset'])})")
        return cell

    first = record.get("first_training_validation") or {}
    if first:
        lines.append(f"| 0 (first training) | | | | | | | | | | {energy(first)} | "
                     f"{pm(first.get('force_rmse'))} | |")
    for row in record["iterations"]:
        val = row.get("validation_after_retraining") or {}
        f = val.get("force_rmse") or {}

        if row["noop"]:
            lines.append(f"| {row['iteration']} | — (converged earlier, no-op) | | | | | | | "
                         f"{row.get('frames_selected', '—')} | {row.get('frames_labelled', '—')} | "
                         f"{energy(val)} | {pm(f)} | |")
            continue
        for n, t in enumerate(row["temperatures"]):
            last = n == len(row["temperatures"]) - 1
            lines.append(
                f"| {row['iteration']} | {t['temperature_K']:g} | {t['frames']} | "
                f"{t['accurate_fraction']:.1%} | {t['candidate_fraction']:.1%} | "
                f"{t['failed_fraction']:.1%}"
                + (f" (MD blew up: {t['unreached']} frames never reached)" if t.get("unreached")
                   else "") + f" | {_spot_cell(t)} | "
                + (f"{t['verified_accurate_fraction']:.1%}"
                   if t.get("verified_accurate_fraction") is not None else "—") + " | "
                + (f"{row.get('frames_selected', '—')} | {row.get('frames_labelled', '—')} | "
                   f"{energy(val)} | {pm(f)} | {_hottest_d(row.get('hottest_transport'))} |"
                   if last else "| | | | |"))
    lines += ["", "Spot checks: frames the deviation called accurate, drawn at random and labelled; "
              "their true error is what the ensemble's agreement cannot show. Truly accurate: "
              "the true max-atom force error (the deviation's statistic with the reference in "
              "place of the ensemble mean: max over atoms of the members' RMS abs(ΔF)) below the "
              "low trust level. Verified accurate = accurate fraction × the truly accurate share "
              "of the spot checks: the fraction the convergence test compares with the target. "
              "RMS abs(ΔF): RMS over atoms and frames, mean over the members.",
              "", "Validation RMSE: mean over the ensemble members ± its standard error, on the "
              "first training's validation frames (time blocks of every melt-quench phase, never "
              "trained on), after that iteration's retraining; iteration 0 is the first training. "
              "Energy offset: the mean energy error per atom, a constant shift of the per-type "
              "energy bias (no force, no dynamics at a fixed composition; retraining with a small "
              "energy weight lets it drift); without it: the error of energy differences between "
              "frames. Every exploration runs the same length."]
    return "\n".join(lines) + "\n"


def loop_report(*, convergence_paths, selection_paths, labelling_paths, validation_paths,
                n_models, max_iterations, out_json, out_markdown, out_png) -> None:
    record = loop_record(convergence_paths=convergence_paths, selection_paths=selection_paths,
                         labelling_paths=labelling_paths, validation_paths=validation_paths,
                         n_models=n_models, max_iterations=max_iterations)
    write_json(out_json, record)
    write_text(out_markdown, loop_markdown(record))
    from dpglass.report.figures import plot_learning_loop

    plot_learning_loop(record, out_png, title=Path(out_png).parent.parent.name)  # results/<comp>/learning/
    print(record["verdict"])
