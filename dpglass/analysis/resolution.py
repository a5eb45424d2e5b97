"""Whether D is resolved at a temperature, pooled over its replicas: hop events and the reason.

The per-run numbers are the diffusion result's ``hop_statistics`` and ``resolution`` (keys in
``dpglass.analysis.conductivity``; computed in ``dpglass.analysis.diffusion``). Replicas are
independent runs, so their hop events and effective hop events add, and He et al.'s expected
relative error of the pooled D is HE_COEFFICIENT / √(all hop events). A temperature is resolved
when any replica is; otherwise its reasons are the union of the replicas', the single criterion
is kept only when every replica names the same one, and the run length that would pass is the
longest any replica asks for.
"""

from __future__ import annotations

import math

from dpglass.core.units import ANGSTROM2_PER_PS_IN_CM2_PER_S, quantity

ADDED = ("hop_events", "effective_hop_events")
# He, Zhu, Epstein & Mo, npj Comput. Mater. 4, 18 (2018): RSD(D) ≈ HE_COEFFICIENT / √(total hops).
HE_COEFFICIENT = 3.43
# Hops per ion over the run for the MSD at the fit window start to reach one hop distance (the
# window starts at about a tenth of the run's length or later).
MIN_HOPS_PER_ION = 10.0


def expected_hops_per_ion(D_cm2_per_s: float, duration_ps: float, hop_distance_A: float) -> float:
    """The plan's hop count: the MSD over the run in hop distances squared, 6 D t / a² (hops of
    one length in uncorrelated directions; back-jumps add hops that this count does not see)."""
    return 6.0 * D_cm2_per_s / ANGSTROM2_PER_PS_IN_CM2_PER_S * duration_ps / hop_distance_A**2


def he_relative_error(total_hops: float) -> float | None:
    """He et al. (2018): relative standard deviation of D from ``total_hops`` ion hops."""
    return HE_COEFFICIENT / math.sqrt(total_hops) if total_hops > 0 else None



def pool_hop_statistics(entries: list[dict | None]) -> dict | None:
    """One ``hop_statistics`` for independent runs at one temperature (None when none has it)."""
    entries = [e for e in entries if e]
    if not entries:
        return None
    if len(entries) == 1:
        return entries[0]

    def values(name):
        return [(e.get(name) or {}).get("value") for e in entries]

    out = {"hop_distance": entries[0]["hop_distance"],
           "run_length": quantity(sum(values("run_length")), None, "ps"),
           "upper_bound": any(e.get("upper_bound") for e in entries)}
    for name in ADDED:
        found = values(name)
        out[name] = quantity(sum(found) if None not in found else None, None, "1")
    for name in ("hops_per_ion", "hops_per_ion_at_window_start"):
        found = values(name)
        out[name] = quantity(sum(found) / len(found), None, "1")
    events = out["hop_events"]["value"]
    expected = HE_COEFFICIENT / math.sqrt(events) if events else None
    out["expected_relative_error"] = quantity(expected, None, "1")
    return out


def pool_resolution(entries: list[dict | None], resolved: bool) -> dict | None:
    """One ``resolution`` for the runs at one temperature (see the module docstring)."""
    entries = [e for e in entries if e]
    if not entries:
        return None
    if resolved:  # a diffusive replica's resolution: nothing refused
        return next((e for e in entries if e.get("resolved")), entries[0])
    if len(entries) == 1:
        return entries[0]
    refused = sorted({name for e in entries for name in e.get("refused_by") or []})
    singles = {e.get("single_criterion") for e in entries}
    longest = max(entries, key=lambda e: (e.get("run_length_to_pass") or {}).get("value") or 0.0)
    return {"resolved": False, "refused_by": refused,
            "single_criterion": singles.pop() if len(singles) == 1 else None,
            "run_length_to_pass": longest.get("run_length_to_pass"),
            "run_length_is_lower_limit": any(e.get("run_length_is_lower_limit")
                                             for e in entries),
            "expected_relative_error_at_that_length":
                longest.get("expected_relative_error_at_that_length")}
