"""Independent glasses (structure.glasses): the glass-to-glass spread of D(T), σ(T) and Ea, kept
apart from the trajectory (statistical) error of each glass.

Each glass is its own melt-quench of the same composition; its runs (replicas pooled) give a value
with a trajectory error. Across glasses the summary reports

* mean: the plain mean over glasses (each glass is one sample of the configuration ensemble);
* trajectory_error: the error of that mean from the per-glass trajectory errors alone,
  √(Σ e_g²) / n;
* glass_spread: the standard deviation over glasses (n - 1 in the denominator), the
  configurational scatter that a single-cell study cannot see; glass_spread / √n is its share of
  the error of the mean.
"""

from __future__ import annotations

import math

import numpy as np

from dpglass.core.units import quantity

SPREAD_QUANTITIES = ("D", "sigma_tracer")


def _combine(values: list[float], errors: list[float], unit: str) -> dict:
    n = len(values)
    return {"n_glasses": n,
            "mean": quantity(float(np.mean(values)), None, unit),
            "trajectory_error": quantity(math.sqrt(sum(e**2 for e in errors)) / n, None, unit),
            "glass_spread": quantity(float(np.std(values, ddof=1)) if n > 1 else None, None, unit)}


def glass_spread(results: list[dict], window: tuple[float, float],
                 glass_transition_K: float | None = None) -> dict | None:
    """Per temperature and for Ea (tracer σ): per-glass values, mean, trajectory error and glass
    spread. None with fewer than two glasses."""
    from dpglass.analysis.arrhenius import fit_arrhenius
    from dpglass.analysis.arrhenius import pool_replicas

    by_glass: dict[int, list[dict]] = {}
    for result in results:
        by_glass.setdefault(int(result.get("glass", 0)), []).append(result)
    if len(by_glass) < 2:
        return None
    glasses = sorted(by_glass)
    pooled = {g: {row["temperature"]["value"]: row for row in pool_replicas(by_glass[g])}
              for g in glasses}
    temperatures = sorted(set.intersection(*(set(p) for p in pooled.values())))
    rows = []
    for temperature in temperatures:
        row = {"temperature": quantity(temperature, None, "K")}
        for name in SPREAD_QUANTITIES:
            entries = [pooled[g][temperature] for g in glasses]
            per_glass = [e.get(name) if e.get("diffusive", True) else None for e in entries]
            row[f"{name}_per_glass"] = per_glass
            usable = [q for q in per_glass if q and q["value"] is not None and q["error"] is not None]
            if len(usable) == len(glasses):
                row[name] = _combine([q["value"] for q in usable], [q["error"] for q in usable],
                                     usable[0]["unit"])
            else:
                row[name] = {"n_glasses": len(usable),
                             "note": "not diffusive (or no error) in every glass: no spread"}
        rows.append(row)
    fits, failures = [], []
    for g in glasses:
        try:
            fit = fit_arrhenius(by_glass[g], window=window, quantity_name="sigma_tracer",
                                glass_transition_K=glass_transition_K)
            fits.append({"glass": g, "Ea": fit["Ea"], "sigma_303K": fit["sigma_303K"]})
        except ValueError as err:
            failures.append({"glass": g, "error": str(err)})
    ea = None
    if len(fits) == len(glasses):
        ea = _combine([f["Ea"]["value"] for f in fits], [f["Ea"]["error"] for f in fits], "eV")
    return {"glasses": glasses, "transport": rows, "Ea_per_glass": fits,
            "Ea_fit_failures": failures, "Ea": ea}
