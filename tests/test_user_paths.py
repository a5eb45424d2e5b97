"""Details a user meets: composition names with regex characters, calculators by import path."""


from workflow_helpers import REPO, job_counts, run_snakemake


def test_composition_names_with_dot_and_plus_plan_their_own_jobs(tmp_path):
    """'.' and '+' are allowed in names; unescaped in the wildcard regex, 'a.b' would also match
    'axb' and 'Li+' would be a quantifier."""
    cfg = tmp_path / "names.yaml"
    cfg.write_text("compositions:\n  LACO.75:\n    formula: LiAlCl2.5O0.75\n"
                   "  Li+rich:\n    formula: Li1.5AlCl3O0.75\n"
                   "sweep:\n  temperatures_K: [303]\n")
    result = run_snakemake("-n", "--configfile", cfg, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "results/LACO.75/summary.json" in result.stdout
    assert "results/Li+rich/summary.json" in result.stdout
    counts = job_counts(result.stdout)
    assert counts["melt_quench"] == 2 and counts["sweep_md"] == 2
    assert not (tmp_path / "results").exists()


def test_import_path_calculator_runs_in_the_rules_directory(tmp_path, monkeypatch):
    """A calculator given as package.module:Class writes into the directory the rule gives it
    (per composition), not into the shared current directory."""
    from dpglass.reference.calculators import make_calculator

    monkeypatch.chdir(tmp_path)
    own = tmp_path / "results" / "A" / "melt_quench" / "calc"
    calc = make_calculator("ase.calculators.emt:EMT", {}, directory=own)
    assert calc.directory == str(own) and own.is_dir()
    explicit = make_calculator("ase.calculators.emt:EMT", {"directory": "mine"}, directory=own)
    assert explicit.directory == "mine"  # a directory in kwargs wins
