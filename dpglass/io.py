"""Result files, written atomically: a reader (or Snakemake) never sees a half-written one."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write a result file atomically: a temp file in the same directory, then os.replace.

    A reader (or Snakemake) never sees a half-written result file.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                         suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(text)
        os.replace(temp_name, target)
    except BaseException:
        os.unlink(temp_name)
        raise


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """The one way results are written as JSON: indented, no NaN, atomic."""
    write_text(path, json.dumps(obj, indent=2, allow_nan=False) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    with open(path) as stream:
        return json.load(stream)
