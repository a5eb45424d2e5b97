"""Labelling: relabel with a stand-in expensive calculator; failed single points dropped and counted;
one resumable labeller (per-frame records) for the melt-quench, the loop and the perturbed frames."""

import json

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes
from ase.calculators.lj import LennardJones
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import read, write

from dpglass.reference.labelling import LabellingError, label, label_frames, settings_key


def lj(epsilon):
    return LennardJones(sigma=2.0, epsilon=epsilon, rc=5.0, smooth=True)


def sampled_frames(path, n=10, seed=0):
    """Frames labelled by the 'cheap explorer' (LJ, epsilon 0.01), as the melt-quench writes them."""
    rng = np.random.default_rng(seed)
    base = Atoms("Li2Al2Cl4O2", positions=rng.uniform(0, 7, (10, 3)), cell=[7, 7, 7], pbc=True)
    frames = []
    for i in range(n):
        frame = base.copy()
        frame.positions += rng.normal(0, 0.05, frame.positions.shape)
        frame.calc = lj(0.01)
        results = dict(energy=frame.get_potential_energy(), forces=frame.get_forces(),
                       stress=frame.get_stress())
        frame.calc = SinglePointCalculator(frame, **results)
        frame.info.update(time_ps=0.1 * i, phase="melt", frame_id=i)
        frames.append(frame)
    write(path, frames, format="extxyz")
    return frames


class Flaky(Calculator):
    """The 'expensive' stand-in: LJ (epsilon 0.02), but some frames crash, give NaN or do not converge."""

    implemented_properties = ["energy", "forces", "stress"]

    def __init__(self, crash=(), nan=(), unconverged=()):
        super().__init__()
        self.crash, self.nan, self.unconverged = set(crash), set(nan), set(unconverged)
        self.inner = lj(0.02)
        self.converged = True

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        frame = atoms.info["frame_id"]
        if frame in self.crash:
            raise RuntimeError(f"code crashed on frame {frame}\nsecond line of the traceback")
        self.converged = frame not in self.unconverged
        self.inner.calculate(atoms, properties, system_changes)
        self.results = dict(self.inner.results)
        if frame in self.nan:
            self.results["energy"] = float("nan")


def test_relabel_replaces_explore_labels_with_the_expensive_ones(tmp_path):
    frames = sampled_frames(tmp_path / "sampled.extxyz")
    report = label_frames(tmp_path / "sampled.extxyz", tmp_path / "frames.extxyz",
                          tmp_path / "labelling.json", make_calc=lambda: lj(0.02),
                          calculator_name="lj-expensive")
    out = read(tmp_path / "frames.extxyz", index=":")
    assert len(out) == 10 and report["frames_labelled"] == 10 and report["frames_failed"] == 0
    for old, new in zip(frames, out):
        reference = old.copy()
        reference.calc = lj(0.02)
        assert new.get_potential_energy() == pytest.approx(reference.get_potential_energy())
        assert new.get_potential_energy() == pytest.approx(2 * old.get_potential_energy())
        assert np.allclose(new.get_forces(), reference.get_forces())
        assert np.allclose(new.get_stress(), reference.get_stress())
        assert new.info["label_source"] == "lj-expensive" and new.info["phase"] == "melt"
    assert json.loads((tmp_path / "labelling.json").read_text())["passed"] is True


def test_stride_relabels_a_subset(tmp_path):
    sampled_frames(tmp_path / "sampled.extxyz")
    report = label_frames(tmp_path / "sampled.extxyz", tmp_path / "frames.extxyz",
                          tmp_path / "labelling.json", make_calc=lambda: lj(0.02), stride=3)
    assert report["frames_in"] == 10 and report["frames_attempted"] == 4
    assert [a.info["frame_id"] for a in read(tmp_path / "frames.extxyz", index=":")] == [0, 3, 6, 9]


