"""dpglass.core.io writes result files atomically, and dpglass.core.units is a leaf module."""

import json
import math
import subprocess
import sys

import pytest

from dpglass.core.io import read_json, write_json, write_text


def test_a_write_that_fails_midway_leaves_the_old_file_whole(tmp_path):
    """The failure comes while the new content is being written (a lone surrogate cannot be encoded,
    so the text stream raises inside write), i.e. after a non-atomic writer would already have
    truncated the target."""
    target = tmp_path / "summary.md"
    write_text(target, "old result\n")
    with pytest.raises(UnicodeEncodeError):
        write_text(target, "new result, half written " + "x" * 100_000 + "\udcff")
    assert target.read_text() == "old result\n"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.md"]  # no temp file left behind


def test_write_json_round_trip_and_non_finite_numbers_rejected(tmp_path):
    target = tmp_path / "sub" / "out.json"
    write_json(target, {"D": {"value": 1.0, "error": 0.1, "unit": "cm^2/s"}})
    assert read_json(target)["D"]["unit"] == "cm^2/s"
    assert target.read_text().startswith("{\n  ")  # indented
    with pytest.raises(ValueError):
        write_json(target, {"bad": math.inf})
    assert json.loads(target.read_text())["D"]["value"] == 1.0


def test_units_imports_no_other_dpglass_module():
    code = ("import sys, dpglass.core.units\n"
            "print(sorted(m for m in sys.modules if m.startswith('dpglass')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['dpglass', 'dpglass.core', 'dpglass.core.units']"
