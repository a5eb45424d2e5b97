"""Total scattering of a simulated glass: the neutron- (or X-ray-) weighted pair distribution
function G(r) and structure factor S(Q) that a diffraction experiment measures, and the R-factor
against a measured G(r) (the seed paper's Supplementary Fig. 6 validates its glass this way).

Conventions (Keen, J. Appl. Cryst. 34, 172 (2001); Faber–Ziman normalisation):

* c_a: atomic fraction of species a, b_a: its weight (neutron coherent scattering length, fm, or
  X-ray form factor, electrons), ⟨b⟩ = Σ c_a b_a, ρ0: atoms per Å³.
* total g(r) = Σ_ab c_a c_b b_a b_b g_ab(r) / ⟨b⟩² (→ 1 at large r);
* G(r) = 4π ρ0 r [g(r) − 1] in Å⁻², the reduced PDF of PDFgui / PDFgetN / PDFgetX3;
* S(Q) = 1 + Σ_ab c_a c_b b_a b_b [S_ab(Q) − 1] / ⟨b⟩², with
  S_ab(Q) − 1 = 4π ρ0 ∫_0^r_max r² [g_ab(r) − 1] sin(Qr)/(Qr) M(r) dr and M(r) the Lorch window
  sin(πr/r_max)/(πr/r_max) that damps the ripples of stopping the integral at half the cell.

Neutron weights are the bound coherent scattering lengths of the natural elements of Sears,
Neutron News 3(3), 26–37 (1992) (the NIST NCNR table; International Tables C, 4.4.4). X-ray
weights are the neutral-atom form factors f(Q) = Σ a_i exp(−b_i (Q/4π)²) + c of International
Tables for Crystallography Vol. C (1992), Table 6.1.1.4 (Cromer–Mann coefficients); S(Q) uses f(Q)
at each Q, G(r) the Q = 0 values f(0) ≈ Z (the usual r-space approximation: an X-ray G(r) is the
transform of S(Q) with Q-dependent weights, which mixes the partials slightly differently).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dpglass.core.units import quantity

RADIATIONS = ("neutron", "xray")

# Bound coherent scattering lengths b_c (fm) of the natural elements, Sears (1992), the elements
# dpglass.core.composition knows. B is strongly absorbing (b_c = 5.30 − 0.213i fm): the real part is
# used, and an experiment on natural B would use 11B.
NEUTRON_SCATTERING_LENGTH_FM = {
    "Li": -1.90, "Na": 3.63, "K": 3.67, "Mg": 5.375, "Ca": 4.70, "Al": 3.449, "Ga": 7.288,
    "B": 5.30, "Si": 4.1491, "P": 5.13, "O": 5.803, "S": 2.847, "Se": 7.970, "F": 5.654,
    "Cl": 9.5770, "Br": 6.795, "I": 5.28,
}
NEUTRON_SOURCE = ("V. F. Sears, Neutron News 3(3), 26-37 (1992): bound coherent scattering "
                  "lengths of the natural elements (NIST NCNR table)")

# Cromer–Mann coefficients (a1..a4, b1..b4 in Å², c) of the neutral atoms, International Tables
# for Crystallography Vol. C (1992), Table 6.1.1.4.
XRAY_FORM_FACTOR_COEFFICIENTS = {
    "Li": ((1.12820, 0.750800, 0.617500, 0.465300), (3.95460, 1.05240, 85.3905, 168.261), 0.037700),
    "Na": ((4.76260, 3.17360, 1.26740, 1.11280), (3.28500, 8.84220, 0.313600, 129.424), 0.676000),
    "K": ((8.21860, 7.43980, 1.05190, 0.865900), (12.7949, 0.774800, 213.187, 41.6841), 1.42280),
    "Mg": ((5.42040, 2.17350, 1.22690, 2.30730), (2.82750, 79.2611, 0.380800, 7.19370), 0.858400),
    "Ca": ((8.62660, 7.38730, 1.58990, 1.02110), (10.4421, 0.659900, 85.7484, 178.437), 1.37510),
    "Al": ((6.42020, 1.90020, 1.59360, 1.96460), (3.03870, 0.742600, 31.5472, 85.0886), 1.11510),
    "Ga": ((15.2354, 6.70060, 4.35910, 2.96230), (3.06690, 0.241200, 10.7805, 61.4135), 1.71890),
    "B": ((2.05450, 1.33260, 1.09790, 0.706800), (23.2185, 1.02100, 60.3498, 0.140300), -0.19320),
    "Si": ((6.29150, 3.03530, 1.98910, 1.54100), (2.43860, 32.3337, 0.678500, 81.6937), 1.14070),
    "P": ((6.43450, 4.17910, 1.78000, 1.49080), (1.90670, 27.1570, 0.526000, 68.1645), 1.11490),
    "O": ((3.04850, 2.28680, 1.54630, 0.867000), (13.2771, 5.70110, 0.323900, 32.9089), 0.250800),
    "S": ((6.90530, 5.20340, 1.43790, 1.58630), (1.46790, 22.2151, 0.253600, 56.1720), 0.866900),
    "Se": ((17.0006, 5.81960, 3.97310, 4.35430), (2.40980, 0.272600, 15.2372, 43.8163), 2.84090),
    "F": ((3.53920, 2.64120, 1.51700, 1.02430), (10.2825, 4.29440, 0.261500, 26.1476), 0.277600),
    "Cl": ((11.4604, 7.19640, 6.25560, 1.64550), (0.010400, 1.16620, 18.5194, 47.7784), -9.5574),
    "Br": ((17.1789, 5.23580, 5.63770, 3.98510), (2.17230, 16.5796, 0.260900, 41.4328), 2.95570),
    "I": ((20.1472, 18.9949, 7.51380, 2.27350), (4.34700, 0.381400, 27.7660, 66.8776), 4.07120),
}
XRAY_SOURCE = ("International Tables for Crystallography Vol. C (1992), Table 6.1.1.4: "
               "Cromer-Mann coefficients of the neutral-atom form factors")

# Bin width of the partial g(r) behind G(r), Å; Q grid of S(Q) (Å⁻¹).
PDF_BIN_A = 0.05
Q_STEP_PER_A = 0.02
# A measured G(r) must overlap the simulated range in at least this many points.
MIN_OVERLAP_POINTS = 10


def check_radiation(radiation: str, key: str = "analysis.total_scattering.radiation") -> str:
    if radiation not in RADIATIONS:
        raise ValueError(f"{key}: {radiation!r} is not one of {list(RADIATIONS)}")
    return radiation


def check_elements(elements, radiation: str) -> None:
    """Every element needs a tabulated weight for this radiation: say which one has none."""
    table = NEUTRON_SCATTERING_LENGTH_FM if radiation == "neutron" else XRAY_FORM_FACTOR_COEFFICIENTS
    missing = [element for element in elements if element not in table]
    if missing:
        source = NEUTRON_SOURCE if radiation == "neutron" else XRAY_SOURCE
        what = ("coherent neutron scattering length" if radiation == "neutron"
                else "X-ray form factor")
        raise ValueError(f"no tabulated {what} for element {', '.join(map(repr, missing))} "
                         f"(table: {source}; it has {', '.join(sorted(table))})")


def xray_form_factor(element: str, q_per_A) -> np.ndarray:
    """f(Q) in electrons, Q = 4π sinθ/λ in Å⁻¹ (Cromer–Mann: s = Q / 4π)."""
    check_elements([element], "xray")
    a, b, c = XRAY_FORM_FACTOR_COEFFICIENTS[element]
    s2 = (np.asarray(q_per_A, dtype=float) / (4 * np.pi)) ** 2
    return sum(ai * np.exp(-bi * s2) for ai, bi in zip(a, b)) + c


def weights(elements, radiation: str, q_per_A=None) -> dict:
    """Each element's scattering weight: b_c (fm) for neutrons; f(Q) (electrons) for X-rays,
    at Q = 0 when ``q_per_A`` is None."""
    check_radiation(radiation)
    check_elements(elements, radiation)
    if radiation == "neutron":
        return {e: NEUTRON_SCATTERING_LENGTH_FM[e] for e in elements}
    q = 0.0 if q_per_A is None else q_per_A
    return {e: xray_form_factor(e, q) for e in elements}


def pair_names(elements) -> list[str]:
    """Unordered pairs 'A-B' of ``elements`` (A before B in the given order), like pairs included."""
    elements = list(elements)
    return [f"{a}-{b}" for i, a in enumerate(elements) for b in elements[i:]]


def _weighted_sum(partials: dict, fractions: dict, weight: dict, offset: float):
    """Σ_ab c_a c_b w_a w_b (X_ab − offset) over unordered pairs (×2 for a ≠ b), and ⟨w⟩²."""
    total = 0.0
    for name, values in partials.items():
        a, b = name.split("-")
        multiplicity = 1.0 if a == b else 2.0
        total = total + multiplicity * fractions[a] * fractions[b] * weight[a] * weight[b] * (
            np.asarray(values) - offset)
    mean = sum(fractions[e] * weight[e] for e in fractions)
    return total, mean**2


def total_pdf(r_A, partial_g: dict, fractions: dict, density_per_A3: float,
              radiation: str = "neutron") -> dict:
    """Total g(r) and G(r) = 4πρ0 r [g(r) − 1] (Å⁻²) from the partial g_ab (keys 'A-B', each
    unordered pair once, like pairs included), atomic fractions and number density."""
    weight = weights(list(fractions), radiation)
    deviation, mean_squared = _weighted_sum(partial_g, fractions, weight, 1.0)
    if mean_squared == 0:
        raise ValueError(f"the {radiation} weights of {sorted(fractions)} average to zero: "
                         "the total g(r) is undefined (a null-scattering composition)")
    g = 1.0 + deviation / mean_squared
    r = np.asarray(r_A, dtype=float)
    return {"g": g, "G": 4 * np.pi * density_per_A3 * r * (g - 1.0)}


def partial_structure_factors(r_A, partial_g: dict, density_per_A3: float, q_per_A,
                              lorch: bool = True) -> dict:
    """S_ab(Q) − 1 = 4πρ0 ∫ r² [g_ab(r) − 1] sin(Qr)/(Qr) M(r) dr over the tabulated r (a
    histogram: the integral is the sum over bins of width dr)."""
    r = np.asarray(r_A, dtype=float)
    q = np.asarray(q_per_A, dtype=float)
    dr = np.gradient(r)
    r_max = r[-1] + 0.5 * dr[-1]
    window = np.sinc(r / r_max) if lorch else np.ones_like(r)  # np.sinc(x) = sin(πx)/(πx)
    kernel = np.sinc(np.outer(q, r) / np.pi)                   # sin(Qr)/(Qr)
    factor = 4 * np.pi * density_per_A3 * r**2 * window * dr
    return {name: 1.0 + kernel @ (factor * (np.asarray(g) - 1.0)) for name, g in partial_g.items()}


def total_structure_factor(partial_s: dict, fractions: dict, q_per_A,
                           radiation: str = "neutron") -> np.ndarray:
    """Faber–Ziman S(Q) from the partial S_ab(Q); X-ray weights f(Q) at each Q."""
    weight = weights(list(fractions), radiation, None if radiation == "neutron" else q_per_A)
    deviation, mean_squared = _weighted_sum(partial_s, fractions, weight, 1.0)
    return 1.0 + deviation / mean_squared


def read_measured_gr(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """A measured G(r): rows of at least two numbers, r (Å) and G(r) (Å⁻²), further columns
    (dr, dG) ignored. Blank lines, lines starting with '#' and a header before the first row
    (PDFgetN / PDFgetX3 .gr files) are skipped; anything else is an error naming the line."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"measured G(r) file not found: {path}")
    rows: list[tuple[float, float]] = []
    first_row_line = None
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        fields = text.replace(",", " ").split()
        values = _floats(fields[:2])
        if values is None or len(fields) < 2:
            if rows:  # a header only comes before the data
                raise ValueError(f"{path}, line {number}: expected two numbers 'r G(r)' like the "
                                 f"rows from line {first_row_line}, got {text[:60]!r}")
            continue
        if first_row_line is None:
            first_row_line = number
        rows.append(values)
    if len(rows) < MIN_OVERLAP_POINTS:
        raise ValueError(f"{path}: {len(rows)} rows of 'r G(r)' found; a measured G(r) needs at "
                         f"least {MIN_OVERLAP_POINTS} (two columns: r in Å, G(r) in Å^-2)")
    r, G = np.array(rows).T
    if not (np.all(np.isfinite(r)) and np.all(np.isfinite(G))):
        raise ValueError(f"{path}: non-finite r or G(r) values")
    if np.any(np.diff(r) <= 0) or r[0] < 0:
        raise ValueError(f"{path}: r must start at >= 0 Å and increase row by row "
                         f"(first column; is the file two columns r, G(r)?)")
    return r, G


