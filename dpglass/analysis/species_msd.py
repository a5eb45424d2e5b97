"""MSD of every species (the seed paper's Fig. 2c) and whether the framework stays a glass.

Per species: the MSD over all time origins (FFT), drift-corrected by the system's centre of mass,
and the log-log slope β of the MSD over the last decade of the allowed lags (from a tenth of the
window end to the end, the window end being max_lag_fraction of the run), with its standard
error σ_β. A framework species (every species but the mobile ion) *plateaus* when β is not
significantly above PLATEAU_MAX_BETA (β − 2σ_β ≤ PLATEAU_MAX_BETA); otherwise it *diffuses* when β
passes the ion's own diffusive test (|β − 1| within max(0.15, 2σ_β), dpglass.analysis.diffusion)
and is *sub-diffusive* when not. The glass verdict at that temperature: "glass" when every framework
species plateaus, "flows" when one diffuses, "relaxing" otherwise (its framework creeps: a longer
run would tell).
"""

from __future__ import annotations

import numpy as np

from dpglass.analysis.diffusion import (beta_passes, displacement_statistics, lag_grid,
                                        log_log_slope)
from dpglass.analysis.msd import msd_fft
from dpglass.core.units import quantity

PLATEAU_MAX_BETA = 0.3
STORED_CURVE_POINTS = 80
GLASS_VERDICTS = ("glass", "relaxing", "flows")


def species_msd(positions: np.ndarray, symbols, times_ps: np.ndarray,
                max_lag_fraction: float = 0.5) -> dict:
    """Per species: MSD curve (log-spaced lags), β over the last decade of lags with its error,
    the MSD at the window end and the species' state (plateau / sub-diffusive / diffusive)."""
    positions = np.asarray(positions)
    symbols = np.asarray(symbols)
    n_frames = len(times_ps)
    end = int(max_lag_fraction * (n_frames - 1))
    if end < 4:
        raise ValueError(f"{n_frames} frames leave {end} lags (max_lag_fraction "
                         f"{max_lag_fraction}); need at least 4")
    start = max(1, end // 10)
    lags = np.unique(np.geomspace(1, n_frames - 1, STORED_CURVE_POINTS).astype(int))
    out = {}
    for species in dict.fromkeys(symbols.tolist()):
        selected = positions[:, symbols == species]
        msd = msd_fft(selected).sum(axis=1)
        stats = displacement_statistics(selected, lag_grid(end))
        beta, beta_error = log_log_slope(stats, start, end)
        diffusive = beta_passes(beta, beta_error)[0]
        state = ("plateau" if beta - 2 * beta_error <= PLATEAU_MAX_BETA else
                 "diffusive" if diffusive else "sub-diffusive")
        out[species] = {
            "n_atoms": quantity(int(selected.shape[1]), None, "1"),
            "time": quantity(times_ps[lags], None, "ps"),
            "msd": quantity(msd[lags], None, "Å^2"),
            "beta": quantity(beta, beta_error, "1"),
            "beta_window": quantity([float(times_ps[start]), float(times_ps[end])], None, "ps"),
            "msd_at_window_end": quantity(float(msd[end]), None, "Å^2"),
            "state": state,
        }
    return out


def glass_verdict(per_species: dict, ion: str) -> dict:
    """'glass' / 'relaxing' / 'flows' from the framework species' states (see module docstring)."""
    framework = {s: v["state"] for s, v in per_species.items() if s != ion}
    if not framework:
        return {"verdict": None, "because": f"no species besides {ion}"}
    flowing = sorted(s for s, state in framework.items() if state == "diffusive")
    creeping = sorted(s for s, state in framework.items() if state == "sub-diffusive")
    if flowing:
        verdict = "flows"
        because = f"{', '.join(flowing)} diffuse{'s' if len(flowing) == 1 else ''}"
    elif creeping:
        verdict = "relaxing"
        because = (f"{', '.join(creeping)} MSD still rising (β − 2σ > {PLATEAU_MAX_BETA:g}) over "
                   f"the last decade of lags")
    else:
        verdict = "glass"
        because = f"every framework species' MSD plateaus (β − 2σ ≤ {PLATEAU_MAX_BETA:g})"
    return {"verdict": verdict, "because": because,
            "framework": {s: {"state": state,
                              "beta": per_species[s]["beta"],
                              "msd_at_window_end": per_species[s]["msd_at_window_end"]}
                          for s, state in framework.items()}}
