"""Melt-quench protocol with a cheap stand-in calculator (Lennard-Jones): schedule, thermostats,
density protocols, sampling runs, frames, guards and the melt-memory verdict."""

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes
from ase.calculators.lj import LennardJones
from ase.io import read

from dpglass.reference.cells import build_start_cell
from dpglass.core.composition import parse_formula
from dpglass.config import ConfigError, validate_config
from dpglass.reference.meltquench import (Displacements, MDGuardError, Schedule, check_guards, memory_verdict,
                                prerelax, read_trace, run_melt_quench)
from dpglass.report.figures import plot_trace

BASE = {"compositions": {"LACO75": {"formula": "LiAlCl2.5O0.75"}}}


def protocol(**changes):
    mq = {"timestep_fs": 2.0, "melt_time_ps": 0.2, "cool_rate_K_per_ps": 3000, "hold_time_ps": 0.1,
          "sample_every_steps": 5, "sampling_temperatures_K": [213, 393], "sampling_ps": 0.05,
          "density_protocol": "fixed", **changes}
    return validate_config({**BASE, "melt_quench": mq})["melt_quench"]


def lj():
    return LennardJones(sigma=2.0, epsilon=0.02, rc=5.0, smooth=True)


@pytest.fixture
def start():
    structure = validate_config(BASE)["structure"]
    atoms = build_start_cell(parse_formula("LiAlCl2.5O0.75"), structure, 21, None, 2.2)
    atoms.calc = lj()
    prerelax(atoms, 20)
    atoms.calc = None
    return atoms


def run(start, tmp_path, tag="a", calc=None, **changes):
    atoms = start.copy()
    return run_melt_quench(atoms, calc or lj(), protocol(**changes), tmp_path / f"{tag}.extxyz",
                           tmp_path / f"{tag}.csv", calc_name="lj", log=lambda line: None)


def test_schedule_phases_and_targets():
    schedule = Schedule(600, 2.0, 100, 300, 1.0)
    assert schedule.cool_ps == 3.0 and schedule.total_ps == 6.0
    assert [schedule.target_K(t) for t in (0.0, 2.0, 3.5, 5.0, 5.5)] == [600, 600, 450, 300, 300]
    assert [schedule.phase(t) for t in (1.0, 3.5, 5.5)] == ["melt", "cool", "hold"]


def test_frames_trace_and_report(start, tmp_path):
    quenched, report = run(start, tmp_path)
    frames = read(tmp_path / "a.extxyz", index=":")
    # 0.2 ps melt + 0.1 ps cool + 0.1 ps hold = 200 steps, 2 x 0.05 ps sampling = 50 steps, every 5
    assert len(frames) == 50
    assert report["frames_per_phase"] == {"melt": 20, "cool": 10, "hold": 10,
                                          "sample_213K": 5, "sample_393K": 5}
    for frame in frames:
        assert np.isfinite(frame.get_potential_energy())
        assert frame.get_forces().shape == (21, 3) and frame.get_stress().shape == (6,)
    assert {f.info["target_temperature_K"] for f in frames if f.info["phase"] == "sample_213K"} == {213}
    trace = read_trace(tmp_path / "a.csv")
    assert len(trace["time_ps"]) == 50 and np.all(np.diff(trace["time_ps"]) > 0)
    assert trace["target_K"][0] == 600 and trace["target_K"][39] == 300
    assert report["density"]["start_cell"]["value"] == pytest.approx(2.2)
    assert report["density"]["after_density_protocol"]["value"] == pytest.approx(2.2)
    assert set(report["melt_memory"]["rms_displacement"]) == {"Li", "Al", "Cl", "O"}
    assert len(quenched) == 21 and quenched.calc is None
    plot_trace(tmp_path / "a.csv", tmp_path / "a.png", "LACO75")
    plot_trace(tmp_path / "a.csv", tmp_path / "b.png", "LACO75", report)  # with the start density
    assert (tmp_path / "a.png").stat().st_size > 10_000 and (tmp_path / "b.png").stat().st_size > 10_000


def test_same_seed_same_run_other_seed_other_run(start, tmp_path):
    run(start, tmp_path, "a", seed=3)
    run(start, tmp_path, "b", seed=3)
    run(start, tmp_path, "c", seed=4)
    a, b, c = (read_trace(tmp_path / f"{t}.csv")["temperature_K"] for t in "abc")
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)


