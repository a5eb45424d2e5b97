"""A finished run's files: the joined production trajectory, and the restart state it no longer needs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from dpglass.core.io import write_text
from dpglass.lammps.errors import LammpsRunError
from dpglass.lammps.inputs import PROGRESS, Plan


def join_dumps(run_dir: str | Path, plan: Plan, out_path: str | Path) -> int:
    """Concatenate the chunk dumps in order into `out_path` (atomically); returns the frame count.

    Raises when a frame is missing or repeated, so an inconsistent trajectory never looks done.
    """
    run_dir = Path(run_dir)
    files = [run_dir / c.dump_file for c in plan.stage("production")]
    missing = [str(f) for f in files if not f.exists()]
    if missing:
        raise LammpsRunError(f"production dump chunks missing: {', '.join(missing)}")
    steps = []
    for path in files:
        with open(path) as handle:
            previous = ""
            for line in handle:
                if previous.startswith("ITEM: TIMESTEP"):
                    steps.append(int(line))
                previous = line
    expected = list(range(plan.production_start, plan.total_steps + 1, plan.dump_every))
    if steps != expected:
        raise LammpsRunError(f"joined dump has frames at steps {steps[:3]}...{steps[-3:]} "
                             f"({len(steps)} frames); expected {len(expected)} frames every "
                             f"{plan.dump_every} steps from {plan.production_start}")
    out_path = Path(out_path)
    temp = out_path.with_name(f".{out_path.name}.tmp")
    with open(temp, "wb") as out:
        for path in files:
            with open(path, "rb") as handle:
                shutil.copyfileobj(handle, out)
    os.replace(temp, out_path)
    return len(steps)


def clean_run_state(run_dir: str | Path) -> None:
    """After a complete run: drop restart and chunk dumps, so a rerun by hand starts over."""
    run_dir = Path(run_dir)
    for name in ("restart", "chunks"):
        shutil.rmtree(run_dir / name, ignore_errors=True)
    (run_dir / PROGRESS).unlink(missing_ok=True)


def salvage_dump(run_dir: str | Path, out_path: str | Path) -> list[int]:
    """The complete frames of a failed run's chunk dumps (chunks/dump.NNNN.lammpstrj, in order),
    written to `out_path`; a frame cut off by the failure is dropped. Returns the frames' steps.

    For explorations of the learning loop, where the frames before a blow-up are data."""
    frames: list[tuple[int, list[str]]] = []
    for path in sorted((Path(run_dir) / "chunks").glob("dump.*.lammpstrj")):
        lines = path.read_text().splitlines(keepends=True)
        i = 0
        while i < len(lines):
            if not lines[i].startswith("ITEM: TIMESTEP"):
                i += 1
                continue
            try:
                n = int(lines[i + 3])
                complete = (lines[i + 2].startswith("ITEM: NUMBER OF ATOMS")
                            and lines[i + 8].startswith("ITEM: ATOMS") and len(lines) >= i + 9 + n
                            and lines[i + 8 + n].endswith("\n"))
            except (IndexError, ValueError):
                complete = False
            if not complete:
                break
            step = int(lines[i + 1])
            if not frames or step > frames[-1][0]:
                frames.append((step, lines[i:i + 9 + n]))
            i += 9 + n
    write_text(out_path, "".join(line for _, block in frames for line in block))
    return [step for step, _ in frames]
