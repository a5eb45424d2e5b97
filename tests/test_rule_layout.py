"""Every rule logs; heavy rules are benchmarked; scripts stay thin (STYLE.md)."""

import re

from workflow_helpers import REPO

HEAVY = {"melt_quench", "train_model", "compress_model", "sweep_md", "learning_train",
         "learning_compress"}
# the loop's training and compression are the first training's rules (`use rule ... with:`)
INHERITED = {"learning_train": "train_model", "learning_compress": "compress_model"}


def rule_blocks():
    """(name, body) of every rule, `use rule A as B with:` ones by B with their `with:` body."""
    for smk in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        text = smk.read_text()
        header = r"^(?:rule (\w+)|use rule \w+ as (\w+) with):\n"
        for match in re.finditer(header + r"((?:[ \t]+.*\n|\n)*)", text, re.M):
            yield match.group(1) or match.group(2), match.group(3)


def test_the_loop_trains_and_compresses_with_the_first_training_s_rules():
    """learning_train and learning_compress take threads, resources and script from
    train_model and compress_model: they override paths and add params only, so the two
    trainings (and the two compressions) cannot drift apart."""
    text = "".join(smk.read_text() for smk in (REPO / "workflow" / "rules").glob("*.smk"))
    uses = dict((child, parent) for parent, child in
                re.findall(r"^use rule (\w+) as (\w+) with:", text, re.M))
    assert uses == INHERITED
    blocks = dict(rule_blocks())
    for child in INHERITED:
        overridden = set(re.findall(r"^    (\w+):", blocks[child], re.M))
        assert overridden <= {"input", "output", "params", "log", "benchmark"}, (child, overridden)
    script = (REPO / "scripts" / "train_model.py").read_text()
    assert "retrain(" in script and "train_model(" in script


def test_every_rule_has_a_log_and_heavy_rules_a_benchmark():
    blocks = dict(rule_blocks())
    assert HEAVY <= set(blocks), set(blocks)
    for name, body in blocks.items():
        assert re.search(r"^    log:", body, re.M), f"rule {name} has no log:"
    for name in HEAVY:
        assert re.search(r"^    benchmark:\n\s+\"benchmarks/rules/", blocks[name], re.M), \
            f"heavy rule {name} has no benchmark: under benchmarks/rules/"


def test_scripts_only_feed_the_package():
    for script in sorted((REPO / "scripts").glob("*.py")):
        code = [line for line in script.read_text().splitlines() if line.strip() and not line.startswith("#")]
        imports = [line for line in code if line.startswith(("import ", "from "))]
        assert all(line.startswith("from dpglass") for line in imports), f"{script.name}: {imports}"
        assert len(code) <= 20, f"{script.name} holds logic ({len(code)} lines); move it into dpglass/"


def test_steps_take_named_arguments_only():
    """dpglass.steps adapts Snakemake objects to the package: every argument passed by name, and
    a step module holds the rules' functions only (library routines live below it)."""
    import inspect

    from dpglass.steps import learning, workflow

    for module, at_least in ((workflow, 15), (learning, 5)):
        functions = [(name, func) for name, func in inspect.getmembers(module, inspect.isfunction)
                     if func.__module__ == module.__name__ and not name.startswith("_")]
        assert len(functions) >= at_least
        for name, func in functions:
            kinds = {p.kind for p in inspect.signature(func).parameters.values()}
            assert kinds == {inspect.Parameter.KEYWORD_ONLY}, \
                f"{module.__name__}.{name} takes positional arguments"


def test_rule_files_hold_rules_and_helpers_live_in_common():
    for smk in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        if smk.name == "common.smk":
            continue
        text = smk.read_text()
        assert not re.search(r"^def ", text, re.M), f"{smk.name}: a function outside common.smk"
        assert "lambda" not in text, f"{smk.name}: a lambda (name it in common.smk)"