@pytest.mark.parametrize("thermostat", ["langevin", "bussi", "nose-hoover", "berendsen"])
def test_thermostats_follow_the_melt_and_the_quench(start, tmp_path, thermostat):
    _, report = run(start, tmp_path, thermostat=thermostat, thermostat_damping_ps=0.02,
                    melt_time_ps=0.6, cool_rate_K_per_ps=3000, hold_time_ps=0.6, sampling_temperatures_K=[])
    trace = read_trace(tmp_path / "a.csv")
    melt = trace["temperature_K"][(trace["phase"] == "melt") & (trace["time_ps"] > 0.2)]
    hold = trace["temperature_K"][(trace["phase"] == "hold") & (trace["time_ps"] > 0.9)]
    assert melt.mean() == pytest.approx(600, rel=0.3)
    assert hold.mean() == pytest.approx(300, rel=0.3)
    assert report["thermostat"] == thermostat


def test_density_protocols_change_the_density_and_report_it(start, tmp_path):
    _, relaxed = run(start, tmp_path, "r", density_protocol="relax", relax_steps=30)
    _, npt = run(start, tmp_path, "n", density_protocol="npt", npt_ps=0.1, barostat="berendsen",
                 barostat_damping_ps=0.05, compressibility_per_bar=1.0e-4)
    _, mtk = run(start, tmp_path, "m", density_protocol="npt", npt_ps=0.1, barostat="mtk",
                 barostat_damping_ps=0.05)
    for report in (relaxed, npt, mtk):
        assert report["density"]["start_cell"]["value"] == pytest.approx(2.2)
        assert abs(report["density"]["after_density_protocol"]["value"] - 2.2) > 1e-3
    assert npt["frames_per_phase"]["npt"] == 10
    trace = read_trace(tmp_path / "n.csv")
    assert trace["phase"][0] == "npt" and np.ptp(trace["density_g_cm3"][:10]) > 0


def test_guards_stop_on_close_atoms_runaway_and_nan():
    atoms = Atoms("LiCl", positions=[[0, 0, 0], [0.4, 0, 0]], cell=[5, 5, 5], pbc=True)
    forces = np.zeros((2, 3))
    with pytest.raises(MDGuardError, match=r"0.40 Å apart, below melt_quench.guard_min_distance_A = 0.7"):
        check_guards(atoms, -1.0, forces, 300, "melt at 1 ps", 3000, 0.7)
    atoms.positions[1, 0] = 2.0
    with pytest.raises(MDGuardError, match=r"temperature 5000 K above melt_quench.max_temperature_K"):
        check_guards(atoms, -1.0, forces, 5000, "melt", 3000, 0.7)
    with pytest.raises(MDGuardError, match="NaN"):
        check_guards(atoms, float("nan"), forces, 300, "melt", 3000, 0.7)
    check_guards(atoms, -1.0, forces, 300, "melt", 3000, 0.7)


class BlowsUp(Calculator):
    """LJ until the n-th call, then NaN forces."""

    implemented_properties = ["energy", "forces", "stress"]

    def __init__(self, after):
        super().__init__()
        self.after, self.calls, self.inner = after, 0, lj()

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        self.inner.calculate(atoms, properties, system_changes)
        self.results = dict(self.inner.results)
        self.calls += 1
        if self.calls > self.after:
            self.results["forces"] = np.full_like(self.results["forces"], np.nan)


def test_nan_during_md_stops_the_run(start, tmp_path):
    with pytest.raises(MDGuardError, match="NaN"):
        run(start, tmp_path, calc=BlowsUp(after=30))


def test_runaway_during_md_stops_the_run(start, tmp_path):
    with pytest.raises(MDGuardError, match="runaway"):
        run(start, tmp_path, max_temperature_K=400)


def test_unwrapped_displacement_across_the_boundary():
    atoms = Atoms("LiO", positions=[[9.5, 1, 1], [5, 5, 5]], cell=[10, 10, 10], pbc=True)
    tracker = Displacements(atoms)
    for _ in range(6):  # Li walks 6 Å in +x through the boundary; positions kept wrapped
        atoms.positions[0, 0] += 1.0
        atoms.wrap()
        tracker.update(atoms)
    rms = tracker.rms_by_species()
    assert rms["Li"] == pytest.approx(6.0) and rms["O"] == pytest.approx(0.0)
    verdict = memory_verdict(rms, 2.0)
    assert verdict["lost_memory"] is False and verdict["slowest_species"] == "O"
    assert memory_verdict({"Li": 6.0, "O": 2.5}, 2.0)["lost_memory"] is True


def test_protocol_keys_are_validated_with_their_names():
    with pytest.raises(ConfigError, match="melt_quench.thermostat"):
        validate_config({**BASE, "melt_quench": {"thermostat": "andersen-ish"}})
    with pytest.raises(ConfigError, match="melt_quench.density_protocol"):
        validate_config({**BASE, "melt_quench": {"density_protocol": "guess"}})
    with pytest.raises(ConfigError, match="reference.calculator"):
        validate_config({**BASE, "reference": {"calculator": "pbe"}})
    with pytest.raises(ConfigError, match="reference.relabel.calculator"):
        validate_config({**BASE, "reference": {"relabel": {"calculator": "pbe"}}})
    with pytest.raises(ConfigError, match="crystal_file"):
        validate_config({**BASE, "structure": {"source": "crystal"}})


