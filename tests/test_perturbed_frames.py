"""train.perturbed_frames: compressed, rattled copies of training frames labelled by the reference."""

from __future__ import annotations

import json

import numpy as np
import pytest
from labelled_frames import lj_frames

LJ = {"calculator": "ase.calculators.lj:LennardJones",
      "kwargs": {"sigma": 2.0, "epsilon": 0.05, "rc": 4.0, "smooth": True}}


def settings(**changes):
    return {"count": 12, "displacement_A": 0.1, "cell_scale": [0.9, 1.0], "seed": 3, **changes}


def test_sources_are_training_frames_spread_over_the_whole_trajectory():
    from dpglass.training.data import index_ranges, time_block_split
    from dpglass.training.perturb import source_indices, training_indices

    train, valid = time_block_split(100, 0.2, n_blocks=2, gap=1)
    split = {"training_frames": index_ranges(train)}
    assert training_indices(split) == train
    sources = source_indices(train, 10)
    assert len(sources) == 10 and set(sources) <= set(train)
    assert not set(sources) & set(valid)
    assert min(sources) < 10 and max(sources) > 80  # the melt and the hold (validation ends at 99)
    # more copies than training frames: every frame used, none more than twice
    few = source_indices([3, 4, 5], 7)
    assert sorted(set(few)) == [3, 4, 5] and max(few.count(i) for i in few) <= 3
    with pytest.raises(ValueError, match="no training frames"):
        source_indices([], 3)


def test_perturbation_scales_the_cell_within_range_and_displaces_with_the_asked_spread(tmp_path):
    """The displacement about the scaled positions has the asked standard deviation (checked on
    3 x 12 x 400 components: the sample std is within 3 % of sigma) and zero mean."""
    from ase.io import read

    from dpglass.training.perturb import perturb, rng_for

    lj_frames(tmp_path / "f.extxyz", n_frames=1)
    atoms = read(tmp_path / "f.extxyz")
    rng = rng_for(1, "LACO75")
    deltas, scales = [], []
    for _ in range(400):
        out = perturb(atoms, rng, 0.2, [0.9, 0.95])
        scale = out.info["cell_scale"]
        scales.append(scale)
        assert np.allclose(out.cell[:], atoms.cell[:] * scale)
        assert out.calc is None and out.get_chemical_symbols() == atoms.get_chemical_symbols()
        d = out.positions - atoms.positions * scale
        frac = np.linalg.solve(out.cell[:].T, d.T).T
        frac -= np.round(frac)  # minimum image (wrapping moved some atoms by a cell vector)
        deltas.append(frac @ out.cell[:])
    deltas = np.concatenate(deltas).ravel()
    assert abs(np.std(deltas) / 0.2 - 1) < 0.03
    assert abs(np.mean(deltas)) < 4 * 0.2 / np.sqrt(deltas.size)
    assert 0.9 <= min(scales) < 0.91 and 0.94 < max(scales) <= 0.95
    # no perturbation asked: the frame comes back unchanged
    same = perturb(atoms, rng, 0.0, [1.0, 1.0])
    frac = same.get_scaled_positions() - atoms.get_scaled_positions(wrap=False)
    assert np.allclose(frac - np.round(frac), 0.0, atol=1e-9)


def test_each_glass_draws_its_own_reproducible_perturbations(tmp_path):
    from ase.io import read

    from dpglass.training.perturb import make_perturbed

    lj_frames(tmp_path / "f.extxyz", n_frames=20)
    frames = read(tmp_path / "f.extxyz", index=":")
    split = {"training_frames": [[0, 15]]}
    a = make_perturbed(frames, split, settings(), "LACO75")
    b = make_perturbed(frames, split, settings(), "LACO75")
    c = make_perturbed(frames, split, settings(), "LACO75_glass1")
    assert len(a) == 12 and all(f.info["perturbed_from"] < 15 for f in a)
    assert all(np.array_equal(x.positions, y.positions) for x, y in zip(a, b))
    assert not any(np.allclose(x.positions, y.positions) for x, y in zip(a, c))


def test_rule_function_labels_them_with_the_reference_into_a_training_system(tmp_path):
    """dpglass.steps.workflow.perturbed_frames: labels from the training-label calculator (relabel when set),
    compressed frames carry short contacts and larger forces than the MD frames, deepmd/npy out."""
    from ase.calculators.lj import LennardJones
    from ase.io import read

    from dpglass.steps.workflow import perturbed_frames

    lj_frames(tmp_path / "frames.extxyz", n_frames=20)
    (tmp_path / "split.json").write_text(json.dumps({"training_frames": [[0, 15]]}))
    reference = {"calculator": "chgnet", "kwargs": {}, "max_failed_fraction": 0.1,
                 "relabel": LJ}  # relabel is the training-label calculator: CHGNet never loads
    perturbed_frames(frames_path=str(tmp_path / "frames.extxyz"), split_path=str(tmp_path / "split.json"),
                     settings=settings(displacement_A=0.15), reference=reference,
                     type_map=["Li", "Al", "Cl", "O"], name="LACO75",
                     out_frames=str(tmp_path / "p.extxyz"), out_report=str(tmp_path / "p.json"),
                     data_dir=str(tmp_path / "perturbed"), threads=1)
    out = read(tmp_path / "p.extxyz", index=":")
    md = read(tmp_path / "frames.extxyz", index=":")
    assert len(out) == 12
    for frame in out:  # the labels are the LJ reference's on the perturbed positions
        expected = frame.copy()
        expected.calc = LennardJones(**LJ["kwargs"])
        assert frame.get_potential_energy() == pytest.approx(expected.get_potential_energy())
        assert np.allclose(frame.get_forces(), expected.get_forces())
    median_force = lambda frames: np.median([np.abs(f.get_forces()).max() for f in frames])
    assert median_force(out) > median_force(md)
    report = json.loads((tmp_path / "p.json").read_text())
    assert report["frames_labelled"] == 12 and report["calculator"] == LJ["calculator"]
    assert set(report["source_frames"]) <= set(range(15))
    assert report["closest_pair_min"]["unit"] == "Å"
    assert report["closest_pair_min"]["value"] < min(_closest(f) for f in md)
    assert (tmp_path / "perturbed" / "type.raw").exists()
    assert len(np.load(tmp_path / "perturbed" / "set.000" / "force.npy")) == 12
    # a rerun reuses every single point (a killed job resumes)
    perturbed_frames(frames_path=str(tmp_path / "frames.extxyz"), split_path=str(tmp_path / "split.json"),
                     settings=settings(displacement_A=0.15), reference=reference,
                     type_map=["Li", "Al", "Cl", "O"], name="LACO75",
                     out_frames=str(tmp_path / "p.extxyz"), out_report=str(tmp_path / "p.json"),
                     data_dir=str(tmp_path / "perturbed"), threads=1)
    assert json.loads((tmp_path / "p.json").read_text())["single_points_reused"] == 12


def _closest(atoms) -> float:
    from dpglass.reference.cells import min_pair_distance

    return min_pair_distance(atoms)


def test_cell_scale_must_be_low_high():
    from dpglass.config import ConfigError, validate_config

    with pytest.raises(ConfigError, match=r"train\.perturbed_frames\.cell_scale"):
        validate_config({"compositions": {"A": {"formula": "LiAlCl4"}},
                         "train": {"perturbed_frames": {"count": 4, "cell_scale": [1.0, 0.9]}}})
    with pytest.raises(ConfigError, match=r"train\.perturbed_frames\.count"):
        validate_config({"compositions": {"A": {"formula": "LiAlCl4"}},
                         "train": {"perturbed_frames": {"count": -1}}})
