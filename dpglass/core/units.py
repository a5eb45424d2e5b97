"""Physical constants, unit conversions and the JSON quantity convention (a leaf: no dpglass imports).

Trajectories are in LAMMPS metal units (Å, ps, eV). Every number the analysis reports is a
quantity object ``{"value": v, "error": e, "unit": u}``; ``error`` is ``None`` for exact numbers.
Result files are written by dpglass.core.io; formal charges are dpglass.core.composition.FORMAL_CHARGES.
"""

from __future__ import annotations

import math
from typing import Any

BOLTZMANN_EV_PER_K = 8.617333262e-5
BOLTZMANN_J_PER_K = 1.380649e-23
ELEMENTARY_CHARGE_C = 1.602176634e-19
AVOGADRO_PER_MOL = 6.02214076e23

ANGSTROM2_PER_PS_IN_CM2_PER_S = 1e-4  # 1e-16 cm² / 1e-12 s
ANGSTROM3_IN_M3 = 1e-30
ANGSTROM2_PER_PS_IN_M2_PER_S = 1e-8
SIEMENS_PER_M_IN_MS_PER_CM = 10.0  # 1 S/m = 0.01 S/cm = 10 mS/cm

def quantity(value: Any, error: Any = None, unit: str = "1") -> dict:
    """A reported number: value, its 1-sigma uncertainty (None when exact) and its unit."""
    return {"value": _plain(value), "error": _plain(error), "unit": unit}


def _plain(number: Any) -> Any:
    """Turn numpy scalars/arrays into JSON-native numbers; non-finite floats become None."""
    if number is None:
        return None
    if hasattr(number, "tolist"):
        number = number.tolist()
    if isinstance(number, (list, tuple)):
        return [_plain(item) for item in number]
    if isinstance(number, float) and not math.isfinite(number):
        return None
    return number


def einstein_conductivity_mS_per_cm(msd_slope_e2_A2_per_ps: float, volume_A3: float,
                                    temperature_K: float) -> float:
    """σ = (d<|Σ q_i Δr_i|²>/dt) / (6 V k_B T), slope in e²·Å²/ps, result in mS/cm.

    The tracer (Nernst–Einstein) conductivity is the same expression with slope = N q² · 6 D.
    """
    slope_SI = msd_slope_e2_A2_per_ps * ELEMENTARY_CHARGE_C**2 * ANGSTROM2_PER_PS_IN_M2_PER_S
    volume_m3 = volume_A3 * ANGSTROM3_IN_M3
    sigma_S_per_m = slope_SI / (6.0 * volume_m3 * BOLTZMANN_J_PER_K * temperature_K)
    return sigma_S_per_m * SIEMENS_PER_M_IN_MS_PER_CM


def nernst_einstein_mS_per_cm(n_ions: int, charge_e: float, D_cm2_per_s: float,
                              volume_A3: float, temperature_K: float) -> float:
    """Tracer conductivity σ = N q² D / (V k_B T) in mS/cm."""
    D_A2_per_ps = D_cm2_per_s / ANGSTROM2_PER_PS_IN_CM2_PER_S
    return einstein_conductivity_mS_per_cm(n_ions * charge_e**2 * 6.0 * D_A2_per_ps,
                                           volume_A3, temperature_K)


def steps_for(time_ps: float, timestep_fs: float) -> int:
    """MD steps that cover `time_ps` picoseconds at a `timestep_fs` femtosecond timestep."""
    return int(round(time_ps * 1000.0 / timestep_fs))