def test_failed_points_are_dropped_and_counted_with_reasons(tmp_path):
    sampled_frames(tmp_path / "sampled.extxyz")
    calc = Flaky(crash=[2], nan=[5], unconverged=[7])
    report = label_frames(tmp_path / "sampled.extxyz", tmp_path / "frames.extxyz",
                          tmp_path / "labelling.json", make_calc=lambda: calc,
                          max_failed_fraction=0.3)
    kept = [a.info["frame_id"] for a in read(tmp_path / "frames.extxyz", index=":")]
    assert kept == [0, 1, 3, 4, 6, 8, 9]
    assert report["frames_failed"] == 3 and report["failed_fraction"]["value"] == pytest.approx(0.3)
    assert report["failure_counts"] == {"RuntimeError": 1, "non-finite energy, forces or stress": 1,
                                        "SCF not converged": 1}
    reasons = {f["frame"]: f["reason"] for f in report["failures"]}
    assert reasons[2] == "RuntimeError: code crashed on frame 2"
    assert reasons[7] == "SCF not converged"
    on_disk = json.loads((tmp_path / "labelling.json").read_text())
    assert on_disk["failure_counts"] == report["failure_counts"]


def test_too_many_failures_fail_the_rule_and_write_no_frames(tmp_path, capsys):
    sampled_frames(tmp_path / "sampled.extxyz")
    calc = Flaky(crash=[0, 1], nan=[4])
    with pytest.raises(LabellingError, match=r"3 of 10 single points failed \(30.0 % > "
                                              r"reference.max_failed_fraction = 20.0 %\)"):
        label_frames(tmp_path / "sampled.extxyz", tmp_path / "frames.extxyz",
                     tmp_path / "labelling.json", make_calc=lambda: calc,
                     max_failed_fraction=0.2)
    assert not (tmp_path / "frames.extxyz").exists()
    assert '"frames_failed": 3' in capsys.readouterr().out  # the report still reaches the log


def test_explore_labels_are_kept_and_checked_without_relabel(tmp_path):
    frames = sampled_frames(tmp_path / "sampled.extxyz", n=4)
    report = label_frames(tmp_path / "sampled.extxyz", tmp_path / "frames.extxyz",
                          tmp_path / "labelling.json", make_calc=None, calculator_name="chgnet")
    out = read(tmp_path / "frames.extxyz", index=":")
    assert report["frames_labelled"] == 4
    assert [a.get_potential_energy() for a in out] == pytest.approx(
        [a.get_potential_energy() for a in frames])
    assert all(a.get_stress().shape == (6,) for a in out)


def test_relabel_rule_function_takes_the_calculator_from_config(tmp_path):
    from dpglass.config import validate_config
    from dpglass.steps.workflow import label_frames as label_step

    frames = sampled_frames(tmp_path / "sampled.extxyz", n=4)
    reference = validate_config({
        "compositions": {"LACO75": {"formula": "LiAlCl2.5O0.75"}},
        "reference": {"relabel": {"calculator": "ase.calculators.lj:LennardJones",
                                  "kwargs": {"sigma": 2.0, "epsilon": 0.02, "rc": 5.0, "smooth": True},
                                  "stride": 2}},
    })["reference"]
    label_step(sampled_path=str(tmp_path / "sampled.extxyz"), reference=reference,
               frames_path=str(tmp_path / "frames.extxyz"),
               report_path=str(tmp_path / "labelling.json"), threads=1)
    out = read(tmp_path / "frames.extxyz", index=":")
    assert [a.info["frame_id"] for a in out] == [0, 2]
    assert out[1].get_potential_energy() == pytest.approx(2 * frames[2].get_potential_energy())
    report = json.loads((tmp_path / "labelling.json").read_text())
    assert report["calculator"] == "ase.calculators.lj:LennardJones" and report["passed"]


class Counting(Calculator):
    """LJ (epsilon 0.02) that counts its single points and can 'be killed' (SystemExit, as a
    SIGTERM'd job) when asked for the frame `kill_at`."""

    implemented_properties = ["energy", "forces", "stress"]

    def __init__(self, kill_at=None):
        super().__init__()
        self.inner, self.kill_at, self.points = lj(0.02), kill_at, []

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        if atoms.info["frame_id"] == self.kill_at:
            raise SystemExit("killed")
        self.points.append(atoms.info["frame_id"])
        self.inner.calculate(atoms, properties, system_changes)
        self.results = dict(self.inner.results)


def relabel(tmp_path, calc, stride=1, settings="lj-0.02"):
    return label_frames(tmp_path / "sampled.extxyz", tmp_path / "frames.extxyz",
                        tmp_path / "labelling.json", make_calc=lambda: calc, stride=stride,
                        work=tmp_path / "label_work", settings=settings)


