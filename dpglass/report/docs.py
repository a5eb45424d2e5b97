"""config/README.md, generated from the schema so the two cannot drift apart.

Regenerate with: .venv/bin/python -m dpglass.report.docs > config/README.md (a test checks it is current).
"""

from __future__ import annotations

import json

from dpglass.config import RENAMED_KEYS, load_schema

HEADER = """# Configuration reference

Generated from `workflow/schemas/config.schema.yaml` by `python -m dpglass.report.docs`; do not edit by hand.
Every key has a default: a config file names only what it changes. Unknown keys, wrong types and
impossible values stop `snakemake` (also `snakemake -n`) with a message naming the key.
`snakemake --configfile my.yaml` runs my.yaml over these defaults (and nothing else);
`dpglass config show my.yaml` prints that effective config.

Shipped configs:
- `config/config.yaml`: the embedded demo (LiAlCl2.5O0.75, 13 temperatures 213–393 K, ~20 min on 2 cores).
- `config/test.yaml`: the same chain with tiny sizes, run by the test suite.
- `config/paper.yaml`: the seed paper's protocol (five compositions, 600 K / 30 ps melt, 100 K/ps
  quench, 213–393 K in 15 K steps, 3.5 ns production). Plan it with `snakemake -n --configfile config/paper.yaml`.

Execution resources (threads, GPUs, partitions) are not config keys: they belong to the rules and
the profiles in `workflow/profiles/`.
"""


def _type(spec: dict) -> str:
    if "enum" in spec:
        return " \\| ".join(f"`{v}`" for v in spec["enum"])
    kind = spec.get("type", "any")
    if kind == "array":
        return f"list of {spec.get('items', {}).get('type', 'any')}"
    return kind


def _constraints(spec: dict) -> str:
    parts = []
    for key, symbol in (("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤"),
                        ("exclusiveMaximum", "<"), ("minItems", "items ≥"), ("maxItems", "items ≤")):
        if key in spec:
            parts.append(f"{symbol} {spec[key]}")
    return ", ".join(parts)


def _rows(properties: dict, prefix: str):
    for name, spec in properties.items():
        key = f"{prefix}{name}"
        if spec.get("type") == "object" and "properties" in spec:
            yield from _rows(spec["properties"], key + ".")
            continue
        default = json.dumps(spec["default"]) if "default" in spec else "—"
        description = " ".join(spec.get("description", "").split())
        yield f"| `{key}` | {_type(spec)} | `{default}` | {_constraints(spec)} | {description} |"


def schema_markdown(schema: dict | None = None) -> str:
    schema = schema or load_schema()
    lines = [HEADER]
    for section, spec in schema["properties"].items():
        lines += [f"## `{section}`", "", " ".join(spec.get("description", "").split()), ""]
        lines += ["| key | type | default | constraint | description |", "|---|---|---|---|---|"]
        if section == "compositions":
            entry = spec["additionalProperties"]
            lines += list(_rows(entry["properties"], "compositions.<name>."))
        else:
            lines += list(_rows(spec["properties"], f"{section}."))
        lines.append("")
    return "\n".join(lines + renamed_keys_markdown())


def renamed_keys_markdown() -> list[str]:
    """The table of renamed keys (dpglass.config.RENAMED_KEYS): a config with an old key stops
    with the new key's name."""
    lines = ["## Renamed keys", "",
             "A config that still uses an old name stops with the new name (and, where the unit "
             "changed, the converted value).", "",
             "| old key | new key | unit change |", "|---|---|---|"]
    for old, rename in RENAMED_KEYS.items():
        unit = (f"{rename.old_unit} → {rename.new_unit} (× {rename.factor:g})"
                if rename.old_unit else "")
        lines.append(f"| `{old}` | `{rename.new}` | {unit} |")
    return lines + [""]


if __name__ == "__main__":
    print(schema_markdown(), end="")
