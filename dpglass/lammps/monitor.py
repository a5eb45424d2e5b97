"""How far a (possibly killed and resumed) run has got: the last completed chunk and an ETA."""

from __future__ import annotations

import re
from pathlib import Path

from dpglass.lammps.inputs import PROGRESS, RESTART


def completed_step(run_dir: str | Path) -> int:
    """Last step written to restart/last.restart (0 when the run has not finished a chunk)."""
    run_dir = Path(run_dir)
    progress = run_dir / PROGRESS
    if not (run_dir / RESTART).exists() or not progress.exists():
        return 0
    steps = re.findall(r"step (\d+)", progress.read_text())
    return int(steps[-1]) if steps else 0


class ProgressWatcher:
    """Progress with an ETA from a run's progress.txt (one line per finished chunk).

    The job process polls it while the LAMMPS process runs, so the MD process itself carries no
    monitoring thread.
    """

    def __init__(self, run_dir: str | Path, total_steps: int):
        from dpglass.core.progress import Progress

        self.run_dir = Path(run_dir)
        self.start = completed_step(self.run_dir)
        self.progress = Progress(max(total_steps - self.start, 1), f"LAMMPS {self.run_dir}", every_s=0.0)
        self.seen = len((self.run_dir / PROGRESS).read_text().splitlines()) if (self.run_dir / PROGRESS).exists() else 0

    def poll(self) -> None:
        path = self.run_dir / PROGRESS
        if not path.exists():
            return
        lines = path.read_text().splitlines()
        for line in lines[self.seen:]:
            found = re.search(r"chunk (\d+/\d+) (\S+) step (\d+)", line)
            if found and int(found.group(3)) > self.start:
                self.progress.update(int(found.group(3)) - self.start,
                                     f"chunk {found.group(1)} ({found.group(2)}) done")
        self.seen = len(lines)