def test_killed_relabel_resumes_without_recomputing_a_finished_single_point(tmp_path):
    sampled_frames(tmp_path / "sampled.extxyz")
    killed = Counting(kill_at=4)
    with pytest.raises(SystemExit):
        relabel(tmp_path, killed)
    assert killed.points == [0, 1, 2, 3]
    assert not (tmp_path / "frames.extxyz").exists()  # no half result looks done
    assert len(list((tmp_path / "label_work").glob("frame_*.json"))) == 4
    again = Counting()
    report = relabel(tmp_path, again)
    assert again.points == [4, 5, 6, 7, 8, 9]  # only the frames the killed job never finished
    assert report["single_points_reused"] == 4 and report["single_points_computed"] == 6
    out = read(tmp_path / "frames.extxyz", index=":")
    assert [a.info["frame_id"] for a in out] == list(range(10))
    for frame in out:  # reused or new, every label is the relabelling calculator's
        reference = frame.copy()
        reference.calc = lj(0.02)
        assert frame.get_potential_energy() == pytest.approx(reference.get_potential_energy())
        np.testing.assert_allclose(frame.get_forces(), reference.get_forces(), rtol=1e-6, atol=1e-7)
    finished = Counting()
    relabel(tmp_path, finished)
    assert finished.points == []


def test_records_are_reused_across_strides_but_never_across_settings(tmp_path):
    sampled_frames(tmp_path / "sampled.extxyz")
    relabel(tmp_path, Counting(), stride=2)
    finer = Counting()
    report = relabel(tmp_path, finer, stride=1)  # a finer stride keeps the frames already done
    assert finer.points == [1, 3, 5, 7, 9] and report["single_points_reused"] == 5
    other = Counting()  # other calculator settings (e.g. a cutoff): nothing is reused
    report = relabel(tmp_path, other, settings=settings_key("lj", {"epsilon": 0.03}))
    assert other.points == list(range(10)) and report["single_points_reused"] == 0
    assert settings_key("cp2k", {"a": 1, "b": 2}) == settings_key("cp2k", {"b": 2, "a": 1})
    assert settings_key("cp2k", {"cutoff_Ry": 600}) != settings_key("cp2k", {"cutoff_Ry": 300})


def test_labeller_never_reuses_a_record_for_another_frame(tmp_path):
    """The loop's labelling: another selection's frames (same count, other positions) are
    computed anew; failed points are recorded (a rerun does not retry them) and counted."""
    frames = sampled_frames(tmp_path / "sampled.extxyz", n=6)
    calc = Counting()
    labelled, report = label(frames[:4], lambda: calc, "LJ", 0.1, work=tmp_path / "w")
    assert report["single_points_computed"] == 4 and len(labelled) == 4
    calc.points.clear()
    _, report = label(frames[2:], lambda: calc, "LJ", 0.1, work=tmp_path / "w")
    assert calc.points == [4, 5] and report["single_points_reused"] == 2
    made = []
    label(frames[2:], lambda: made.append(1), "LJ", 0.1, work=tmp_path / "w")
    assert made == []  # all done: the (expensive) reference is not even started
    bad = Flaky(crash=[1])
    with pytest.raises(LabellingError, match="max_failed_fraction"):
        label(frames[:4], lambda: bad, "flaky", 0.1, work=tmp_path / "f")
    labelled, report = label(frames[:4], lambda: Flaky(), "flaky", 0.5, work=tmp_path / "f")
    assert report["single_points_reused"] == 4 and report["frames_failed"] == 1
    assert report["failures"][0]["reason"].startswith("RuntimeError: code crashed on frame 1")
    assert report["failures"][0]["phase"] == "melt" and len(labelled) == 3


class SCFNotConverged(RuntimeError):
    """Named as dpglass.reference.cp2k's: the labeller knows the reason by the exception's name."""


def test_an_unconverged_scf_exception_is_counted_as_scf_not_converged(tmp_path):
    from dpglass.reference.labelling import single_point

    class Raising(Calculator):
        implemented_properties = ["energy", "forces"]

        def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
            raise SCFNotConverged("WARNING in qs_scf.F:601 :: SCF run NOT converged")

    frame = sampled_frames(tmp_path / "sampled.extxyz", n=1)[0]
    results, reason = single_point(frame, Raising())
    assert results is None
    assert reason == "SCF not converged: WARNING in qs_scf.F:601 :: SCF run NOT converged"
