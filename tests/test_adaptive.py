"""Adaptive run length through the real sweep job and runner: a soft Lennard-Jones Li/Cl liquid
(pair_style lj/cut, no model files), whose Li diffuses fast enough to meet a loose error target
within a few chunks; a tight target runs to the maximum; a killed adaptive job resumes its loop.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from labelled_frames import fcc_li_cl  # noqa: E402

from dpglass.analysis.conductivity import analyze_diffusion
from dpglass.config import validate_config
from dpglass.lammps.adaptive import MAXIMUM_REACHED, STATE, TARGET_MET
from dpglass.lammps.jobs import RunSpec, run_md_job

pytestmark = pytest.mark.md  # LAMMPS

TYPE_MAP = ["Li", "Cl"]
# A soft, hot LJ liquid: kT (600 K = 0.052 eV) is ten times the well depth.
LJ = ("pair_style lj/cut 3.5", "pair_coeff * * 0.005 2.2")
STOPPING = {"ion": "Li", "hop_distance_A": 1.0}
TEMPERATURE_K = 600.0


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from dpglass.lammps.data import write_data_file

    path = tmp_path_factory.mktemp("lj") / "data.lmp"
    write_data_file(fcc_li_cl(), path, TYPE_MAP)
    return str(path)


def sweep_config(**sweep):
    base = {"timestep_fs": 2.0, "equilibration_ps": 0.2, "production_ps": 2.0, "chunk_ps": 0.4,
            "dump_every_steps": 5, "thermo_every_steps": 10, "supercell": [1, 1, 1],
            "target_relative_error": 0.5, "max_production_ps": 4.0}
    base.update(sweep)
    cfg = validate_config({"compositions": {"X": {"formula": "LiCl"}}, "sweep": base})
    return cfg["sweep"], cfg["execution"]


def run_spec(root: Path, name: str) -> RunSpec:
    return RunSpec(TEMPERATURE_K, 0, str(root / name / "run.json"), str(root / name / "dump.lammpstrj"),
                   glass=1)


def run_job(data, sweep, execution, spec, preflight=False):
    return run_md_job(data, [], TYPE_MAP, sweep, execution, [spec], preflight, 1,
                         stopping=STOPPING, settings_override={"pair_commands": LJ})[0]


def test_loose_target_stops_early_and_the_analysis_sees_the_same_D(data, tmp_path):
    sweep, execution = sweep_config(target_relative_error=0.5)
    spec = run_spec(tmp_path, "loose")
    result = run_job(data, sweep, execution, spec)
    stopping = result["stopping"]
    assert stopping["reason"] == TARGET_MET
    assert result["glass"] == 1  # the run records its glass; nobody parses it out of a path
    assert stopping["stopped_at_production_ps"] < 4.0
    assert stopping["relative_error"] <= 0.5 and stopping["diffusive"]
    # the run's length is where the rule stopped it, and the dump holds exactly that production
    assert result["production_steps"] * 2.0 / 1000.0 == pytest.approx(stopping["stopped_at_production_ps"])
    assert result["frames"] == result["production_steps"] // 5 + 1
    # every earlier check failed the rule (else the run would have stopped there)
    assert all(not c["target_met"] for c in stopping["checks"][:-1])
    # the workflow's diffusion analysis of the finished run gives the D the rule stopped on
    analysed = analyze_diffusion(spec.dump, "Li", TEMPERATURE_K, fmt="lammps-dump", type_map=TYPE_MAP,
                                 timestep_fs=result["timestep_fs"], hop_distance_A=1.0)
    assert analysed["D"] == stopping["D"]
    assert not (spec.run_dir / STATE).exists() and not (spec.run_dir / "restart").exists()


def test_tight_target_runs_to_the_maximum(data, tmp_path):
    sweep, execution = sweep_config(target_relative_error=0.001, max_production_ps=1.2)
    result = run_job(data, sweep, execution, run_spec(tmp_path, "tight"))
    stopping = result["stopping"]
    assert stopping["reason"] == MAXIMUM_REACHED
    assert stopping["stopped_at_production_ps"] == pytest.approx(1.2)
    assert [c["production_ps"] for c in stopping["checks"]] == pytest.approx([0.4, 0.8, 1.2])
    assert result["production_steps"] == 600
    assert stopping["relative_error"] > 0.001


def test_killed_adaptive_job_resumes_its_loop(data, tmp_path):
    """SIGTERM the job after its first check; the rerun keeps that check and continues from the
    restart file instead of starting over."""
    sweep, execution = sweep_config(target_relative_error=0.001, max_production_ps=2.0)
    spec = run_spec(tmp_path, "killed")
    script = tmp_path / "job.py"
    script.write_text(
        "import json, sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from test_adaptive import run_job, run_spec\n"
        "from pathlib import Path\n"
        f"sweep, execution = json.loads({json.dumps(json.dumps([sweep, execution]))})\n"
        f"run_job({data!r}, sweep, execution, run_spec(Path({str(tmp_path)!r}), 'killed'))\n")
    job = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    state = spec.run_dir / STATE
    deadline = time.time() + 120
    while time.time() < deadline and not (state.exists()
                                          and len(json.loads(state.read_text())["checks"]) >= 1):
        time.sleep(0.2)
    job.send_signal(signal.SIGTERM)
    job.wait(timeout=60)
    assert job.returncode != 0
    assert not Path(spec.run_json).exists()
    first = json.loads(state.read_text())["checks"]
    assert first and first[0]["production_ps"] == pytest.approx(0.4)

    result = run_job(data, sweep, execution, spec)
    checks = result["stopping"]["checks"]
    # the first check survives the kill (kept, or redone on the same frames when its chunk end is
    # where the restart file stands: either way the same D)
    assert checks[0] == first[0]
    assert result["resumed_from_step"] > 0  # the rerun continued from the restart file
    assert result["stopping"]["reason"] == MAXIMUM_REACHED
    assert [c["production_ps"] for c in checks] == pytest.approx([0.4, 0.8, 1.2, 1.6, 2.0])


def test_plan_throughput_from_a_preflight_predicts_the_run(tmp_path):
    """`dpglass plan` reads the preflight's MD-loop throughput; it predicts that of a real
    production run of the same system to within a factor of 3. A 2048-atom cell, so that a step
    is compute (not output) and the preflight's 10 steps are long enough to time."""
    from dpglass.lammps.data import write_data_file
    from dpglass.report.plan import read_throughput

    big = tmp_path / "big.lmp"
    write_data_file(fcc_li_cl().repeat((4, 4, 4)), big, TYPE_MAP)
    sweep, execution = sweep_config(target_relative_error=None, production_ps=0.4, chunk_ps=0.2,
                                    equilibration_ps=0.02, dump_every_steps=100,
                                    thermo_every_steps=100)
    preflight = run_job(str(big), sweep, execution, RunSpec(TEMPERATURE_K, 0, str(
        tmp_path / "results" / "X" / "sweep" / "preflight" / "run.json"), None), preflight=True)
    assert preflight["md_loop_katom_step_per_s"]["unit"] == "katom-step/s"
    config = validate_config({"compositions": {"X": {"formula": "LiCl"}}})
    predicted, source = read_throughput(config, "X", tmp_path / "results")
    assert "preflight" in source
    run = run_job(str(big), sweep, execution, run_spec(tmp_path, "fixed"))
    assert run["stopping"] is None  # fixed length without a target
    measured = run["md_loop_katom_step_per_s"]["value"]
    print(f"preflight {predicted:.3g} katom-step/s, production {measured:.3g} katom-step/s")
    assert 1 / 3 < predicted / measured < 3


