"""The config reference is generated from the schema, and the schema documents every key."""

import pytest

from dpglass.config import load_schema
from dpglass.report.docs import schema_markdown

from workflow_helpers import REPO


def leaves(properties, prefix=""):
    for name, spec in properties.items():
        if spec.get("type") == "object" and "properties" in spec:
            yield from leaves(spec["properties"], f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", spec


def test_config_readme_is_generated_from_the_current_schema():
    assert (REPO / "config" / "README.md").read_text() == schema_markdown(), \
        "config/README.md is stale: run .venv/bin/python -m dpglass.report.docs > config/README.md"


def test_every_key_has_type_default_and_description():
    schema = load_schema()
    entries = dict(leaves(schema["properties"]["compositions"]["additionalProperties"]["properties"],
                          "compositions.<name>."))
    for section, spec in schema["properties"].items():
        if section != "compositions":
            assert spec.get("description"), f"section {section} has no description"
            entries.update(leaves(spec["properties"], f"{section}."))
    optional_without_default = {"compositions.<name>.formula", "compositions.<name>.n_atoms",
                                "compositions.<name>.density_g_cm3", "sweep.temperatures_K",
                                "compositions.<name>.formula_units", "compositions.<name>.crystal_file",
                                "structure.formula_units", "structure.crystal_file",
                                "reference.relabel.calculator", "compositions.<name>.ion",
                                "compositions.<name>.ion_charge", "compositions.<name>.measured_gr"}
    markdown = schema_markdown()
    for key, spec in entries.items():
        assert spec.get("description"), f"{key} has no description"
        assert "type" in spec or "enum" in spec or key == "train.batch_size", f"{key} has no type"
        assert "default" in spec or key in optional_without_default, f"{key} has no default"
        assert f"`{key}`" in markdown


@pytest.mark.snakemake
def test_readme_rule_graph_names_every_rule():
    import re
    import subprocess
    import sys
    from pathlib import Path

    listed = subprocess.run([str(Path(sys.executable).with_name("snakemake")), "--list-rules",
                             "-s", str(REPO / "Snakefile"), "--configfile",
                             str(REPO / "config" / "test.yaml")],
                            capture_output=True, text=True, cwd=REPO, check=True).stdout
    rules = set(re.findall(r"^(\w+)", listed, re.M))  # docstring lines are indented
    readme = (REPO / "README.md").read_text()
    graph = readme[readme.index("```mermaid"):]
    graph = graph[:graph.index("```", 3)]
    in_graph = set(re.findall(r"id\d+\[(\w+)\]", graph))
    assert "sweep_md" in rules and in_graph == rules, rules ^ in_graph


def test_readme_stage_table_names_every_rule_and_its_outputs():
    """The README's stage table describes today's workflow: every rule, and the wildcards of
    today's paths (sweep runs under T<T>/r<rep>/, one diffusion result per run)."""
    import re
    import subprocess
    import sys
    from pathlib import Path

    listed = subprocess.run([str(Path(sys.executable).with_name("snakemake")), "--list-rules",
                             "-s", str(REPO / "Snakefile"), "--configfile",
                             str(REPO / "config" / "test.yaml")],
                            capture_output=True, text=True, cwd=REPO, check=True).stdout
    rules = set(re.findall(r"^(\w+)", listed, re.M)) - {"all"}
    readme = (REPO / "README.md").read_text()
    table = readme[readme.index("| stage | rules |"):]
    table = table[:table.index("\n\n")]
    named = set(re.findall(r"`(\w+)`", table))
    assert rules <= named, rules - named
    for path in ("sweep/T<T>/r<rep>/{run.json,dump.lammpstrj}", "analysis/diffusion_T<T>_r<rep>.json",
                 "sweep/preflight/run.json", "train/neighbor_stat.json"):
        assert path in table, path
    smk = "".join(p.read_text() for p in (REPO / "workflow" / "rules").glob("*.smk"))
    assert 'SWEEP_RUN = "results/{comp}/sweep{gs}/T{T}/r{rep}/"' in smk and 'SWEEP_RUN + "run.json"' in smk
    assert '"results/{comp}/analysis{gs}/diffusion_T{T}_r{rep}.json"' in smk
    assert "sweep_glass<g>/" in table  # glass g > 0 of structure.glasses
