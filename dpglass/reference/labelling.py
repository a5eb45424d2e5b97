"""Labelled frames: energy, forces and stress per frame, with failed single points accounted for.

Production pattern: explore with a cheap calculator (the melt-quench's), then relabel the sampled
frames with an expensive one (reference.relabel). A single point that raises (crash, SCF error),
reports itself unconverged or returns NaN/inf is dropped and counted with its reason; it is never
written and never silently skipped. More failures than `max_failed_fraction` fail the rule.

One labeller (`label`) serves every labelling of the workflow: the melt-quench's sampled frames,
the loop's selected frames and the perturbed training frames. Each single point is written to its
own record under `work` as soon as it is done, named and checked by the frame (species,
positions, cell) and the calculator settings (name and kwargs): a killed job resumes where it
stopped and never recomputes a finished single point (with DFT at minutes per frame, a killed
relabelling of a few hundred frames would otherwise lose hours), and a record is reused only for
the very frame and settings it was computed for (another stride, selection or cutoff is another
record).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Callable

import numpy as np

from dpglass.core.io import write_json
from dpglass.core.progress import Progress
from dpglass.core.units import quantity

# frame.info keys a failure record keeps, to say which part of the run failed
FAILURE_INFO_KEYS = ("phase", "time_ps", "temperature_K", "glass", "iteration")


class LabellingError(RuntimeError):
    """Too many failed single points."""


def frame_key(atoms) -> str:
    """Identity of a frame (species, positions, cell): a stored result is reused only for the
    very frame it was computed for, never for another selection's n-th frame."""
    digest = hashlib.sha256()
    digest.update(np.asarray(atoms.numbers, dtype=np.int64).tobytes())
    digest.update(np.round(np.asarray(atoms.positions, dtype=float), 8).tobytes())
    digest.update(np.round(np.asarray(atoms.cell[:], dtype=float), 8).tobytes())
    return digest.hexdigest()[:32]


