"""Sweep stage without LAMMPS: step plan, in.lammps text, replication, model deviation, dump joining,
launch commands (MPI, GPU packing and device selection), failure diagnosis, config and summary flags."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from dpglass import config as dpconfig
from dpglass.core.io import write_json
from dpglass.lammps.data import choose_replication, read_data_header
from dpglass.lammps.deviation import deviation_summary, read_model_deviation
from dpglass.lammps.errors import LammpsRunError, diagnose
from dpglass.lammps.inputs import MDSettings, plan_steps, write_in_lammps
from dpglass.lammps.loader import child_env
from dpglass.lammps.outputs import join_dumps
from dpglass.lammps.runner import runner_command
from dpglass.report.summary import extrapolation_flags
from dpglass.lammps.jobs import RunSpec, gpu_lease, md_settings, process_plan, replica_seed, visible_gpus
from workflow_helpers import dry_run, shipped_config



def settings(**kw):
    base = dict(temperature_K=303, timestep_fs=2.0, equilibration_steps=25, production_steps=100,
                dump_every_steps=10, thermo_every_steps=10, thermostat_damping_ps=0.1, seed=7, npt_steps=15,
                chunk_steps=35)
    base.update(kw)
    return MDSettings(**base)


def test_plan_aligns_production_and_chunks_to_dump_interval():
    plan = plan_steps(settings())
    assert plan.production_start == 40  # 15 NPT + 25 NVT, rounded up to the dump interval
    assert plan.total_steps == 140
    prod = plan.stage("production")
    assert [(c.start, c.end) for c in prod] == [(40, 80), (80, 120), (120, 140)]  # chunk 35 -> 40
    assert [(c.start, c.end) for c in plan.stage("npt")] == [(0, 15)]
    assert plan.stage("nvt_equilibration")[0].start == 15
    assert plan.expected_frames == 11
    assert [c.index for c in plan.chunks] == list(range(1, len(plan.chunks) + 1))
    single = plan_steps(settings(chunk_steps=0, npt_steps=0))
    assert [c.stage for c in single.chunks] == ["nvt_equilibration", "production"]


def test_in_lammps_resumes_skips_done_chunks_and_dumps_each_frame_once(tmp_path):
    text = write_in_lammps(tmp_path / "in.lammps", "../data.lmp", ["../m0.pb", "../m1.pb"], ["Li", "Al", "Cl", "O"],
                           settings(supercell=(2, 1, 3), pressure_bar=5.0), title="303 K")
    assert (tmp_path / "in.lammps").read_text() == text
    assert 'if "$(is_file(restart/last.restart))" then' in text
    assert '"read_restart restart/last.restart"' in text and '"replicate 2 1 3"' in text
    assert '"velocity all create 303 7 dist gaussian mom yes rot yes"' in text
    assert "fix             ens_npt all npt temp 303 303 0.1 iso 5 5 1" in text
    assert "fix             ens_nvt all nvt temp 303 303 0.1" in text
    assert 'if "$(step) < 80 && 80 <= ${until}" then' in text and '"run 80 upto"' in text
    assert "variable        until index 140" in text  # by hand: the whole plan
    assert "out_freq 10 out_file model_devi/chunk0004.out" in text
    assert '"pair_coeff * * Li Al Cl O"' in text
    # production chunk 0 keeps its first frame (step 40); later chunks skip theirs (previous chunk's last)
    assert '"dump_modify traj sort id delay 40"' in text and '"dump_modify traj sort id delay 81"' in text
    assert "id type xu yu zu" in text
    assert text.count('"write_restart restart/next.restart"') == len(plan_steps(settings()).chunks)
    assert '"shell mv restart/next.restart restart/last.restart"' in text
    assert "fix             halt all halt 10 v_runaway > 0.5 error hard" in text
    assert "temp > 909" in text  # 3 x 303 K
    single = write_in_lammps(tmp_path / "one.lammps", "d", ["m.pb"], ["Li"], settings())
    assert "out_file" not in single


def test_replication_reaches_target_with_fewest_copies_and_most_cubic():
    assert choose_replication(100, (10.0, 10.0, 10.0), 100) == (1, 1, 1)
    assert sorted(choose_replication(100, (10.0, 10.0, 10.0), 750)) == [2, 2, 2]
    assert choose_replication(100, (20.0, 10.0, 10.0), 400) == (1, 2, 2)
    with pytest.raises(ValueError, match="target_atoms"):
        choose_replication(1, (1.0, 1.0, 1.0), 10**6, max_per_axis=5)


def test_data_header_and_target_atoms_config(tmp_path):
    data = tmp_path / "data.lmp"
    data.write_text("x\n\n42 atoms\n4 atom types\n0.0 10.0 xlo xhi\n0.0 11.0 ylo yhi\n0.0 12.0 zlo zhi\n\nAtoms\n")
    assert read_data_header(data) == (42, (10.0, 11.0, 12.0))
    from dpglass.lammps.jobs import replication

    # 100 atoms from a 42-atom 10 x 11 x 12 Å cell: 3 copies; along a (30 x 11 x 12 Å) is the most
    # cubic of (3,1,1), (1,3,1), (1,1,3). Neither the default sweep.supercell (2, 2, 2) nor a
    # supercell set beside target_atoms may win.
    cfg = dpconfig.validate_config({"compositions": {"X": {"formula": "LiCl"}},
                                    "sweep": {"target_atoms": 100, "supercell": [1, 2, 1]}})
    assert replication(cfg["sweep"], str(data)) == (3, 1, 1)
    cfg["sweep"]["target_atoms"] = 336  # 8 copies: the cube (2, 2, 2), not supercell's (1, 2, 1)
    assert replication(cfg["sweep"], str(data)) == (2, 2, 2)
    cfg["sweep"]["target_atoms"] = None
    assert replication(cfg["sweep"], str(data)) == (1, 2, 1)  # sweep.supercell as given


def test_md_settings_from_config_and_replica_seeds():
    cfg = dpconfig.validate_config({"compositions": {"X": {"formula": "LiCl"}},
                                    "sweep": {"npt_equilibration_ps": 2, "chunk_ps": 10, "replicas": 3}})
    s = md_settings(cfg["sweep"], 333.0, 2, (2, 2, 2))
    assert s.npt_steps == 2000 and s.chunk_steps == 10000 and s.production_steps == 3_500_000
    assert s.seed == replica_seed(cfg["sweep"], 2) != replica_seed(cfg["sweep"], 0)
    pre = md_settings(cfg["sweep"], 300.0, 0, (2, 2, 2), preflight=True)
    # the production system (supercell and deviation cadence), so `dpglass plan` can time it
    # two loops of different lengths (step time and warm-up apart), on the production supercell
    assert (pre.equilibration_steps, pre.production_steps, pre.supercell) == (50, 250, (2, 2, 2))
    assert pre.thermo_every_steps == 50 and pre.deviation_every_steps == 50  # production: 1000, 0


def test_sweep_thermostat_and_barostat_keys_reach_in_lammps(tmp_path):
    """sweep.thermostat_damping_ps, barostat_damping_ps, pressure_bar (formerly tdamp_ps, pdamp_ps):
    LAMMPS metal units are ps and bar, so the values go into the fixes as they are."""
    cfg = dpconfig.validate_config({"compositions": {"X": {"formula": "LiCl"}},
                                    "sweep": {"npt_equilibration_ps": 1, "thermostat_damping_ps": 0.2,
                                              "barostat_damping_ps": 2.5, "pressure_bar": 3.0,
                                              "supercell": [3, 1, 2]}})
    s = md_settings(cfg["sweep"], 333.0, 0, tuple(cfg["sweep"]["supercell"]))
    text = write_in_lammps(tmp_path / "in.lammps", "../data.lmp", ["../m0.pb"], ["Li", "Cl"], s)
    assert "fix             ens_npt all npt temp 333 333 0.2 iso 3 3 2.5" in text
    assert "fix             ens_nvt all nvt temp 333 333 0.2" in text
    assert '"replicate 3 1 2"' in text


def test_config_defaults_and_errors():
    cfg = dpconfig.validate_config({"compositions": {"X": {"formula": "LiCl"}}})
    assert dpconfig.temperatures(cfg) == [213 + 15 * i for i in range(13)]
    assert cfg["sweep"]["replicas"] == 1 and cfg["sweep"]["trust_level_eV_per_A"] == [0.2, 0.35]
    assert cfg["execution"]["runs_per_gpu_job"] == 1
    with pytest.raises(dpconfig.ConfigError, match="sweep.trust_level_eV_per_A"):
        dpconfig.validate_config({"compositions": {"X": {"formula": "LiCl"}},
                                  "sweep": {"trust_level_eV_per_A": [0.4, 0.2]}})
    with pytest.raises(dpconfig.ConfigError, match="execution.mpi_launcher"):
        dpconfig.validate_config({"compositions": {"X": {"formula": "LiCl"}},
                                  "execution": {"mpi_launcher": "aprun"}})
    cfg = dpconfig.validate_config({"compositions": {"X": {"formula": "LiCl"}},
                                    "sweep": {"temperatures_K": [300, 400, 500], "replicas": 2},
                                    "execution": {"runs_per_gpu_job": 4}})
    packs = dpconfig.sweep_packs(cfg)
    assert [len(p) for p in packs] == [4, 2]
    assert packs[0][:2] == [("300", "0"), ("300", "1")]


def write_chunk(path, steps, natoms=2):
    with open(path, "w") as out:
        for step in steps:
            out.write(f"ITEM: TIMESTEP\n{step}\nITEM: NUMBER OF ATOMS\n{natoms}\nITEM: BOX BOUNDS pp pp pp\n"
                      "0 1\n0 1\n0 1\nITEM: ATOMS id type xu yu zu\n")
            for i in range(natoms):
                out.write(f"{i + 1} 1 0 0 {step}\n")


def test_join_dumps_checks_every_frame_once(tmp_path):
    plan = plan_steps(settings(npt_steps=0, equilibration_steps=0, production_steps=40, chunk_steps=20))
    (tmp_path / "chunks").mkdir()
    write_chunk(tmp_path / "chunks/dump.0000.lammpstrj", [0, 10, 20])
    write_chunk(tmp_path / "chunks/dump.0001.lammpstrj", [30, 40])
    assert join_dumps(tmp_path, plan, tmp_path / "dump.lammpstrj") == 5
    assert (tmp_path / "dump.lammpstrj").read_text().count("ITEM: TIMESTEP") == 5
    write_chunk(tmp_path / "chunks/dump.0001.lammpstrj", [20, 30, 40])  # a duplicated frame
    with pytest.raises(LammpsRunError, match="expected 5 frames"):
        join_dumps(tmp_path, plan, tmp_path / "again.lammpstrj")
    assert not (tmp_path / "again.lammpstrj").exists()


def test_model_deviation_dedupes_chunk_boundaries_and_flags(tmp_path):
    (tmp_path / "model_devi").mkdir()
    header = "# step max_devi_v min_devi_v avg_devi_v max_devi_f min_devi_f avg_devi_f\n"
    (tmp_path / "model_devi/chunk0001.out").write_text(header + "0 0 0 0 0.1 0 0\n10 0 0 0 0.3 0 0\n")
    (tmp_path / "model_devi/chunk0002.out").write_text(header + "10 0 0 0 9.9 0 0\n20 0 0 0 0.5 0 0\n")
    steps, devi = read_model_deviation(tmp_path)
    assert steps.tolist() == [0, 10, 20] and devi.tolist() == [0.1, 0.3, 0.5]
    steps, devi = read_model_deviation(tmp_path, from_step=10)
    assert steps.tolist() == [10, 20]
    verdict = deviation_summary([0.1, 0.3, 0.5, 0.1], [0.2, 0.35], 0.2)
    assert verdict["fraction_above_lo"]["value"] == 0.5
    assert verdict["fraction_above_hi"]["value"] == 0.25
    assert verdict["extrapolating"] is True
    assert deviation_summary([0.1, 0.3], [0.2, 0.35], 0.01)["extrapolating"] is False


def test_summary_flags_extrapolating_temperatures(tmp_path):
    paths = []
    for temperature, flag in [(303, False), (393, True)]:
        path = tmp_path / f"T{temperature}.json"
        write_json(path, {"temperature": {"value": temperature, "error": None, "unit": "K"}, "replica": 0, "glass": 0,
                          "extrapolating": flag, "model_deviation": deviation_summary(
                              [0.1, 0.5 if flag else 0.1], [0.2, 0.35], 0.01)})
        paths.append(str(path))
    flags = extrapolation_flags(paths)
    assert [f["extrapolating"] for f in flags] == [False, True]
    assert flags[1]["fraction_above_hi"]["value"] == 0.5


def test_runner_command_for_mpi_launchers():
    python = str(Path(sys.executable))
    serial = runner_command("run", python=python)
    assert serial == [python, "-m", "dpglass.lammps.runner", "run"]
    mpi = runner_command("run", tasks=4, mpi="mpirun", python=python)
    assert mpi[1:3] == ["-np", "4"] and Path(mpi[0]).name == "mpirun" and mpi[3:] == serial
    assert runner_command("run", tasks=8, mpi="srun", python=python)[:3] == ["srun", "-n", "8"]
    with pytest.raises(ValueError, match="aprun"):
        runner_command("run", tasks=2, mpi="aprun")


def test_child_env_finds_libmpi_and_pins_threads_and_gpu():
    env = child_env({"LD_LIBRARY_PATH": "/opt/x", "PATH": "/bin"}, threads=3, cuda_device="2",
                    lammps_paths=False)
    assert env["OMP_NUM_THREADS"] == "3" and env["DP_INTRA_OP_PARALLELISM_THREADS"] == "3"
    assert env["CUDA_VISIBLE_DEVICES"] == "2"
    first = env["LD_LIBRARY_PATH"].split(":")[0]
    assert (Path(first) / "libmpi.so.12").exists() and env["LD_LIBRARY_PATH"].endswith(":/opt/x")


def test_mpirun_from_the_wheel_starts_two_ranks(tmp_path):
    # Each rank writes its own file: mpich's launcher forwards both ranks' stdout through one pipe and
    # may splice their writes ("rankrank 0 1" was seen in CI), so stdout cannot be parsed per rank.
    bin_dir = Path(sys.executable).parent
    script = ("import os, pathlib; r = os.environ['PMI_RANK']; "
              f"pathlib.Path({str(tmp_path)!r}, 'rank' + r).write_text(r + ' of ' + os.environ['PMI_SIZE'])")
    out = subprocess.run([str(bin_dir / "mpirun"), "-np", "2", sys.executable, "-c", script],
                         env=child_env(lammps_paths=False), capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == {"rank0": "0 of 2", "rank1": "1 of 2"}


def test_gpu_packing_commands_share_the_jobs_gpu(tmp_path):
    runs = [RunSpec(float(t), 0, str(tmp_path / f"T{t}/run.json"), None) for t in (303, 318, 333)]
    plan = process_plan(runs, ["1"], threads=6)
    assert [p["cuda_device"] for p in plan] == ["1", "1", "1"] and [p["threads"] for p in plan] == [2, 2, 2]
    spread = process_plan(runs, ["0", "3"], threads=2, tasks=2)
    assert [p["cuda_device"] for p in spread] == ["0", "3", "0"] and spread[0]["threads"] == 1
    assert process_plan(runs, None, threads=1)[0]["cuda_device"] is None


def test_gpu_selection_scheduler_or_local_lease(tmp_path):
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "2,3"}, []) == (["2", "3"], True)
    assert visible_gpus({}, [0, 1]) == (["0", "1"], False)
    assert visible_gpus({}, []) == (["0"], False)
    # two jobs on one node get different GPUs; the third waits until one is released
    with gpu_lease(["0", "1"], tmp_path) as first, gpu_lease(["0", "1"], tmp_path) as second:
        assert {first, second} == {"0", "1"}
        got = []
        waiter = threading.Thread(target=lambda: got.append(
            gpu_lease(["0", "1"], tmp_path, poll_s=0.05).__enter__()))
        waiter.start()
        waiter.join(0.3)
        assert got == []
    waiter.join(5)
    assert got and got[0] in {"0", "1"}


@pytest.mark.parametrize("message,expected", [
    ("ERROR: Unrecognized pair style 'deepmd' is part of the unknown package", "plugin was not loaded"),
    ("ERROR on proc 0: DeePMD-kit C API Error: Failed to parse the graph (protobuf)", "model file is unreadable"),
    ("ERROR: pair_coeff: element Br not found in the model", "do not match the model's type_map"),
    ("ERROR: Fix halt condition for fix-id halt met on step 40 with value 1", "blew up"),
    ("ERROR: Lost atoms: original 32 current 31", "blew up"),
])
def test_diagnose_says_what_to_fix(message, expected):
    assert expected in diagnose(message, ["m.pb"], ["Li", "Cl"], 300.0, 3.0)


@pytest.mark.snakemake
def test_dry_run_with_replicas_and_gpu_packing():
    out = dry_run(shipped_config("test.yaml"), "execution: {device: gpu, runs_per_gpu_job: 2}\n"
                                               "sweep: {temperatures_K: [303, 333, 363], replicas: 2}\n"
                                                   "structure: {glasses: 1}\n")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    text = out.stdout + out.stderr
    assert text.count("rule sweep_md_pack") == 2 * 3  # per composition 6 runs, 2 per GPU job
    assert "results/LACO75/sweep/T303/r1/dump.lammpstrj" in text
    assert "results/LACO75/analysis/diffusion_T363_r1.json" in text


def test_deviation_is_recorded_at_least_50_times_per_run_by_default():
    """The demo's adaptive runs (2-ps chunks, 4 ps at most, a thermo line every 500 steps) had 9
    deviation lines a run; the default now gives >= sweep.deviation_min_frames over the shortest
    run (one chunk), never fewer than one per thermo line, and an explicit interval wins."""
    from dpglass.lammps.jobs import deviation_interval

    import yaml

    sweep = dpconfig.validate_config(yaml.safe_load(shipped_config("config.yaml")))["sweep"]
    every = deviation_interval(sweep)
    shortest = int(sweep["chunk_ps"] * 1000 / sweep["timestep_fs"])
    assert shortest // every >= sweep["deviation_min_frames"] == 50
    assert md_settings(sweep, 300.0, 0, (1, 1, 1)).deviation_every_steps == every
    paper = dpconfig.validate_config(yaml.safe_load(shipped_config("paper.yaml")))["sweep"]
    assert deviation_interval(paper) == paper["thermo_every_steps"]  # already dense
    assert deviation_interval({**sweep, "deviation_every_steps": 7}) == 7