def test_rule_function_logs_density_and_memory_and_writes_the_report(start, tmp_path, capsys):
    import json

    from ase.io import write

    from dpglass.steps.workflow import melt_quench

    config = validate_config({**BASE, "reference": {
        "calculator": "ase.calculators.lj:LennardJones",
        "kwargs": {"sigma": 2.0, "epsilon": 0.02, "rc": 5.0, "smooth": True}}})
    write(tmp_path / "start.extxyz", start)
    paths = {name: str(tmp_path / file) for name, file in
             (("frames_path", "sampled.extxyz"), ("quenched_path", "quenched.extxyz"),
              ("trace_path", "trace.csv"), ("report_path", "melt_quench.json"))}
    melt_quench(start_path=str(tmp_path / "start.extxyz"),
                structure=dict(config["structure"], prerelax_steps=5), reference=config["reference"],
                protocol=protocol(density_protocol="relax", relax_steps=10),
                formula="LiAlCl2.5O0.75", **paths, threads=1)
    log = capsys.readouterr().out
    assert "density: 2.2000 g/cm^3 (start cell) ->" in log and "after density protocol 'relax'" in log
    assert "memory of the start cell" in log and "RMS displacement (unwrapped)" in log
    report = json.loads((tmp_path / "melt_quench.json").read_text())
    assert report["formula"] == "LiAlCl2.5O0.75" and report["density_protocol"] == "relax"
    assert report["melt_memory"]["threshold"] == {"value": 2.0, "error": None, "unit": "Å"}
    assert [run["target"]["value"] for run in report["sampling_runs"]] == [213, 393]
    assert len(read(paths["quenched_path"])) == 21


def test_missing_relabel_calculator_stops_before_any_md(tmp_path, monkeypatch):
    import sys

    from dpglass.reference.calculators import CalculatorUnavailable
    from dpglass.steps.workflow import melt_quench

    monkeypatch.setitem(sys.modules, "sevenn", None)
    config = validate_config({**BASE, "reference": {"relabel": {"calculator": "sevennet"}}})
    with pytest.raises(CalculatorUnavailable, match="pip install sevenn"):
        melt_quench(start_path=str(tmp_path / "no-start.extxyz"), structure=config["structure"],
                    reference=config["reference"], protocol=config["melt_quench"],
                    formula="LiAlCl2.5O0.75", frames_path=str(tmp_path / "a"),
                    quenched_path=str(tmp_path / "b"), trace_path=str(tmp_path / "c"),
                    report_path=str(tmp_path / "d"), threads=1)
    assert not any(tmp_path.iterdir())


def test_ps_and_bar_keys_give_the_dynamics_of_the_former_fs_and_gpa_values(start):
    """melt_quench damping in ps and pressure in bar (issue 16): the ASE dynamics get the same
    coupling as the former defaults in fs and GPa (100 fs, 1000 fs, 1e-4 GPa, 0.05/GPa)."""
    from ase import units
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution

    from dpglass.reference.meltquench import make_barostat, make_thermostat

    mq = protocol()  # the schema defaults of the renamed keys
    assert (mq["thermostat_damping_ps"], mq["barostat_damping_ps"], mq["pressure_bar"],
            mq["compressibility_per_bar"]) == (0.1, 1.0, 1.0, 5e-6)
    ev_per_A3_in_GPa = 160.21766208
    atoms = start.copy()
    atoms.calc = lj()
    MaxwellBoltzmannDistribution(atoms, temperature_K=600, rng=np.random.default_rng(0))
    langevin = make_thermostat("langevin", atoms, 1.0, 600, mq["thermostat_damping_ps"], None)
    assert langevin.fr == pytest.approx(1.0 / (100 * units.fs), rel=1e-12)
    bussi = make_thermostat("bussi", atoms, 1.0, 600, mq["thermostat_damping_ps"], None)
    assert bussi.taut == pytest.approx(100 * units.fs, rel=1e-12)
    berendsen = make_barostat("berendsen", atoms, mq)
    assert berendsen.taut == pytest.approx(100 * units.fs, rel=1e-12)
    assert berendsen.taup == pytest.approx(1000 * units.fs, rel=1e-12)
    assert berendsen.pressure == pytest.approx(1e-4 / ev_per_A3_in_GPa, rel=1e-6)
    assert berendsen.compressibility == pytest.approx(0.05 * ev_per_A3_in_GPa, rel=1e-6)
    assert berendsen.pressure == pytest.approx(1.0 * units.bar, rel=1e-6)  # ASE's own bar