def test_preflight_separates_the_step_time_from_the_model_warm_up():
    """Each chunk starts a fresh pair_style deepmd and pays the model's warm-up W; two loops of
    50 and 150 steps (W + n t) give t and W apart."""
    from dpglass.lammps.runner import loops, step_time

    log = ("Loop time of 0.6 on 1 procs for 50 steps with 40 atoms\n\n100.0% CPU use with 1 MPI\n"
           "Loop time of 0.8 on 1 procs for 150 steps with 40 atoms\n\n50.0% CPU use with 1 MPI\n")
    found = loops(log)
    assert found == [(0.6, 50, 0.6), (0.8, 150, 0.4)]
    per_step, warm_up = step_time((0.5, 50, 0.5), (0.7, 150, 0.7))
    assert per_step == pytest.approx(0.002) and warm_up == pytest.approx(0.4)
    assert step_time((0.5, 50, 0.5), (0.4, 150, 0.4)) is None  # noise: no resolved step time


def test_loop_time_counts_the_share_of_a_core():
    from dpglass.lammps.runner import loop_time

    log = ("Loop time of 2.0 on 1 procs for 100 steps with 32 atoms\n\nPerformance: x\n"
           "50.0% CPU use with 1 MPI tasks x 1 OpenMP threads\n"
           "Loop time of 1.0 on 1 procs for 50 steps with 32 atoms\n\n"
           "190.0% CPU use with 1 MPI tasks x 2 OpenMP threads\n")
    assert loop_time(log) == (3.0, 150, 2.0 * 0.5 + 1.0)


