"""The Al–O–Al network: clusters of Al joined by bridging O (the seed paper's structural picture of
the glass: O links Al into chains and networks, Cl caps them as a network breaker).

A cluster is a connected component of the bond graph of Al and O (an Al–O bond: distance below the
Al–O cutoff, minimum image); its size is its number of Al. An Al with no O shared with another Al
is a cluster of one ("isolated": an [AlCl_x O_y] unit not linked by O). A cluster of two or more
is a *chain* when its Al–Al graph (two Al are neighbours when they share an O) is a path: no
branch (every Al has at most two Al neighbours) and no ring; otherwise a *network* (branched,
ringed, or with an O bridging three Al).
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from dpglass.core.units import quantity

KINDS = ("isolated", "chain", "network")


def clusters(bonds: np.ndarray) -> list[tuple[int, str]]:
    """(number of Al, kind) of every cluster, from the Al × O bond matrix (bool)."""
    bonds = np.asarray(bonds, dtype=bool)
    n_al, n_o = bonds.shape
    if n_al == 0:
        return []
    al_index, o_index = np.nonzero(bonds)
    graph = coo_matrix((np.ones(len(al_index)), (al_index, n_al + o_index)),
                       shape=(n_al + n_o, n_al + n_o))
    _, labels = connected_components(graph, directed=False)
    shared = bonds.astype(int) @ bonds.T.astype(int)   # O shared by Al i and Al j
    linked = (shared > 0) & ~np.eye(n_al, dtype=bool)   # Al–Al neighbours through an O
    result = []
    for label in np.unique(labels[:n_al]):
        members = np.nonzero(labels[:n_al] == label)[0]
        size = len(members)
        if size == 1:
            result.append((1, "isolated"))
            continue
        sub = linked[np.ix_(members, members)]
        degrees = sub.sum(axis=1)
        edges = int(sub.sum()) // 2
        # a path: size - 1 edges (a tree), no Al with three Al neighbours; an O on three Al makes
        # a triangle (3 edges on 3 Al) and so counts as a network
        path = edges == size - 1 and degrees.max() <= 2
        result.append((size, "chain" if path else "network"))
    return result


class ClusterCounter:
    """Accumulates the cluster statistics of many frames."""

    def __init__(self):
        self.frames = 0
        self.n_al = 0
        self.clusters_by_size: dict[int, int] = {}
        self.al_by_size: dict[int, int] = {}
        self.al_by_kind = {kind: 0 for kind in KINDS}
        self.largest: list[int] = []

    def add(self, bonds: np.ndarray) -> None:
        found = clusters(bonds)
        self.frames += 1
        self.n_al += sum(size for size, _ in found)
        for size, kind in found:
            self.clusters_by_size[size] = self.clusters_by_size.get(size, 0) + 1
            self.al_by_size[size] = self.al_by_size.get(size, 0) + size
            self.al_by_kind[kind] += size
        self.largest.append(max((size for size, _ in found), default=0))

    def summary(self) -> dict:
        """Sizes per frame, the share of Al in clusters of each size and kind, the Al-weighted
        mean cluster size and the largest cluster (mean over frames and maximum)."""
        if not self.frames or not self.n_al:
            return {}
        sizes = sorted(self.clusters_by_size)
        return {
            "clusters_per_frame": {str(n): quantity(self.clusters_by_size[n] / self.frames, None,
                                                    "1") for n in sizes},
            "al_fraction_by_size": {str(n): quantity(self.al_by_size[n] / self.n_al, None, "1")
                                    for n in sizes},
            "al_fraction": {kind: quantity(self.al_by_kind[kind] / self.n_al, None, "1")
                            for kind in KINDS},
            "mean_size_al_weighted": quantity(sum(n * self.al_by_size[n] for n in sizes)
                                              / self.n_al, None, "1"),
            "largest_mean": quantity(float(np.mean(self.largest)), None, "1"),
            "largest_max": quantity(int(max(self.largest)), None, "1"),
            "n_frames": quantity(self.frames, None, "1"),
        }