def _floats(fields):
    try:
        return tuple(float(field) for field in fields)
    except ValueError:
        return None


def r_factor(r_measured, G_measured, r_simulated, G_simulated) -> dict:
    """PDFgui's Rw with unit weights, sqrt(Σ (G_obs − G_calc)² / Σ G_obs²), over the measured
    points inside the simulated range (the simulation interpolated onto them)."""
    r_measured = np.asarray(r_measured, dtype=float)
    inside = (r_measured >= r_simulated[0]) & (r_measured <= r_simulated[-1])
    if inside.sum() < MIN_OVERLAP_POINTS:
        raise ValueError(f"the measured G(r) ({r_measured[0]:g}-{r_measured[-1]:g} Å) overlaps "
                         f"the simulated one ({r_simulated[0]:g}-{r_simulated[-1]:g} Å) in "
                         f"{int(inside.sum())} points; need {MIN_OVERLAP_POINTS}")
    observed = np.asarray(G_measured, dtype=float)[inside]
    calculated = np.interp(r_measured[inside], r_simulated, G_simulated)
    return {"Rw": quantity(float(np.sqrt(np.sum((observed - calculated) ** 2)
                                         / np.sum(observed**2))), None, "1"),
            "r_range": quantity([float(r_measured[inside][0]), float(r_measured[inside][-1])],
                                None, "Å"),
            "n_points": quantity(int(inside.sum()), None, "1")}