def test_summary_says_where_the_target_was_met_and_what_the_fit_used(tmp_path):
    from dpglass.core.io import write_json
    from dpglass.report.markdown import summary_markdown
    from dpglass.report.summary import run_lengths
    from dpglass.core.units import quantity
    from test_report import summary

    paths = []
    for T, steps, reason, rel in ((303.0, 10000, MAXIMUM_REACHED, 0.9), (393.0, 5000, TARGET_MET, 0.15)):
        path = tmp_path / f"T{T:g}.json"
        write_json(path, {"temperature": quantity(T, None, "K"), "replica": 0, "glass": 0, "timestep_fs": 1.0,
                          "production_steps": steps,
                          "stopping": {"reason": reason, "relative_error": rel,
                                       "target_relative_error": 0.2}})
        paths.append(str(path))
    rows = run_lengths(paths)
    assert [r["production"]["value"] for r in rows] == [10.0, 5.0]
    assert rows[0]["production"]["unit"] == "ps"
    assert [r["stopped_because"] for r in rows] == [MAXIMUM_REACHED, TARGET_MET]
    text = summary_markdown({**summary(), "run_lengths": rows,
                             "arrhenius": {"temperatures_used": quantity([333.0, 393.0], None, "K")}})
    assert ("Run length (D relative error target 0.2): maximum reached at 303 K (10 ps); "
            "target met at 393 K (5 ps). The Arrhenius fit uses the resolved temperatures only: "
            "333, 393 K") in text


def _write_dump(path: Path, n_frames: int, every: int = 10) -> None:
    """A 4-atom Li/Cl dump (types 1, 2), atoms drifting randomly."""
    import numpy as np

    rng = np.random.default_rng(0)
    positions = rng.uniform(0, 10, (4, 3))
    lines = []
    for frame in range(n_frames):
        lines += ["ITEM: TIMESTEP", str(frame * every), "ITEM: NUMBER OF ATOMS", "4",
                  "ITEM: BOX BOUNDS pp pp pp", "0 10", "0 10", "0 10", "ITEM: ATOMS id type xu yu zu"]
        lines += [f"{i + 1} {1 + i % 2} {x:.4f} {y:.4f} {z:.4f}" for i, (x, y, z) in enumerate(positions)]
        positions = positions + rng.normal(0, 0.3, positions.shape)
    path.write_text("\n".join(lines) + "\n")


def test_stopping_check_goes_on_when_too_short_and_stops_on_real_errors(tmp_path):
    from dpglass.lammps.adaptive import StoppingRule, check

    rule = StoppingRule(target_relative_error=0.5, ion="Li", type_map=("Li", "Cl"), timestep_fs=1.0,
                        temperature_K=300.0, hop_distance_A=1.0)
    short = tmp_path / "short.lammpstrj"
    _write_dump(short, 3)
    result = check(rule, short)
    assert result["target_met"] is False and result["D"] is None
    assert "too short to analyse" in result["not_diffusive_because"][0]
    with pytest.raises(ValueError, match="Na"):  # an ion the trajectory lacks is no "too short"
        check(StoppingRule(0.5, "Na", ("Li", "Cl"), 1.0, 300.0, 1.0), short)
