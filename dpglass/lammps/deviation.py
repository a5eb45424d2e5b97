"""Model deviation of an ensemble along a run: reading `pair_style deepmd ... out_file` and the verdict."""

from __future__ import annotations

import glob
from pathlib import Path

from dpglass.core.units import quantity


def read_model_deviation(run_dir: str | Path, from_step: int = 0):
    """Rows (step, max_devi_f) of all chunk files, each step once, steps >= from_step."""
    import numpy as np

    rows: dict[int, float] = {}
    for path in sorted(glob.glob(str(Path(run_dir) / "model_devi" / "chunk*.out"))):
        data = np.loadtxt(path, comments="#", ndmin=2)
        for row in data:
            step = int(row[0])
            if step >= from_step and step not in rows:
                rows[step] = float(row[4])  # step max_devi_v min_devi_v avg_devi_v max_devi_f ...
    steps = sorted(rows)
    return np.array(steps, dtype=int), np.array([rows[s] for s in steps])


def deviation_summary(max_devi_f, trust_levels: list[float], max_fraction: float) -> dict:
    """Fractions of frames above the low/high trust levels; `extrapolating` when above-high exceeds max_fraction."""
    import numpy as np

    lo, hi = trust_levels
    devi = np.asarray(max_devi_f, dtype=float)
    if devi.size == 0:
        raise ValueError("no model-deviation frames were written")
    above_hi = float((devi > hi).mean())
    return {
        "frames": int(devi.size),
        "trust_levels": quantity([lo, hi], unit="eV/Å"),
        "max_devi_f_mean": quantity(float(devi.mean()), unit="eV/Å"),
        "max_devi_f_max": quantity(float(devi.max()), unit="eV/Å"),
        "fraction_above_lo": quantity(float((devi > lo).mean())),
        "fraction_above_hi": quantity(above_hi),
        "max_fraction_above_hi": max_fraction,
        "extrapolating": bool(above_hi > max_fraction),
    }
