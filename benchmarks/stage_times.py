"""Time per stage of a finished workflow run, from the rules' benchmark files.

Run from the directory the workflow ran in (the repository root for a normal run):
    .venv/bin/python benchmarks/stage_times.py [benchmarks/rules]
Prints per composition and stage the summed job wall time (s), the job count and the largest
single job; jobs of a stage may have run side by side, so the sum is CPU-occupancy-like, not the
stage's wall-clock span. Rules without a benchmark file (bookkeeping: seconds) are not listed.
"""

from __future__ import annotations

import csv
import sys
from collections import defaultdict
from pathlib import Path

STAGES = [  # (stage, file-name prefixes under benchmarks/rules/<comp>/)
    ("melt-quench (reference MD)", ("melt_quench",)),
    ("labelling (melt-quench frames)", ("label_frames",)),
    ("perturbed frames (reference single points)", ("perturbed_frames",)),
    ("training (first ensemble)", ("train_model", "compress_model")),
    ("learning: exploration", ("learning/explore_",)),
    ("learning: labelling", ("learning/label_",)),
    ("learning: retraining", ("learning/train_",)),
    ("learning: certificate", ("learning/certificate",)),
    ("production sweep", ("sweep_md",)),
]


def stage_of(relative: str) -> str:
    for stage, prefixes in STAGES:
        if relative.startswith(prefixes):
            return stage
    return "other"


def read_seconds(path: Path) -> float:
    with open(path) as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return sum(float(row["s"]) for row in rows) / max(1, len(rows))


def main(root: str = "benchmarks/rules") -> None:
    root_path = Path(root)
    for comp_dir in sorted(p for p in root_path.iterdir() if p.is_dir()):
        totals: dict[str, list[float]] = defaultdict(list)
        for tsv in comp_dir.rglob("*.tsv"):
            totals[stage_of(str(tsv.relative_to(comp_dir)))].append(read_seconds(tsv))
        print(f"{comp_dir.name}:")
        print(f"  {'stage':34s} {'sum (s)':>9s} {'jobs':>5s} {'longest (s)':>12s}")
        for stage, _ in STAGES + [("other", ())]:
            if stage in totals:
                values = totals[stage]
                print(f"  {stage:34s} {sum(values):9.1f} {len(values):5d} {max(values):12.1f}")


if __name__ == "__main__":
    main(*sys.argv[1:])
