"""MSD of every species, the framework's glass verdict, and the ion's position density."""

import numpy as np
import pytest

from dpglass.analysis.density import position_density
from dpglass.analysis.species_msd import glass_verdict, species_msd
from synthetic_md import fractional_brownian, random_walk, toy_glass

DT_PS = 0.1


def verdict_of(positions, symbols):
    times = np.arange(len(positions)) * DT_PS
    per_species = species_msd(positions, symbols, times)
    return per_species, glass_verdict(per_species, "Li")


def test_a_vibrating_framework_is_a_glass_and_the_walking_ion_diffuses():
    positions, symbols = toy_glass(2000, 0.05, DT_PS, seed=1)
    per_species, verdict = verdict_of(positions, symbols)
    assert per_species["Li"]["state"] == "diffusive"
    # MSD = 6 D t for the walker: at the window end (1000 frames = 100 ps), 6 · 0.05 · 100
    assert per_species["Li"]["msd_at_window_end"]["value"] == pytest.approx(30, rel=0.3)
    for species in ("Al", "Cl", "O"):
        assert per_species[species]["state"] == "plateau"
        # a vibration of 0.1 Å per component: MSD plateau 2 · 3 · 0.1²
        assert per_species[species]["msd_at_window_end"]["value"] == pytest.approx(0.06, rel=0.1)
    assert verdict["verdict"] == "glass"


def test_a_diffusing_framework_species_flows_and_a_creeping_one_relaxes():
    rng = np.random.default_rng(2)
    positions, symbols = toy_glass(2000, 0.05, DT_PS, seed=2)
    chlorine = symbols == "Cl"
    positions[:, chlorine] = random_walk(2000, chlorine.sum(), 0.02, DT_PS, rng)
    _, verdict = verdict_of(positions, symbols)
    assert verdict["verdict"] == "flows" and "Cl" in verdict["because"]
    positions, symbols = toy_glass(2000, 0.05, DT_PS, seed=3)
    oxygen = symbols == "O"
    # fractional Brownian motion with H = 0.35: MSD ∝ t^0.7, neither flat nor linear
    positions[:, oxygen] = fractional_brownian(2000, oxygen.sum(), DT_PS, rng, hurst=0.35)[0]
    per_species, verdict = verdict_of(positions, symbols)
    assert per_species["O"]["state"] == "sub-diffusive"
    assert per_species["O"]["beta"]["value"] == pytest.approx(0.7, abs=0.1)
    assert verdict["verdict"] == "relaxing" and "O" in verdict["because"]


def test_density_of_fixed_ions_lands_in_their_voxels():
    cell = np.eye(3) * 10.0
    sites = np.array([[0.5, 0.5, 0.5], [2.5, 0.5, 0.5], [0.5, 7.5, 0.5], [9.5, 9.5, 9.5]])
    positions = np.repeat(sites[None], 50, axis=0) + np.array([10.0, 0, -20.0])  # unwrapped
    result = position_density(positions, np.repeat(cell[None], 50, axis=0))
    assert result["visited_volume_fraction"]["value"] == pytest.approx(4 / 1000)
    along_c = np.array(result["projections"]["along_c"]["counts"]["value"])
    assert along_c.sum() == 4 * 50
    bins = along_c.shape[0]  # 10 Å / 0.3 Å
    assert bins == 33
    index = (sites[:, :2] / 10.0 * bins).astype(int)
    for (i, j) in index:
        assert along_c[i, j] == 50
