"""The learning loop as a user runs it: the test config end to end with the real stack (CHGNet
reference, DeePMD-kit TF, LAMMPS), two label+retrain iterations, killed inside iteration 1's
labelling and resumed without recomputing finished single points."""

import json
import os
import signal
import subprocess
import time

import pytest

from workflow_helpers import REPO, SNAKEMAKE, dry_run, run_snakemake, shipped_config

pytestmark = pytest.mark.snakemake

# More frames per iteration than config/test.yaml, so the labelling job lives long enough to be
# killed in the middle.
RESUME_LAYER = "learning:\n  max_frames_per_iteration: 12\n"


def test_dry_run_plans_every_iteration_and_the_production_sweep():
    result = dry_run(shipped_config("test.yaml"))
    assert result.returncode == 0, result.stderr[-3000:]
    table = result.stdout[result.stdout.index("Job stats:"):]
    counts = {line.split()[0]: int(line.split()[1]) for line in table.splitlines()[3:]
              if len(line.split()) == 2 and line.split()[1].isdigit()}
    # 2 iterations + the final check, 3 sweep temperatures + 450 K, 2 models
    assert counts["learning_explore"] == 3 * 4
    assert counts["learning_convergence"] == 3
    assert counts["learning_label"] == 2 and counts["learning_train"] == 2 * 2
    assert counts["sweep_md"] == 3 and counts["learning_certificate"] == 1
    # the production sweep runs the last iteration's models
    assert "results/LACO75/learning/iter2/model_0/compressed.pb" in result.stdout


@pytest.mark.parametrize("body, key", [
    ("learning:\n  max_iterations: 1\n  trust_levels_eV_per_A: [0.4, 0.1]\n",
     "learning.trust_levels_eV_per_A"),
    ("learning:\n  max_iterations: 1\n  accurate_fraction: 1.2\n", "learning.accurate_fraction"),
    ("learning:\n  max_iterations: 1\n  max_frames_per_iteration: 0\n",
     "learning.max_frames_per_iteration"),
    ("learning:\n  max_iterations: 1\n  temperatures_K: []\n", "learning.temperatures_K"),
])
def test_bad_learning_config_stops_before_anything_runs(tmp_path, body, key):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("compositions:\n  A:\n    formula: LiAlCl4\n" + body)
    result = run_snakemake("-n", "--configfile", cfg, "--directory", tmp_path)
    assert result.returncode != 0
    assert key in result.stdout + result.stderr
    assert not (tmp_path / "results").exists()


def _wait_for(path, process, timeout):
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if path.exists():
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.05)
    return False


@pytest.fixture(scope="module")
def loop_run(tmp_path_factory):
    """config/test.yaml (+ more frames per iteration), SIGKILLed (snakemake and its jobs) as soon
    as iteration 1's labelling has finished its first single point, then rerun to the end."""
    workdir = tmp_path_factory.mktemp("learning_run")
    layer = workdir / "resume.yaml"
    layer.write_text(RESUME_LAYER)
    args = [SNAKEMAKE, "-s", str(REPO / "Snakefile"), "--configfile",
            str(REPO / "config/test.yaml"), str(layer), "--directory", str(workdir), "--cores", "2"]
    label_work = workdir / "results/LACO75/learning/iter1/label_work"
    with open(workdir / "first.log", "w") as log:
        first = subprocess.Popen(args, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True)
        reached = _wait_for(label_work / "frame_0000.json", first, timeout=1500)
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    assert reached, (workdir / "first.log").read_text()[-5000:]
    done_before = sorted(p.name for p in label_work.glob("frame_*.json"))
    # a hard kill leaves snakemake's lock behind: unlock, as a user would
    subprocess.run(args + ["--unlock"], cwd=REPO, capture_output=True, timeout=300, check=True)
    result = subprocess.run(args + ["--rerun-incomplete"], cwd=REPO, capture_output=True,
                            text=True, timeout=1800)
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    return workdir, done_before


@pytest.mark.md
def test_killed_labelling_resumes_without_redoing_finished_single_points(loop_run):
    workdir, done_before = loop_run
    report = json.loads((workdir / "results/LACO75/learning/iter1/labelling.json").read_text())
    assert report["frames_attempted"] > len(done_before) >= 1, "kill came too late to test resume"
    assert report["single_points_reused"] == len(done_before)
    assert report["single_points_computed"] == report["frames_attempted"] - len(done_before)


@pytest.mark.md
def test_two_iterations_retrain_from_the_previous_models_and_feed_the_sweep(loop_run):
    workdir, _ = loop_run
    results = workdir / "results/LACO75"
    loop = json.loads((results / "learning/loop.json").read_text())
    assert [row["iteration"] for row in loop["iterations"]] == [1, 2, 3]
    assert loop["verdict"].startswith(("converged", "ran out"))
    first = loop["iterations"][0]
    assert {t["temperature_K"] for t in first["temperatures"]} == {303, 333, 363, 450}
    for t in first["temperatures"]:
        assert t["accurate"] + t["candidate"] + t["failed"] == t["frames"] == 21  # 0.2 ps / 10 fs
    assert first["frames_labelled"] >= 1
    for k in (1, 2):
        selection = json.loads((results / f"learning/iter{k}/selection.json").read_text())
        if selection["selected"]:
            assert selection["selected"] <= 12
            log = (workdir / f"logs/LACO75/learning/train_iter{k}_model_0.log").read_text()
            previous = "../../../../train/model_0" if k == 1 else "../../../iter1/model_0"
            assert f"--init-frz-model {previous}/frozen.pb" in log
            assert "initialize training from the frozen model" in log
            val = json.loads((results / f"learning/iter{k}/model_0/validation.json").read_text())
            assert val["trained"] and val["validation"]["force_rmse"]["unit"] == "meV/Å"
            data = results / f"learning/iter{k}/data"
            assert (data / "type.raw").exists()
    # the production sweep ran the last iteration's models
    run = json.loads((results / "sweep/T303/r0/run.json").read_text())
    assert all("learning/iter2/model_" in m for m in run["models"])
    summary = json.loads((results / "summary.json").read_text())
    assert summary["learning"]["verdict"] == loop["verdict"]
    cert = summary["certificate"]
    assert {row["pair"] for row in cert["rdf"]} <= {"Li-Li", "Al-Al", "Al-O", "Al-Cl"}
    assert cert["energies_forces"]["force_rmse"]["unit"] == "meV/Å"
    assert cert["verdict"]["text"].startswith(("PASS", "FAIL"))
    markdown = (results / "summary.md").read_text()
    assert "## Concurrent learning" in markdown and "## Teacher–student certificate" in markdown
    assert (results / "learning/loop.png").read_bytes()[:4] == b"\x89PNG"
