"""Hop events on synthetic walks with known hops, back-jumps and rattling."""

import numpy as np
import pytest

from dpglass.analysis.hops import detect_hops, hop_statistics
from synthetic_md import lattice_walk

DT_PS = 0.01


def test_every_known_hop_and_back_jump_of_a_lattice_walk_is_found():
    rng = np.random.default_rng(7)
    positions, truth = lattice_walk(3000, 24, rng, back_jump=0.3)
    events, frames_per_ion = detect_hops(positions, threshold_A=1.5, smoothing_frames=5,
                                         min_residence_frames=10)
    true_frames = [[frame for frame, _, _ in ion] for ion in truth]
    found = 0
    for ion, (expected, detected) in enumerate(zip(true_frames, frames_per_ion)):
        assert len(detected) == len(expected), ion
        # detected when the smoothed position crosses the threshold: within the smoothing window
        assert np.all(np.abs(np.array(detected) - np.array(expected)) <= 3), ion
        found += len(detected)
    assert found > 300
    detected_backs = [e.back_jump for e in events if e.back_jump is not None]
    true_backs = [b for ion in truth for f, _, b in ion if b is not None ]
    assert sum(detected_backs) == sum(true_backs)
    assert len(detected_backs) == len(true_backs)
    lengths = np.array([e.length_A for e in events])
    assert np.median(lengths) == pytest.approx(2.55, abs=0.05)


def test_statistics_of_a_walk_with_two_hop_lengths():
    rng = np.random.default_rng(11)
    positions, truth = lattice_walk(4000, 30, rng, lengths_A=(2.55, 3.08), back_jump=0.2)
    result = hop_statistics(positions, DT_PS, threshold_A=1.5, smoothing_frames=5,
                            min_residence_frames=10)
    n_true = sum(len(ion) for ion in truth)
    assert result["n_hops"]["value"] == n_true
    peaks = sorted(result["length_peaks"]["value"][:2])
    assert peaks == pytest.approx([2.55, 3.08], abs=0.06)
    duration_ns = 3999 * DT_PS / 1000
    assert result["rate_per_ion_per_ns"]["value"] == pytest.approx(n_true / (30 * duration_ns))
    assert result["rate_per_ion_per_ns"]["unit"] == "1/ns"
    true_backs = [b for ion in truth for f, _, b in ion if b is not None]
    fraction = result["back_jump_fraction"]
    assert fraction["value"] == pytest.approx(np.mean(true_backs))
    assert abs(fraction["value"] - 0.2) < 3 * fraction["error"]  # the walk's own probability
    # residences: 30 frames plus an exponential of mean 150 -> 1.8 ps on average
    residence = result["residence_time_mean"]
    assert abs(residence["value"] - 1.8) < 3 * residence["error"]
    assert sum(result["length_histogram"]["counts"]["value"]) == n_true


def test_rattling_and_short_excursions_are_not_hops():
    rng = np.random.default_rng(3)
    rattling = rng.normal(scale=0.5, size=(3000, 20, 3)) + rng.uniform(0, 14, (1, 20, 3))
    # ion 0 leaves its site by 2 Å for 4 frames, five times, and comes back each time
    for start in (300, 900, 1500, 2100, 2700):
        rattling[start:start + 4, 0, 0] += 2.0
    result = hop_statistics(rattling, DT_PS, threshold_A=1.5, smoothing_frames=5,
                            min_residence_frames=10)
    assert result["n_hops"]["value"] == 0
    assert result["back_jump_fraction"]["value"] is None
    assert result["length_peaks"]["value"] == []


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="threshold"):
        detect_hops(np.zeros((10, 2, 3)), threshold_A=0)
    with pytest.raises(ValueError, match="n_ions, 3"):
        detect_hops(np.zeros((10, 3)), threshold_A=1.0)
