"""The package's layering, enforced: a module imports only from its own layer or the layers below,
counting the imports inside functions, and no import cycle anywhere.

    steps (the rules' entry points; cli) -> report (presentation, cost plan) -> config
      -> learning -> lammps -> training -> reference -> analysis -> core

(dpglass/__init__.py states the same sentence.) Library code therefore never imports a step module.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "dpglass"
# lowest first; a module's layer is the first of these its dotted name starts with
LAYERS = [
    ("core", ("dpglass.core",)),
    ("analysis", ("dpglass.analysis",)),
    ("reference", ("dpglass.reference",)),
    ("training", ("dpglass.training",)),
    ("lammps", ("dpglass.lammps",)),
    ("learning", ("dpglass.learning",)),
    ("config", ("dpglass.config",)),
    ("report", ("dpglass.report",)),
    ("steps", ("dpglass.steps", "dpglass.cli")),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported(path: Path, name: str, known: set[str]) -> set[str]:
    """Every dpglass module `name` imports, wherever the import statement stands."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # `from dpglass.x import y` imports module dpglass.x.y when there is one
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                       for alias in node.names]
        else:
            continue
        found.update(t for t in targets if t.split(".")[0] == "dpglass" and t != "dpglass")
    return found


def layer_of(name: str) -> int:
    for index, (_, prefixes) in enumerate(LAYERS):
        if any(name == p or name.startswith(p + ".") for p in prefixes):
            return index
    raise AssertionError(f"{name} is on no layer: add its package to LAYERS and to the sentence")


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: imported(path, name, known) for name, path in found.items()}


def test_every_module_is_on_a_layer_and_imports_only_downwards():
    edges = graph()
    wrong = []
    for name, targets in edges.items():
        if name == "dpglass":
            continue
        layer_of(name)
        for target in targets:
            if layer_of(target) > layer_of(name):
                wrong.append(f"{name} ({LAYERS[layer_of(name)][0]}) imports {target} "
                             f"({LAYERS[layer_of(target)][0]})")
    assert not wrong, "\n".join(sorted(wrong))


def test_no_import_cycle_counting_imports_inside_functions():
    edges = graph()
    state: dict[str, int] = {}
    cycles = []

    def visit(node, stack):
        state[node] = 1
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                cycles.append(" -> ".join(stack[stack.index(target):] + [target]))
            elif target not in state:
                visit(target, stack + [target])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert not cycles, "\n".join(cycles)


def test_the_checker_sees_imports_inside_functions_and_relative_ones(tmp_path):
    """The test above could pass by not seeing an import: check the scanner on a made-up module."""
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from dpglass.steps import workflow\n"
                      "from . import units\nimport dpglass.lammps.jobs\n")
    known = {"dpglass.steps", "dpglass.steps.workflow", "dpglass.core.units", "dpglass.lammps.jobs"}
    assert imported(source, "dpglass.core.m", known) == {"dpglass.steps.workflow",
                                                          "dpglass.core.units", "dpglass.lammps.jobs"}
    assert layer_of("dpglass.steps.workflow") > layer_of("dpglass.core.m")
    with pytest.raises(AssertionError):
        layer_of("dpglass.nowhere")