def settings_key(name: str, kwargs: dict | None) -> str:
    """Identity of a calculator's settings (its name and kwargs, key order ignored)."""
    text = json.dumps({"calculator": name, "kwargs": kwargs or {}}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def record_path(work: Path, frame: str, settings: str) -> Path:
    return work / f"frame_{frame[:16]}_{settings[:8]}.json"


def single_point(atoms, calc) -> tuple[dict | None, str | None]:
    """(results, None) for a good calculation, (None, reason) for a failed one.

    Stress is optional (an ASE calculator may not implement it); energy and forces are required.
    A calculator reports an unconverged SCF by raising an exception named SCFNotConverged
    (dpglass.reference.cp2k) or by setting `converged = False` (ASE's VASP); either is the reason
    'SCF not converged'.
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
        kind = "SCF not converged" if type(err).__name__ == "SCFNotConverged" else type(err).__name__
        return None, f"{kind}: {message}" if message else kind
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


def _as_record(results: dict | None, reason: str | None) -> dict:
    if results is None:
        return {"reason": reason}
    return {"energy": results["energy"], "forces": results["forces"].tolist(),
            "stress": None if results["stress"] is None else results["stress"].tolist()}


def _labelled_frame(frame, record: dict, calculator_name: str):
    from ase.calculators.singlepoint import SinglePointCalculator

    out = frame.copy()
    values = {"energy": record["energy"], "forces": np.array(record["forces"])}
    if record["stress"] is not None:
        values["stress"] = np.array(record["stress"])
    out.calc = SinglePointCalculator(out, **values)
    out.info["label_source"] = calculator_name
    return out


def calculator_arguments(name: str, kwargs: dict, work: str | Path, section: str,
                         elements: list[str], prepare: Callable | None = None) -> dict:
    """`label`'s make_calc, settings and describe for a calculator of dpglass.reference.calculators: built in
    work/calc once a frame needs it, after the installation check (reference.check_ready, whose
    errors name the config `section`) and `prepare()` (e.g. thread limits)."""
    from dpglass.reference.calculators import check_ready, describe, make_calculator

    def make_calc():
        check_ready(section, {"calculator": name, "kwargs": kwargs}, elements)
        if prepare is not None:
            prepare()
        return make_calculator(name, kwargs, directory=Path(work) / "calc")

    return {"make_calc": make_calc, "settings": settings_key(name, kwargs),
            "describe": lambda calc: describe(name, kwargs, calc)}


def label(frames: list, make_calc: Callable | None, calculator_name: str,
          max_failed_fraction: float, work: str | Path | None = None, settings: str = "",
          describe: Callable | None = None, frame_numbers: list[int] | None = None
          ) -> tuple[list, dict]:
    """Label `frames` (ASE Atoms); returns (labelled Atoms, report).

    make_calc: builds the calculator, called once and only when a frame still needs a single
        point; None keeps and checks the labels the frames carry (stored_labels).
    work: the directory of the per-frame records (resumable); None keeps none.
    settings: settings_key of the calculator (a record is reused only for the same settings).
    describe: calc -> what labels it gives (dpglass.reference.calculators.describe), kept in each record;
        the report lists every description its labels came from.
    frame_numbers: the frames' numbers in the report's failures (default 0, 1, ...).
    Raises LabellingError (after printing the report) when more than `max_failed_fraction` of
    the frames failed, or none was labelled.
    """
    work = None if work is None else Path(work)
    if work is not None:
        work.mkdir(parents=True, exist_ok=True)
    frame_numbers = list(range(len(frames))) if frame_numbers is None else list(frame_numbers)
    progress = Progress(len(frames), f"labelling with {calculator_name}")
    calc = None
    reused = computed = 0
    compute_s = 0.0
    labelled, failures, references = [], [], []
    without_stress = 0
    for n, frame in enumerate(frames):
        key = frame_key(frame)
        path = None if work is None else record_path(work, key, settings)
        record = json.loads(path.read_text()) if path is not None and path.exists() else None
        if record is not None and (record.get("frame_key"), record.get("settings_key")) == (key, settings):
            reused += 1
        elif make_calc is None:
            record = _as_record(*stored_labels(frame))
            if describe is not None:
                record["reference"] = describe(None)
        else:
            if calc is None:
                calc = make_calc()
            start = time.perf_counter()
            record = _as_record(*single_point(frame, calc))
            record["seconds"] = time.perf_counter() - start
            compute_s += record["seconds"]
            record.update(frame_key=key, settings_key=settings)
            if describe is not None:
                record["reference"] = describe(calc)
            if path is not None:
                write_json(path, record)
            computed += 1
            print(f"frame {frame_numbers[n]} ({n + 1}/{len(frames)}): "
                  + (f"failed ({record['reason']})" if "reason" in record else
                     f"E = {record['energy']:.4f} eV") + f" in {record['seconds']:.1f} s",
                  flush=True)
        if record.get("reference") is not None and record["reference"] not in references:
            references.append(record["reference"])
        if "reason" in record:
            failures.append({"frame": frame_numbers[n], "reason": record["reason"],
                             **{k: frame.info[k] for k in FAILURE_INFO_KEYS if k in frame.info}})
        else:
            labelled.append(_labelled_frame(frame, record, calculator_name))
            without_stress += record["stress"] is None
        progress.update(n + 1, extra=f"{computed} computed, {reused} reused, "
                                     f"{len(failures)} failed")
    counts = count_reasons(failures)
    fraction = len(failures) / len(frames) if frames else 0.0
    report = {
        "calculator": calculator_name,
        "reference": references,
        "frames_attempted": len(frames),
        "frames_labelled": len(labelled),
        "frames_failed": len(failures),
        "frames_without_stress": without_stress,
        "single_points_computed": computed,
        "single_points_reused": reused,
        "seconds_per_single_point": quantity(compute_s / computed if computed else None,
                                             unit="s"),
        "failed_fraction": quantity(fraction, unit="1"),
        "max_failed_fraction": quantity(max_failed_fraction, unit="1"),
        "failure_counts": counts,
        "failures": failures,
        "passed": not frames or (fraction <= max_failed_fraction and bool(labelled)),
    }
    print(f"labelling with {calculator_name}: {len(labelled)} labelled, {len(failures)} failed "
          f"({100 * fraction:.1f} %, limit {100 * max_failed_fraction:.1f} %), reasons {counts}; "
          f"{computed} single points computed, {reused} reused from an earlier attempt")
    if not report["passed"]:
        print(json.dumps(report, indent=2))
        raise too_many_failures(len(failures), len(frames), max_failed_fraction, counts)
    return labelled, report


def label_frames(frames_path: str | Path, out_path: str | Path, report_path: str | Path,
                 make_calc: Callable | None = None, calculator_name: str = "explore",
                 max_failed_fraction: float = 0.1, stride: int = 1, work: str | Path | None = None,
                 settings: str = "", describe: Callable | None = None) -> dict:
    """Label every `stride`-th frame of a file with `label` (or keep and check the stored labels
    when `make_calc` is None). Writes the good frames to `out_path` (extxyz) and the report to
    `report_path`, both atomically; raises LabellingError as `label` does (writing neither)."""
    from ase.io import read, write

    out_path, report_path = Path(out_path), Path(report_path)
    all_frames = read(str(frames_path), index=":")
    frames = all_frames[::stride]
    if not frames:
        raise LabellingError(f"{frames_path}: no frames to label")
    labelled, report = label(frames, make_calc, calculator_name, max_failed_fraction, work=work,
                             settings=settings, describe=describe,
                             frame_numbers=list(range(0, len(all_frames), stride)))
    report = {"calculator": calculator_name, "frames_in": len(all_frames), "stride": stride,
              **report}
    tmp = out_path.with_name(f".{out_path.name}.tmp")
    write(tmp, labelled, format="extxyz")
    os.replace(tmp, out_path)
    write_json(report_path, report)
    return report


def label_with_reference(frames: list, reference: dict, work: Path, threads: int) -> tuple[list, dict]:
    """Label `frames` with the training-label calculator (reference.relabel.calculator if set,
    else reference.calculator), one resumable single point per frame under `work`
    (dpglass.reference.labelling.label); the report carries the wall time.
    reference: learning.settings.label_reference_settings."""
    from dpglass.core.threads import limit_calculator_threads

    relabel = reference["relabel"]
    if relabel.get("calculator"):
        name, kwargs, section = relabel["calculator"], relabel["kwargs"], "reference.relabel"
    else:
        name, kwargs, section = reference["calculator"], reference["kwargs"], "reference"
    elements = sorted({symbol for frame in frames for symbol in frame.get_chemical_symbols()})
    start = time.perf_counter()
    labelled, report = label(frames, calculator_name=name,
                             max_failed_fraction=reference["max_failed_fraction"], work=work,
                             **calculator_arguments(name, kwargs, work, section, elements,
                                                    lambda: limit_calculator_threads(threads)))
    report["wall_time"] = quantity(time.perf_counter() - start, unit="s")
    return labelled, report
