"""Al–O clusters on a hand-built cell: a chain, a pair across the boundary, an isolated Al, a
branched star and an O bridging three Al."""

import numpy as np
import pytest

from dpglass.analysis.network import clusters
from dpglass.analysis.rdf import compute_rdfs, pair_distances
from dpglass.analysis.trajectory import Frame

BOX = 20.0


def hand_built_cell():
    atoms = [
        # a chain Al–O–Al–O–Al along x (Al–O 1.8 Å)
        ("Al", 2.0, 2, 2), ("O", 3.8, 2, 2), ("Al", 5.6, 2, 2), ("O", 7.4, 2, 2), ("Al", 9.2, 2, 2),
        # Al–O–Al across the periodic boundary in x
        ("Al", 19.1, 10, 2), ("O", 0.9, 10, 2), ("Al", 2.7, 10, 2),
        # an isolated Al capped by Cl only
        ("Al", 10, 10, 10), ("Cl", 12.1, 10, 10), ("Cl", 10, 12.1, 10),
        # a star: one Al bridged by three O to three others (branched: a network of 4)
        ("Al", 5, 5, 16), ("O", 6.8, 5, 16), ("O", 5, 6.8, 16), ("O", 5, 3.2, 16),
        ("Al", 8.6, 5, 16), ("Al", 5, 8.6, 16), ("Al", 5, 1.4, 16),
        # one O on three Al (a tricluster: a ring in the Al–Al graph, a network of 3)
        ("O", 15, 15, 10), ("Al", 16.8, 15, 10), ("Al", 15 - 0.9, 15 + 0.9 * np.sqrt(3), 10),
        ("Al", 15 - 0.9, 15 - 0.9 * np.sqrt(3), 10),
    ]
    symbols = np.array([a[0] for a in atoms])
    positions = np.array([a[1:] for a in atoms], dtype=float)
    return Frame(None, symbols, positions, np.eye(3) * BOX, False)


def bonds_of(frame, cutoff=2.3):
    al = frame.positions[frame.symbols == "Al"]
    o = frame.positions[frame.symbols == "O"]
    return pair_distances(al, o, frame.cell, False).reshape(len(al), len(o)) < cutoff


def test_hand_built_clusters_have_the_sizes_and_kinds_built_in():
    found = sorted(clusters(bonds_of(hand_built_cell())))
    assert found == [(1, "isolated"), (2, "chain"), (3, "chain"), (3, "network"), (4, "network")]


def test_cluster_statistics_through_the_rdf_analysis():
    frame = hand_built_cell()
    result = compute_rdfs([frame, frame], pairs=[("Al", "O")], r_max_A=6.0, n_bins=60)
    clustered = result["al_o_clusters"]
    assert clustered["n_frames"]["value"] == 2
    per_frame = {size: q["value"] for size, q in clustered["clusters_per_frame"].items()}
    assert per_frame == {"1": 1.0, "2": 1.0, "3": 2.0, "4": 1.0}
    share = {kind: q["value"] for kind, q in clustered["al_fraction"].items()}
    assert share == pytest.approx({"isolated": 1 / 13, "chain": 5 / 13, "network": 7 / 13})
    assert clustered["al_fraction_by_size"]["3"]["value"] == pytest.approx(6 / 13)
    assert clustered["mean_size_al_weighted"]["value"] == pytest.approx(
        (1 * 1 + 2 * 2 + 3 * 6 + 4 * 4) / 13)
    assert clustered["largest_max"]["value"] == 4


def test_no_oxygen_means_every_al_is_isolated():
    frame = hand_built_cell()
    keep = frame.symbols != "O"
    plain = Frame(None, frame.symbols[keep], frame.positions[keep], frame.cell, False)
    assert {kind for _, kind in clusters(bonds_of(plain))} == {"isolated"}
