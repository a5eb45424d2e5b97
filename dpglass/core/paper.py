"""The seed paper's numbers (Dai et al., Nature Energy 2023), for side-by-side comparison.

Keyed by formula as written in config (parsed, so 'LiAlCl2.5O0.75' and 'LiAlCl2.50O0.75' match).
Conductivities in mS/cm, energies in eV, temperatures in K.
"""

from __future__ import annotations

from dpglass.core.composition import parse_formula
from dpglass.core.units import quantity

_BY_FORMULA = {
    "LiAlCl2.5O0.75": {
        "Ea_md_303_378K": quantity(0.30, None, "eV"),
        "Ea_experiment": quantity(0.33, None, "eV"),
        "sigma_303K_experiment": quantity(1.52, None, "mS/cm"),
        "sigma_303K_single_Li_experiment": quantity(1.05, None, "mS/cm"),
        "Li_transference_number": quantity(0.69, None, "1"),
        "Tg_DMA": quantity(273.15 - 16.8, None, "K"),
        "Li_Li_shortest_hops": quantity([2.55, 3.08], None, "Å"),
        "Al_Al_distance": quantity(2.55, None, "Å"),
    },
    "NaAlCl2.5O0.75": {
        "sigma_303K_experiment": quantity(1.33, None, "mS/cm"),
        "Tg_DMA": quantity(273.15 - 25.5, None, "K"),
    },
    "LiAlCl4": {
        "sigma_literature": quantity(1.2e-3, None, "mS/cm"),
        "Li_Li_shortest_hops": quantity([4.22, 4.88], None, "Å"),
        "Al_Al_distance": quantity(4.63, None, "Å"),
    },
    "NaAlCl4": {"sigma_literature": quantity(3.5e-4, None, "mS/cm")},
}
_INDEX = {frozenset(parse_formula(f).counts.items()): v for f, v in _BY_FORMULA.items()}


def paper_values(formula: str) -> dict:
    """The paper's numbers for this formula ({} when the paper has none)."""
    return _INDEX.get(frozenset(parse_formula(formula).counts.items()), {})


def paper_arrhenius(formula: str) -> dict:
    """The Arrhenius plot's reference of this formula: the paper's MD Ea (303–378 K) and the
    experimental σ(303 K) where it has them, else the literature σ; {} when it has neither."""
    values = paper_values(formula)
    out = {}
    if "Ea_md_303_378K" in values:
        out["Ea_md"] = values["Ea_md_303_378K"]
    for key in ("sigma_303K_experiment", "sigma_literature"):
        if key in values:
            out[key] = values[key]
            break
    return out


def paper_rdf_distances(formula: str) -> dict:
    """The paper's pair distances of this formula, keyed as RDF pairs ('Li-Li': quantity in Å)."""
    values = paper_values(formula)
    names = {"Li_Li_shortest_hops": "Li-Li", "Al_Al_distance": "Al-Al"}
    out = {}
    for key, pair in names.items():
        if key in values:
            value = values[key]["value"]
            out[pair] = quantity(value if isinstance(value, list) else [value], None, "Å")
    return out


def oxygen_per_al(formula: str) -> float:
    """x in MAlCl(4-2x)Ox: oxygen atoms per aluminium (0 when the formula has no Al)."""
    counts = parse_formula(formula).counts
    return float(counts.get("O", 0) / counts["Al"]) if "Al" in counts else 0.0