def gr_text(r_A, G, radiation: str, source: str) -> str:
    """A two-column .gr file (r in Å, G(r) in Å⁻²) that PDFgui and friends read."""
    lines = [f"# simulated {radiation}-weighted G(r) = 4 pi rho0 r [g(r) - 1] of {source}",
             "# weights: " + (NEUTRON_SOURCE if radiation == "neutron" else
                              XRAY_SOURCE + " at Q = 0"),
             "#L r(A) G(A^-2)"]
    lines += [f"{r:.4f} {g:.6f}" for r, g in zip(r_A, G)]
    return "\n".join(lines) + "\n"


def total_scattering(frames, radiation: str = "neutron", q_max_per_A: float = 20.0,
                     r_max_A: float | None = None, lorch: bool = True,
                     measured_gr: str | Path | None = None) -> dict:
    """G(r), g(r) and S(Q) of ``radiation`` averaged over ``frames`` (objects with symbols,
    positions, cell: trajectory.Frame), with every partial g_ab and S_ab; with ``measured_gr``
    the measured G(r) beside it and the R-factor.

    r_max: half the smallest cell width (the largest distance the minimum image gives exactly)
    unless smaller; the frames must all have the same species.
    """
    from dpglass.analysis.rdf import compute_rdfs, perpendicular_widths

    check_radiation(radiation)
    if not q_max_per_A > 0:
        raise ValueError(f"analysis.total_scattering.q_max_per_A must be > 0, got {q_max_per_A}")
    frames = iter(frames)
    first = next(frames, None)
    if first is None:
        raise ValueError("no frames to compute the total scattering from")
    symbols = np.asarray(first.symbols)
    elements, counts = np.unique(symbols, return_counts=True)
    check_elements(elements.tolist(), radiation)  # before the pair loop, not after
    measured = read_measured_gr(measured_gr) if measured_gr else None
    half_width = 0.999 * 0.5 * perpendicular_widths(np.asarray(first.cell)).min()
    r_max = half_width if r_max_A is None else min(r_max_A, half_width)
    n_bins = max(10, int(round(r_max / PDF_BIN_A)))
    if measured is not None:
        inside = int(np.sum((measured[0] >= 0.5 * PDF_BIN_A) & (measured[0] <= r_max)))
        if inside < MIN_OVERLAP_POINTS:
            raise ValueError(f"{measured_gr}: the measured G(r) ({measured[0][0]:g}-"
                             f"{measured[0][-1]:g} Å) has {inside} points inside the simulated "
                             f"range 0-{r_max:.2f} Å (half the cell); need {MIN_OVERLAP_POINTS}")
    fractions = {str(e): c / len(symbols) for e, c in zip(elements, counts)}
    names = pair_names(fractions)
    # a species of one atom has no like pairs: its g_aa carries no information (set to 1)
    computed = [tuple(n.split("-")) for n in names
                if not (n.split("-")[0] == n.split("-")[1] and counts[list(elements).index(
                    n.split("-")[0])] < 2)]
    volumes = []

    def with_volume(source):
        for frame in source:
            volumes.append(abs(np.linalg.det(np.asarray(frame.cell))))
            yield frame

    rdfs = compute_rdfs(with_volume(_chain(first, frames)), computed, r_max_A=r_max,
                        n_bins=n_bins, bond_cutoffs_A=None)
    r = np.asarray(rdfs["r"]["value"])
    partial_g = {name: np.asarray(rdfs["g"][name]["value"]) if name in rdfs["g"]
                 else np.ones_like(r) for name in names}
    density = len(symbols) / float(np.mean(volumes))
    q = np.arange(Q_STEP_PER_A, q_max_per_A + 0.5 * Q_STEP_PER_A, Q_STEP_PER_A)
    partial_s = partial_structure_factors(r, partial_g, density, q, lorch)
    total = total_pdf(r, partial_g, fractions, density, radiation)
    S = total_structure_factor(partial_s, fractions, q, radiation)
    weight = weights(list(fractions), radiation)
    result = {
        "radiation": radiation,
        "weights": {e: quantity(float(w), None, "fm" if radiation == "neutron" else "e")
                    for e, w in weight.items()},
        "weights_source": NEUTRON_SOURCE if radiation == "neutron" else
        XRAY_SOURCE + " (G(r): f at Q = 0; S(Q): f(Q))",
        "atomic_fractions": {e: quantity(c, None, "1") for e, c in fractions.items()},
        "number_density": quantity(density, None, "1/Å^3"),
        "n_frames": rdfs["n_frames"],
        "r": quantity(r, None, "Å"),
        "g": quantity(total["g"], None, "1"),
        "G": quantity(total["G"], None, "Å^-2"),
        "Q": quantity(q, None, "1/Å"),
        "S": quantity(S, None, "1"),
        "lorch_window": lorch,
        "partial_g": {name: quantity(g, None, "1") for name, g in partial_g.items()},
        "partial_S": {name: quantity(s, None, "1") for name, s in partial_s.items()},
        "single_atom_species": [str(e) for e, c in zip(elements, counts) if c < 2],
        "measured": None,
    }
    if measured is not None:
        r_obs, G_obs = measured
        result["measured"] = {"source": str(measured_gr), "r": quantity(r_obs, None, "Å"),
                              "G": quantity(G_obs, None, "Å^-2"),
                              **r_factor(r_obs, G_obs, r, total["G"])}
    return result


def _chain(first, rest):
    yield first
    yield from rest
