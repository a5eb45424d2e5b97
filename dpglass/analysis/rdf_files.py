"""RDFs of a trajectory file: the one function behind both `dpglass rdf` and the workflow's rdf rule."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def parse_pairs(names: list[str], key: str = "analysis.rdf_pairs") -> list[tuple[str, str]]:
    """['Li-Li', 'Al-O'] -> [('Li', 'Li'), ('Al', 'O')]; a malformed name is an error naming `key`."""
    pairs = []
    for name in names:
        parts = name.strip().split("-")
        if len(parts) != 2 or not all(parts):
            raise ValueError(f"{key}: {name!r} is not an element pair like 'Li-Li'")
        pairs.append((parts[0], parts[1]))
    return pairs


def trajectory_rdf(path: str | Path, pair_names: list[str], r_max_A: float, fmt: str | None = None,
                   type_map: list[str] | None = None, timestep_fs: float | None = None,
                   n_bins: int = 200, stride: int = 1, formula: str | None = None, log=print) -> dict:
    """Partial RDFs, first peaks, Al coordination and bridging-O fraction over the frames of `path`.

    Pairs with a species absent from the trajectory are skipped and listed in `skipped_pairs` (an
    error when none is left); r_max is capped at just below half the smallest cell width, and the
    cap is said. `paper_reference` holds the seed paper's pair distances of `formula` ({} when
    the paper has none or no formula is given).
    """
    from dpglass.analysis.rdf import compute_rdfs, perpendicular_widths
    from dpglass.analysis.trajectory import iter_frames
    from dpglass.core.paper import paper_rdf_distances

    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    if not r_max_A > 0:
        raise ValueError(f"r_max must be > 0 Å, got {r_max_A}")
    pairs = parse_pairs(pair_names)
    first = next(iter_frames(path, fmt, type_map, timestep_fs), None)
    if first is None:
        raise ValueError(f"{path}: no frames")
    species = set(np.asarray(first.symbols).tolist())
    present = [p for p in pairs if set(p) <= species]
    skipped = [f"{a}-{b}" for a, b in pairs if (a, b) not in present]
    if not present:
        raise ValueError(f"RDF pairs {pair_names}: no pair has both species in {sorted(species)}")
    r_max = min(r_max_A, 0.999 * 0.5 * perpendicular_widths(np.asarray(first.cell)).min())
    if r_max < r_max_A:
        log(f"RDF r_max capped at {r_max:.2f} Å (half the smallest cell width)")
    result = compute_rdfs(iter_frames(path, fmt, type_map, timestep_fs, stride=stride), present,
                          r_max_A=r_max, n_bins=n_bins)
    result["skipped_pairs"] = skipped
    result["source"] = str(path)
    result["paper_reference"] = paper_rdf_distances(formula) if formula else {}
    return result
