"""Labelled frames: energy, forces and stress per frame, with failed single points accounted for.

Production pattern: explore with a cheap calculator (the melt-quench's), then relabel the sampled
frames with an expensive one (reference.relabel). A single point that raises (crash, SCF error),
reports itself unconverged or returns NaN/inf is dropped and counted with its reason; it is never
written and never silently skipped. More failures than `max_failed_fraction` fail the rule.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from dpglass.progress import Progress
from dpglass.io import write_json
from dpglass.units import quantity


class LabellingError(RuntimeError):
    """Too many failed single points."""


def single_point(atoms, calc) -> tuple[dict | None, str | None]:
    """(results, None) for a good calculation, (None, reason) for a failed one.

    Stress is optional (an ASE calculator may not implement it); energy and forces are required.
    """
    from ase.calculators.calculator import PropertyNotImplementedError

    work = atoms.copy()
    work.calc = calc
    try:
        energy = work.get_potential_energy()
        forces = work.get_forces()
        try:
            stress = work.get_stress()
        except PropertyNotImplementedError:
            stress = None
    except Exception as err:  # noqa: BLE001 - any crash of the reference code is a failed point
        message = str(err).strip().splitlines()[0][:200] if str(err).strip() else ""
        return None, f"{type(err).__name__}: {message}" if message else type(err).__name__
    if getattr(calc, "converged", True) is False:
        return None, "SCF not converged"
    values = [np.atleast_1d(energy), forces] + ([stress] if stress is not None else [])
    if not all(np.all(np.isfinite(v)) for v in values):
        return None, "non-finite energy, forces or stress"
    return {"energy": float(energy), "forces": np.array(forces),
            "stress": None if stress is None else np.array(stress)}, None


def stored_labels(atoms) -> tuple[dict | None, str | None]:
    """The labels a frame already carries (from the exploring calculator), checked like new ones."""
    if atoms.calc is None:
        return None, "frame has no labels"
    return single_point(atoms, atoms.calc)


def reason_category(reason: str) -> str:
    """Group reasons by their kind (exception class or fixed text) for the counts table."""
    return reason.split(":", 1)[0]


def count_reasons(failures: list[dict]) -> dict[str, int]:
    """Failed single points per reason category (reason_category)."""
    counts: dict[str, int] = {}
    for failure in failures:
        key = reason_category(failure["reason"])
        counts[key] = counts.get(key, 0) + 1
    return counts


def too_many_failures(failed: int, attempted: int, max_failed_fraction: float,
                      counts: dict[str, int]) -> LabellingError:
    """The error of a labelling whose failed fraction is above reference.max_failed_fraction."""
    fraction = failed / attempted if attempted else 1.0
    return LabellingError(
        f"{failed} of {attempted} single points failed ({100 * fraction:.1f} % > "
        f"reference.max_failed_fraction = {100 * max_failed_fraction:.1f} %); reasons: {counts}")


def label_frames(frames_path: str | Path, out_path: str | Path, report_path: str | Path,
                 calc=None, calculator_name: str = "explore", max_failed_fraction: float = 0.1,
                 stride: int = 1) -> dict:
    """Label every `stride`-th frame (or keep the stored labels when `calc` is None).

    Writes the good frames to `out_path` (extxyz, atomically) and the report to `report_path`;
    raises LabellingError when the failed fraction exceeds `max_failed_fraction` (the report is
    still printed to the log).
    """
    from ase.calculators.singlepoint import SinglePointCalculator
    from ase.io import iread, write

    out_path, report_path = Path(out_path), Path(report_path)
    all_frames = list(iread(str(frames_path), index=":"))
    frames = all_frames[::stride]
    progress = Progress(len(frames), f"labelling with {calculator_name}")
    tmp = out_path.with_name(f".{out_path.name}.tmp")
    tmp.unlink(missing_ok=True)
    failures, labelled, without_stress = [], 0, 0
    for n, frame in enumerate(frames):
        results, reason = stored_labels(frame) if calc is None else single_point(frame, calc)
        if results is None:
            failures.append({"frame": n * stride, "reason": reason,
                             "phase": frame.info.get("phase")})
        else:
            out = frame.copy()
            out.calc = SinglePointCalculator(out, **{k: v for k, v in results.items() if v is not None})
            out.info["label_source"] = calculator_name
            write(tmp, out, format="extxyz", append=True)
            labelled += 1
            without_stress += results["stress"] is None
        progress.update(n + 1, extra=f"{len(failures)} failed")
    counts = count_reasons(failures)
    failed_fraction = len(failures) / len(frames) if frames else 1.0
    report = {
        "calculator": calculator_name,
        "frames_in": len(all_frames),
        "stride": stride,
        "frames_attempted": len(frames),
        "frames_labelled": labelled,
        "frames_failed": len(failures),
        "frames_without_stress": without_stress,
        "failed_fraction": quantity(failed_fraction, unit="1"),
        "max_failed_fraction": quantity(max_failed_fraction, unit="1"),
        "failure_counts": counts,
        "failures": failures,
        "passed": bool(frames) and failed_fraction <= max_failed_fraction and labelled > 0,
    }
    print(f"labelling with {calculator_name}: {labelled} labelled, {len(failures)} failed "
          f"({100 * failed_fraction:.1f} %, limit {100 * max_failed_fraction:.1f} %), reasons {counts}")
    if not report["passed"]:
        tmp.unlink(missing_ok=True)
        print(json.dumps(report, indent=2))
        raise too_many_failures(len(failures), len(frames), max_failed_fraction, counts)
    os.replace(tmp, out_path)
    write_json(report_path, report)
    return report
