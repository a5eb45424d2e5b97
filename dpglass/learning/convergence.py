"""Has the loop converged? Per exploration temperature, the fraction of accurate frames."""

from __future__ import annotations

import numpy as np


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


def iteration_status(iteration: int, per_temperature: dict[float, dict], accurate_fraction: float,
                     previous: dict | None, explore_ps: float,
                     hottest_transport: dict | None = None,
                     require_stable_D: bool = False) -> dict:
    """Status after exploration `iteration` (run with the models of iteration-1).

    converged: every temperature has accurate_fraction >= the target; converged_models names the
    iteration whose models passed. Once converged, later iterations carry the status on.
    Every exploration runs the same length (learning.explore_ps), so iterations compare like for
    like; a run that blew up counts its unreached frames as failed (selection.classify).
    """
    if previous is not None and previous["converged"]:
        return {**previous, "iteration": iteration, "noop": True}
    rows = []
    for T in sorted(per_temperature):
        counts = per_temperature[T]
        rows.append({"temperature_K": T, **counts,
                     "passed": counts["accurate_fraction"] >= accurate_fraction})
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
