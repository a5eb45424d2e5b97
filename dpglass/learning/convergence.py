"""Has the loop converged? Per exploration temperature, the fraction of accurate frames."""

from __future__ import annotations


def iteration_status(iteration: int, per_temperature: dict[float, dict], accurate_fraction: float,
                     previous: dict | None, explore_ps: float, shorten_above_fraction: float) -> dict:
    """Status after exploration `iteration` (run with the models of iteration-1).

    converged: every temperature has accurate_fraction >= the target; converged_models names the
    iteration whose models passed. Once converged, later iterations carry the status on.
    next_explore_ps halves when more than shorten_above_fraction of frames failed at any
    temperature (the ensemble is far off there: long runs would mostly collect garbage).
    """
    if previous is not None and previous["converged"]:
        return {**previous, "iteration": iteration, "noop": True}
    rows = []
    for T in sorted(per_temperature):
        counts = per_temperature[T]
        rows.append({"temperature_K": T, **counts,
                     "passed": counts["accurate_fraction"] >= accurate_fraction})
    converged = bool(rows) and all(r["passed"] for r in rows)
    worst_failed = max((r["failed_fraction"] for r in rows), default=0.0)
    shorten = worst_failed > shorten_above_fraction
    return {
        "iteration": iteration,
        "models_from_iteration": iteration - 1,
        "noop": False,
        "accurate_fraction_required": accurate_fraction,
        "temperatures": rows,
        "converged": converged,
        "converged_models": iteration - 1 if converged else None,
        "explore_ps": explore_ps,
        "worst_failed_fraction": worst_failed,
        "next_explore_ps": explore_ps / 2.0 if shorten else explore_ps,
        "shortened_next": shorten,
    }
