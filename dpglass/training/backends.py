"""DeePMD-kit backends: the `dp` flag and the model file suffix of each (the one map; light to import)."""

from __future__ import annotations

from pathlib import Path

MODEL_SUFFIX = {"tensorflow": ".pb", "pytorch": ".pth"}
BACKEND_FLAG = {"tensorflow": "--tf", "pytorch": "--pt"}


def model_file(directory: str | Path, stem: str, backend: str) -> Path:
    return Path(directory) / f"{stem}{MODEL_SUFFIX[backend]}"
