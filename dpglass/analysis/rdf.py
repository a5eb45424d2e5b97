"""Partial radial distribution functions and network statistics (Fig. 2 of the seed paper).

Distances use the minimum image in fractional coordinates, exact for any (triclinic) cell as long
as r_max is below half the smallest perpendicular cell width, which is checked.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from dpglass.analysis.network import ClusterCounter
from dpglass.core.units import quantity

DEFAULT_PAIRS = (("Li", "Li"), ("Al", "Al"), ("Al", "O"), ("Al", "Cl"))
# First minima of the Al–O and Al–Cl RDFs in chloro-aluminate glasses (bonds ~1.8 / ~2.15 Å).
DEFAULT_BOND_CUTOFFS_A = {("Al", "O"): 2.3, ("Al", "Cl"): 2.6}


def perpendicular_widths(cell: np.ndarray) -> np.ndarray:
    """Distances between opposite cell faces; r_max must stay below half the smallest."""
    volume = abs(np.linalg.det(cell))
    return np.array([volume / np.linalg.norm(np.cross(cell[(i + 1) % 3], cell[(i + 2) % 3]))
                     for i in range(3)])


def pair_distances(positions_a: np.ndarray, positions_b: np.ndarray, cell: np.ndarray,
                   same_species: bool) -> np.ndarray:
    """Minimum-image distances between every a and every b (a ≠ b when same_species)."""
    inverse = np.linalg.inv(cell)
    fractional = (positions_b[None, :, :] - positions_a[:, None, :]) @ inverse
    fractional -= np.round(fractional)
    distances = np.linalg.norm(fractional @ cell, axis=-1)
    if same_species:
        distances = distances[~np.eye(len(positions_a), dtype=bool)]
    return distances.ravel()


def compute_rdfs(frames: Iterable, pairs: Sequence[tuple[str, str]] = DEFAULT_PAIRS,
                 r_max_A: float = 6.0, n_bins: int = 200,
                 bond_cutoffs_A: dict | None = None) -> dict:
    """Average partial g(r), first peaks, Al coordination, bridging-O fraction and the clusters of Al
    joined by O (``al_o_clusters``, dpglass.analysis.network) over frames.

    frames: objects with ``symbols``, ``positions`` and ``cell`` (e.g. trajectory.Frame).
    g_ab(r) = <n_ab(r)> / (N_a · ρ_b · 4πr²dr) with ρ_b = (N_b − δ_ab)/V, so that g → 1 at
    large r also for like pairs in small cells (ASE uses N_b/V there: a factor N/(N−1)).
    """
    cutoffs = {**DEFAULT_BOND_CUTOFFS_A, **(bond_cutoffs_A or {})}
    edges = np.linspace(0.0, r_max_A, n_bins + 1)
    shell_volumes = 4.0 / 3.0 * np.pi * np.diff(edges**3)
    histograms = {pair: np.zeros(n_bins) for pair in pairs}
    network = _NetworkCounter(cutoffs)
    n_frames = 0
    for frame in frames:
        if perpendicular_widths(frame.cell).min() < 2 * r_max_A:
            raise ValueError(f"r_max_A={r_max_A} exceeds half the smallest cell width "
                             f"{perpendicular_widths(frame.cell).min() / 2:.3f} Å")
        symbols = np.asarray(frame.symbols)
        volume = abs(np.linalg.det(frame.cell))
        for a, b in pairs:
            n_a, n_b = np.sum(symbols == a), np.sum(symbols == b)
            if n_a == 0 or n_b == 0 or (a == b and n_a < 2):
                raise ValueError(f"RDF pair {a}-{b}: species missing from the frames "
                                 f"(have {sorted(set(symbols))})")
            distances = pair_distances(frame.positions[symbols == a],
                                       frame.positions[symbols == b], frame.cell, a == b)
            counts, _ = np.histogram(distances, edges)
            density_b = (n_b - (a == b)) / volume
            histograms[(a, b)] += counts / (n_a * density_b * shell_volumes)
        network.add(symbols, frame.positions, frame.cell)
        n_frames += 1
    if n_frames == 0:
        raise ValueError("no frames to compute RDFs from")
    radii = 0.5 * (edges[1:] + edges[:-1])
    rdfs = {f"{a}-{b}": histograms[(a, b)] / n_frames for a, b in pairs}
    return {
        "r": quantity(radii, None, "Å"),
        "g": {name: quantity(g, None, "1") for name, g in rdfs.items()},
        "first_peak": {name: quantity(first_peak_position(radii, g), None, "Å")
                       for name, g in rdfs.items()},
        "n_frames": quantity(n_frames, None, "1"),
        **network.summary(),
    }


def first_peak_position(radii: np.ndarray, g: np.ndarray) -> float | None:
    """Position of the first local maximum of the (lightly smoothed) g(r) that exceeds 1."""
    smooth = np.convolve(g, np.ones(3) / 3.0, mode="same")
    for index in range(1, len(smooth) - 1):
        if smooth[index] > 1.0 and smooth[index] >= smooth[index - 1] \
                and smooth[index] > smooth[index + 1]:
            return float(radii[index])
    return None


class _NetworkCounter:
    """Accumulates Al coordination by O and Cl, the O bridging statistics and the clusters of Al
    joined by O (dpglass.analysis.network)."""

    def __init__(self, cutoffs: dict):
        self.cutoffs = cutoffs
        self.clusters = ClusterCounter()
        self.al_o = self.al_cl = self.n_al = 0
        self.bridging_o = self.n_o = 0
        self.coordination_histogram: dict[int, int] = {}

    def add(self, symbols: np.ndarray, positions: np.ndarray, cell: np.ndarray) -> None:
        aluminium = positions[symbols == "Al"]
        if len(aluminium) == 0:
            return
        bonded = {}
        for ligand in ("O", "Cl"):
            ligands = positions[symbols == ligand]
            if len(ligands) == 0:
                bonded[ligand] = np.zeros((len(aluminium), 0), dtype=bool)
                continue
            distances = pair_distances(aluminium, ligands, cell, False)
            bonded[ligand] = (distances.reshape(len(aluminium), len(ligands))
                              < self.cutoffs[("Al", ligand)])
        self.n_al += len(aluminium)
        self.al_o += int(bonded["O"].sum())
        self.al_cl += int(bonded["Cl"].sum())
        for count in bonded["O"].sum(axis=1) + bonded["Cl"].sum(axis=1):
            self.coordination_histogram[int(count)] = self.coordination_histogram.get(int(count),
                                                                                      0) + 1
        self.n_o += bonded["O"].shape[1]
        self.bridging_o += int(np.sum(bonded["O"].sum(axis=0) >= 2))
        self.clusters.add(bonded["O"])

    def summary(self) -> dict:
        if self.n_al == 0:
            return {}
        return {
            "bond_cutoffs": {f"{a}-{b}": quantity(c, None, "Å") for (a, b), c in self.cutoffs.items()},
            "al_coordination": {
                "O": quantity(self.al_o / self.n_al, None, "1"),
                "Cl": quantity(self.al_cl / self.n_al, None, "1"),
                "total": quantity((self.al_o + self.al_cl) / self.n_al, None, "1"),
                "fraction_by_number": {str(k): quantity(v / self.n_al, None, "1")
                                       for k, v in sorted(self.coordination_histogram.items())},
            },
            "bridging_oxygen_fraction": quantity(self.bridging_o / self.n_o if self.n_o else None,
                                                 None, "1"),
            "al_o_clusters": self.clusters.summary(),
        }
