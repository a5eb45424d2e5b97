"""Where the mobile ion has been over a run (the seed paper's Fig. 2a,b): its positions, wrapped
into the cell, as a 3-D histogram projected along each cell vector, and the share of the cell it
visited."""

from __future__ import annotations

import numpy as np

from dpglass.core.units import quantity

# Histogram bin, Å (projections), and the voxel of the visited-volume share, Å.
DENSITY_BIN_A = 0.3
VISITED_VOXEL_A = 1.0
AXES = ("a", "b", "c")


def _fractional(positions: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Positions (n_frames, n, 3) in fractional coordinates of each frame's cell, wrapped."""
    inverse = np.linalg.inv(cells)
    return np.mod(np.einsum("fni,fij->fnj", positions, inverse), 1.0)


def position_density(positions: np.ndarray, cells: np.ndarray) -> dict:
    """Counts of the ion's positions (every frame, every ion) projected along a, b and c, on bins
    of about DENSITY_BIN_A, and the share of (VISITED_VOXEL_A)³ voxels it visited."""
    positions = np.asarray(positions, dtype=float)
    cells = np.asarray(cells, dtype=float)
    fractional = _fractional(positions, cells).reshape(-1, 3)
    lengths = np.linalg.norm(cells.mean(axis=0), axis=1)
    bins = np.maximum(1, np.round(lengths / DENSITY_BIN_A)).astype(int)
    histogram, _ = np.histogramdd(fractional, bins=bins, range=[(0, 1)] * 3)
    voxels = np.maximum(1, np.round(lengths / VISITED_VOXEL_A)).astype(int)
    coarse, _ = np.histogramdd(fractional, bins=voxels, range=[(0, 1)] * 3)
    projections = {}
    for axis, name in enumerate(AXES):
        shown = [AXES[i] for i in range(3) if i != axis]
        projections[f"along_{name}"] = {
            "axes": shown,
            "extent": quantity([float(lengths[i]) for i in range(3) if i != axis], None, "Å"),
            "counts": quantity(histogram.sum(axis=axis).astype(int), None, "1"),
        }
    return {"cell_lengths": quantity(lengths, None, "Å"),
            "bin": quantity(DENSITY_BIN_A, None, "Å"),
            "projections": projections,
            "visited_volume_fraction": quantity(float(np.mean(coarse > 0)), None, "1"),
            "visited_voxel": quantity(VISITED_VOXEL_A, None, "Å"),
            "n_positions": quantity(int(len(fractional)), None, "1")}
