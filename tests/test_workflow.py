"""The workflow as a user runs it: planning (dry-run), config errors, and the whole chain for real."""

import json
import re

import numpy as np
import pytest

from workflow_helpers import REPO, run_snakemake

pytestmark = pytest.mark.snakemake

HEAVY_MODULES = ("tensorflow", "torch", "chgnet", "lammps", "deepmd", "dpdata")


def job_counts(stdout: str) -> dict[str, int]:
    table = stdout[stdout.index("Job stats:"):]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}


def test_paper_config_dry_run_plans_everything_without_heavy_imports(tmp_path):
    """`snakemake -n` on the paper's protocol: 5 compositions x 13 temperatures, no ML stack loaded."""
    result = run_snakemake("-n", "--configfile", REPO / "config/paper.yaml", "--directory", tmp_path,
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
])
def test_dry_run_stops_on_bad_config_naming_the_key(tmp_path, body, key):
    cfg = write_config(tmp_path, "compositions:\n  A:\n    formula: LiAlCl4\n" + body)
    result = run_snakemake("-n", "--configfile", cfg, "--directory", tmp_path)
    assert result.returncode != 0
    assert key in result.stdout + result.stderr
    assert not (tmp_path / "results").exists()


@pytest.fixture(scope="module")
def test_run(tmp_path_factory):
    """The test config, run once for the tests below: the whole chain on tiny sizes (minutes)."""
    workdir = tmp_path_factory.mktemp("test_config_run")
    # timeout: config/test.yaml has two glasses, so two melt-quenches, on a 2-core machine
    result = run_snakemake("--configfile", REPO / "config/test.yaml", "--directory", workdir,
                           "--cores", "2", timeout=2400)
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
        assert run["model_deviation"]["frames"] == 31 and isinstance(run["extrapolating"], bool)
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
    table = json.loads((test_run / "results" / "compositions.json").read_text())
    assert table["compositions"][0]["O_per_Al"]["value"] == 0.75


@pytest.mark.md
def test_rerun_finds_nothing_to_do(test_run):
    again = run_snakemake("--configfile", REPO / "config/test.yaml", "--directory", test_run,
                          "--cores", "2", "-n")
    assert again.returncode == 0
    assert "Nothing to be done" in again.stdout + again.stderr


REPORT_PLOTS = ["trace.png", "lcurve.png", "msd_T303_r0.png", "arrhenius.png", "rdf.png",
                "compositions.png"]


@pytest.mark.md
def test_report_contains_every_plot(test_run):
    report = test_run / "report.html"
    result = run_snakemake("--configfile", REPO / "config/test.yaml", "--directory", test_run,
                           "--report", report)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    html = report.read_text()
    for name in REPORT_PLOTS:
        assert name in html, f"{name} missing from the report"
    assert "Arrhenius plot for LACO75" in html  # captions are rendered
