"""Labelling the selected frames with the reference, one result file per frame.

Each single point is written as soon as it is done (work/frame_NNNN.json), so a killed job
resumes where it stopped and never recomputes a finished frame. Failed points are dropped and
counted exactly as in the melt-quench labelling (dpglass.labelling).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from dpglass.io import write_json
from dpglass.labelling import count_reasons, single_point, too_many_failures
from dpglass.units import quantity


def _frame_file(work: Path, n: int) -> Path:
    return work / f"frame_{n:04d}.json"


def frame_key(atoms) -> str:
    """Identity of a frame (species, positions, cell): a stored result is reused only for the
    very frame it was computed for, never for another selection's n-th frame."""
    import hashlib

    digest = hashlib.sha256()
    digest.update(np.asarray(atoms.numbers, dtype=np.int64).tobytes())
    digest.update(np.round(np.asarray(atoms.positions, dtype=float), 8).tobytes())
    digest.update(np.round(np.asarray(atoms.cell[:], dtype=float), 8).tobytes())
    return digest.hexdigest()[:32]


def label_incrementally(frames: list, work: str | Path, make_calc, calculator_name: str,
                        max_failed_fraction: float) -> tuple[list, dict]:
    """Label `frames` (ASE Atoms); returns (labelled Atoms, report). `make_calc` is called once,
    and only when a frame still needs a single point."""
    from ase.calculators.singlepoint import SinglePointCalculator

    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    calc = None
    reused = computed = 0
    labelled, failures = [], []
    for n, frame in enumerate(frames):
        path = _frame_file(work, n)
        key = frame_key(frame)
        record = json.loads(path.read_text()) if path.exists() else None
        was_done = record is not None and record.get("frame_key") == key
        if was_done:
            reused += 1
        else:
            if calc is None:
                calc = make_calc()
            results, reason = single_point(frame, calc)
            record = ({"reason": reason} if results is None else
                      {"energy": results["energy"], "forces": results["forces"].tolist(),
                       "stress": None if results["stress"] is None else results["stress"].tolist()})
            record["frame_key"] = key
            write_json(path, record)
            computed += 1
        print(f"frame {n + 1}/{len(frames)}{' (reused)' if was_done else ''}: "
              + (f"failed ({record['reason']})" if "reason" in record else
                 f"E = {record['energy']:.4f} eV"), flush=True)
        if "reason" in record:
            failures.append({"frame": n, "reason": record["reason"],
                             "temperature_K": frame.info.get("temperature_K")})
            continue
        out = frame.copy()
        values = {"energy": record["energy"], "forces": np.array(record["forces"])}
        if record["stress"] is not None:
            values["stress"] = np.array(record["stress"])
        out.calc = SinglePointCalculator(out, **values)
        out.info["label_source"] = calculator_name
        labelled.append(out)
    counts = count_reasons(failures)
    fraction = len(failures) / len(frames) if frames else 0.0
    report = {
        "calculator": calculator_name,
        "frames_attempted": len(frames),
        "frames_labelled": len(labelled),
        "frames_failed": len(failures),
        "single_points_computed": computed,
        "single_points_reused": reused,
        "failed_fraction": quantity(fraction, unit="1"),
        "max_failed_fraction": quantity(max_failed_fraction, unit="1"),
        "failure_counts": counts,
        "failures": failures,
        "passed": not frames or (fraction <= max_failed_fraction and bool(labelled)),
    }
    print(f"labelling with {calculator_name}: {len(labelled)} labelled, {len(failures)} failed, "
          f"{computed} single points computed, {reused} reused from an earlier attempt")
    if not report["passed"]:
        raise too_many_failures(len(failures), len(frames), max_failed_fraction, counts)
    return labelled, report
