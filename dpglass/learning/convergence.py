"""Has the loop converged? Per exploration temperature, the fraction of accurate frames."""

from __future__ import annotations

import numpy as np

from dpglass.core.units import quantity


D_SIGMAS = 2.0  # D "no longer changes" when |ΔD| <= D_SIGMAS × combined 1σ error


def d_difference(a: dict, b: dict) -> tuple[float, float]:
    """|D_a - D_b| and its combined 1σ error (errors in quadrature; a missing error counts 0)."""
    return abs(a["value"] - b["value"]), float(np.hypot(a["error"] or 0.0, b["error"] or 0.0))


def d_stable(current: dict | None, previous: dict | None) -> tuple[bool, str]:
    """Does D at the hottest temperature agree with the previous iteration's within D_SIGMAS σ?"""
    if not current or not previous:
        return False, "no D of the previous iteration to compare with"
    if not (current.get("diffusive") and previous.get("diffusive")):
        return False, "D not measurable (an exploration is not diffusive)"
    a = current["D"]
    diff, sigma = d_difference(a, previous["D"])
    ok = sigma > 0 and diff <= D_SIGMAS * sigma
    return ok, f"|ΔD| = {diff:.3g} vs {D_SIGMAS:g}σ = {D_SIGMAS * sigma:.3g} {a['unit']}"


def verified_row(counts: dict, truths: list[float] | None, trust_low: float | None) -> dict:
    """One temperature's accuracy: by the deviation (counts) and, with spot checks (the true
    max-atom force errors of frames the deviation called accurate), verified. The deviation's
    accurate fraction times the share of its spot checks the reference finds below the low trust
    level estimates the fraction of frames whose true error is below it."""
    row = {**counts}
    if truths:
        accurate = sum(t < trust_low for t in truths)
        row["spot_checks"] = {"frames": len(truths), "accurate": int(accurate),
                              "true_max_f": quantity(max(truths), unit="eV/Å"),
                              "trust_low": quantity(trust_low, unit="eV/Å")}
        row["verified_accurate_fraction"] = counts["accurate_fraction"] * accurate / len(truths)
    else:
        row["spot_checks"] = None
        row["verified_accurate_fraction"] = None
    return row


def iteration_status(iteration: int, per_temperature: dict[float, dict], accurate_fraction: float,
                     previous: dict | None, explore_ps: float,
                     hottest_transport: dict | None = None,
                     require_stable_D: bool = False,
                     spot_checks: dict[float, list[float]] | None = None,
                     trust_low: float | None = None) -> dict:
    """Status after exploration `iteration` (run with the models of iteration-1).

    converged: every temperature has accurate_fraction >= the target; converged_models names the
    iteration whose models passed. With spot checks (per temperature, the true max-atom force
    errors of labelled frames the deviation called accurate: selection.true_max_force_error) a
    temperature passes on its verified accurate fraction (verified_row): an ensemble whose
    members agree on a wrong force does not converge. Once converged, later iterations carry the
    status on. Every exploration runs the same length (learning.explore_ps), so iterations
    compare like for like; a run that blew up counts its unreached frames as failed
    (selection.classify).
    """
    if previous is not None and previous["converged"]:
        return {**previous, "iteration": iteration, "noop": True}
    if spot_checks and trust_low is None:
        raise ValueError("spot checks need the low trust level they are verified against")
    rows = []
    for T in sorted(per_temperature):
        row = verified_row(per_temperature[T], (spot_checks or {}).get(float(T)), trust_low)
        measured = row["verified_accurate_fraction"]
        row["passed"] = (measured if measured is not None
                         else row["accurate_fraction"]) >= accurate_fraction
        rows.append({"temperature_K": T, **row})
    accurate = bool(rows) and all(r["passed"] for r in rows)
    stable, why = d_stable(hottest_transport, (previous or {}).get("hottest_transport"))
    converged = accurate and (stable or not require_stable_D)
    worst_failed = max((r["failed_fraction"] for r in rows), default=0.0)
    return {
        "iteration": iteration,
        "models_from_iteration": iteration - 1,
        "noop": False,
        "accurate_fraction_required": accurate_fraction,
        "temperatures": rows,
        "verified_by_spot_checks": bool(spot_checks),
        "accurate_everywhere": accurate,
        "hottest_transport": hottest_transport,
        "D_stable": stable,
        "D_stable_because": why,
        "require_stable_D": require_stable_D,
        "converged": converged,
        "converged_models": iteration - 1 if converged else None,
        "explore_ps": explore_ps,
        "worst_failed_fraction": worst_failed,
    }


def spot_check_truth(labelling: dict | None) -> dict[float, list[float]] | None:
    """Per exploration temperature, the true max-atom force errors (eV/Å) of its labelled spot
    checks (the `frames` of an iteration's labelling.json, read as `labelling`); None when the
    iteration labelled none (no spot checks configured, or a no-op)."""
    rows = [r for r in (labelling or {}).get("frames") or [] if r["kind"] == "spot_check"]
    if not rows:
        return None
    truth: dict[float, list[float]] = {}
    for row in rows:
        truth.setdefault(float(row["temperature_K"]), []).append(row["true_max_f"])
    return truth
