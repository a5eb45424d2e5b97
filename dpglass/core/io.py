"""Result files, written atomically: a reader (or Snakemake) never sees a half-written one."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """A temporary path beside `path` (same suffix, so writers that go by it pick the format) that
    becomes `path` by os.replace when the block ends without an error, and is removed otherwise."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.",
                                         suffix=f".tmp{target.suffix}")
    os.close(handle)
    try:
        yield temp_name
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write a result file atomically: a temp file in the same directory, then os.replace.

    A reader (or Snakemake) never sees a half-written result file.
    """
    with atomic_path(path) as temp_name:
        Path(temp_name).write_text(text)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """The one way results are written as JSON: indented, no NaN, atomic."""
    write_text(path, json.dumps(obj, indent=2, allow_nan=False) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    with open(path) as stream:
        return json.load(stream)
