"""Teacher–student certificate: does the final ensemble reproduce its teacher (the reference)?

Protocol. `teacher_runs` NVT runs with the reference calculator (the teacher) and `student_runs`
with the ensemble's first model (the student, the model that drives the sweep; DeePMD-kit's ASE
calculator) start from the same frame (glass 0's quenched glass) with the same thermostat
(melt_quench.thermostat and its damping), temperature, timestep, length and frame interval. They
differ only in the velocity seed and, for the student, in the potential.

Structure and dynamics: a permutation test. Under the null hypothesis "the student is the
teacher" the teacher_runs + student_runs runs are exchangeable, so every assignment of
`teacher_runs` of them to the teacher side is equally likely, and the rank of the actual
assignment's statistic among all assignments is an exact p-value (no Gaussian, no independence
of frames assumed: the teacher's own run-to-run noise sets the scale). Per run the features are
each partial g(r) on its r grid and the ion's time-averaged MSD (all time origins) at several lags
(log MSD). The statistic of a group of features (one RDF pair, the MSD) is the mean over its
features of the squared two-sample t statistic (pooled run-to-run variance); the omnibus
statistic, which decides, is the sum over groups. The student passes when p >= 1 - confidence.
A teacher compared with an independent teacher therefore passes with probability >= confidence
(tests/test_certificate.py measures it on a Lennard-Jones stand-in).

Energies and forces: every member on every teacher frame but the shared start (frames no
training ever saw), RMSE with an error from blocks of frames (block averaging over each run). The
force test asks the RMS of the force-error vector |F_student - F_teacher| to be below the loop's
low trust level (learning.trust_levels_eV_per_A[0]: the deviation below which the loop calls a
frame accurate) with the stated confidence (one-sided upper bound), for every member.
"""

from __future__ import annotations

import itertools
import math
import os
from pathlib import Path

import numpy as np

from dpglass.core.io import write_json
from dpglass.core.units import quantity

from dpglass.learning.settings import CertificateConfigError as CertificateError  # noqa: E402,F401
from dpglass.learning.settings import LAG_DIVISOR, MSD_LAGS  # noqa: E402

# features of g(r) are taken where some run has g above this (below it the bin is noise-free
# zero or too sparse to say anything)
RDF_MIN_G = 0.05
FORCE_BLOCK_PS = 0.5          # blocks of frames for the error of the force and energy RMSE
BLOCKS_PER_RUN = 4            # ... and at least this many blocks in each teacher run (short runs)
MAX_ASSIGNMENTS = 20000       # above this many assignments, a random sample of them


# ----------------------------------------------------------------------------------------------
# Settings and the MD of both sides


def run_seed(side: str, run: int, base_seed: int) -> int:
    """Velocity seed of run `run` of side teacher|student: all distinct."""
    return base_seed + (1000 if side == "student" else 0) + run


def start_atoms(path: str):
    from ase.io import read

    atoms = read(path)
    atoms.calc = None
    return atoms


def run_teacher(*, start_path: str, reference: dict, protocol: dict, run: int, seed: int,
                threads: int, out_path: str) -> dict:
    """One teacher run with the reference calculator (reference.calculator: the teacher the
    training frames of the melt-quench came from)."""
    from dpglass.reference.meltquench import nvt_run
    from dpglass.reference.calculators import make_calculator
    from dpglass.core.threads import limit_torch_threads

    limit_torch_threads(threads)
    calc = make_calculator(reference["calculator"], reference["kwargs"],
                           directory=Path(out_path).parent / f"calc_{run}")
    record = nvt_run(start_atoms(start_path), calc, protocol, run_seed("teacher", run, seed),
                     out_path, f"teacher run {run}", reference["calculator"])
    print(f"teacher run {run}: {record['frames']} frames, mean T "
          f"{record['mean_temperature']['value']:.0f} K, {record['wall_time']['value']:.0f} s")
    return record


def run_students(*, start_path: str, model: str, protocol: dict, runs: int, seed: int,
                 out_paths: list[str]) -> list[dict]:
    """`runs` student runs with DeePMD-kit's ASE calculator on `model`, same protocol."""
    from deepmd.calculator import DP

    from dpglass.reference.meltquench import nvt_run

    if len(out_paths) != runs:
        raise ValueError(f"{runs} student runs, {len(out_paths)} output paths")
    calc = DP(model=model)
    records = []
    for run, path in enumerate(out_paths):
        records.append(nvt_run(start_atoms(start_path), calc, protocol,
                               run_seed("student", run, seed), path, f"student run {run}",
                               f"deepmd:{os.path.basename(model)}"))
        print(f"student run {run}: {records[-1]['frames']} frames, mean T "
              f"{records[-1]['mean_temperature']['value']:.0f} K, "
              f"{records[-1]['wall_time']['value']:.0f} s")
    return records


# ----------------------------------------------------------------------------------------------
# Features and the permutation test


def read_run(path: str) -> list:
    from ase.io import read

    frames = read(path, index=":")
    if len(frames) < 2:
        raise CertificateError(f"{path}: {len(frames)} frame(s); a run needs many")
    return frames


def msd_lags(n_frames: int) -> list[int]:
    """Frame lags of the MSD features: n/3, n/6, ... (MSD_LAGS of them, all >= 1)."""
    top = n_frames // LAG_DIVISOR
    lags = sorted({max(1, top >> j) for j in range(MSD_LAGS)})
    if top < 2 ** (MSD_LAGS - 1):
        raise CertificateError(f"{n_frames} frames per run are too few for {MSD_LAGS} MSD lags "
                               f"(need {LAG_DIVISOR * 2 ** (MSD_LAGS - 1)})")
    return lags


def run_features(frames: list, pairs: list[str], r_max_A: float, ion: str, n_bins: int,
                 lags: list[int]) -> dict:
    """Per-run features: g(r) of every pair (on a common grid) and log MSD of `ion` at `lags`
    (time average over all origins; centre-of-mass drift removed)."""
    from dpglass.analysis.msd import msd_fft
    from dpglass.analysis.rdf import compute_rdfs
    from dpglass.analysis.trajectory import Frame, _minimum_image_step
    from dpglass.analysis.rdf_files import parse_pairs

    symbols = np.array(frames[0].get_chemical_symbols())
    if ion not in set(symbols):
        raise CertificateError(f"ion {ion!r} is not in the runs' species {sorted(set(symbols))}")
    wrapped = [Frame(None, symbols, a.positions.copy(), np.array(a.cell), False) for a in frames]
    rdf = compute_rdfs(wrapped, parse_pairs(pairs), r_max_A=r_max_A, n_bins=n_bins)
    unwrapped = [frames[0].positions.copy()]
    for a in frames[1:]:
        unwrapped.append(_minimum_image_step(unwrapped[-1], a.positions, np.array(a.cell)))
    positions = np.array(unwrapped)
    masses = frames[0].get_masses()
    com = (positions * masses[None, :, None]).sum(axis=1) / masses.sum()
    ions = positions[:, symbols == ion] - com[:, None, :]
    msd = msd_fft(ions).sum(axis=1)
    return {"r": np.asarray(rdf["r"]["value"]),
            "g": {name: np.asarray(g["value"]) for name, g in rdf["g"].items()},
            "first_peak": {name: p["value"] for name, p in rdf["first_peak"].items()},
            "msd": msd[lags], "lags": lags}


def feature_groups(features: list[dict]) -> dict[str, np.ndarray]:
    """Runs x features matrices per group: each RDF pair (bins where some run has g >
    RDF_MIN_G) and the ion MSD (log)."""
    groups = {}
    for name in features[0]["g"]:
        matrix = np.array([f["g"][name] for f in features])
        groups[f"RDF {name}"] = matrix[:, matrix.max(axis=0) > RDF_MIN_G]
    groups["ion MSD"] = np.log(np.array([f["msd"] for f in features]))
    return groups


def _t_squared(matrix: np.ndarray, mask: np.ndarray) -> float:
    """Mean over features of the squared two-sample t statistic of rows mask vs ~mask."""
    a, b = matrix[mask], matrix[~mask]
    n_a, n_b = len(a), len(b)
    pooled = (((a - a.mean(0)) ** 2).sum(0) + ((b - b.mean(0)) ** 2).sum(0)) / (n_a + n_b - 2)
    keep = pooled > 1e-12 * (1.0 + np.abs(matrix).max(0) ** 2)
    if not keep.any():
        return 0.0
    t2 = (a.mean(0) - b.mean(0)) ** 2 / (pooled * (1.0 / n_a + 1.0 / n_b))
    return float(t2[keep].mean())


def assignments(n_teacher: int, n_student: int, rng) -> list[tuple[int, ...]]:
    """Every choice of which runs are the teacher's (the actual one, runs 0..n_teacher-1,
    first), or a random sample with it when there are more than MAX_ASSIGNMENTS."""
    n = n_teacher + n_student
    actual = tuple(range(n_teacher))
    if math.comb(n, n_teacher) <= MAX_ASSIGNMENTS:
        return list(itertools.combinations(range(n), n_teacher))
    sample = {actual}
    while len(sample) < MAX_ASSIGNMENTS:
        sample.add(tuple(sorted(rng.choice(n, n_teacher, replace=False).tolist())))
    return [actual] + sorted(sample - {actual})


def permutation_test(groups: dict[str, np.ndarray], n_teacher: int, seed: int = 0) -> dict:
    """p-values of every group and of the omnibus statistic (sum over groups) for rows
    0..n_teacher-1 (teacher) against the rest (student)."""
    n = next(iter(groups.values())).shape[0]
    if n_teacher < 2 or n - n_teacher < 2:
        raise CertificateError(f"{n_teacher} teacher and {n - n_teacher} student runs: the "
                               f"run-to-run spread needs at least 2 on each side")
    chosen = assignments(n_teacher, n - n_teacher, np.random.default_rng(seed))
    values = {name: np.empty(len(chosen)) for name in groups}
    for k, teacher in enumerate(chosen):
        mask = np.zeros(n, bool)
        mask[list(teacher)] = True
        for name, matrix in groups.items():
            values[name][k] = _t_squared(matrix, mask)
    omnibus = sum(values.values())
    actual = next(k for k, t in enumerate(chosen) if t == tuple(range(n_teacher)))

    def p_value(series):
        return float(np.mean(series >= series[actual] * (1.0 - 1e-12)))

    return {"assignments": len(chosen), "exhaustive": len(chosen) == math.comb(n, n_teacher),
            "smallest_p": 1.0 / len(chosen) if len(chosen) == math.comb(n, n_teacher) else None,
            "groups": {name: {"statistic": float(values[name][actual]),
                              "p_value": p_value(values[name])} for name in groups},
            "omnibus": {"statistic": float(omnibus[actual]), "p_value": p_value(omnibus)}}


def describe_groups(teacher: list[dict], student: list[dict]) -> list[dict]:
    """Readable side by side numbers: per pair the RMS difference of the mean g(r) and the
    teacher's own run-to-run RMS difference (its noise floor), first peaks; the MSD per lag."""
    rows = []
    for name in teacher[0]["g"]:
        g_t = np.array([f["g"][name] for f in teacher])
        g_s = np.array([f["g"][name] for f in student])
        noise = np.mean([np.sqrt(np.mean((a - b) ** 2))
                         for a, b in itertools.combinations(g_t, 2)])
        peaks_t = [f["first_peak"][name] for f in teacher if f["first_peak"][name] is not None]
        peaks_s = [f["first_peak"][name] for f in student if f["first_peak"][name] is not None]
        rows.append({"group": f"RDF {name}",
                     "rms_difference_of_means": quantity(
                         float(np.sqrt(np.mean((g_t.mean(0) - g_s.mean(0)) ** 2)))),
                     "teacher_run_to_run_rms": quantity(float(noise)),
                     "first_peak_teacher": _mean_sd(peaks_t, "Å"),
                     "first_peak_student": _mean_sd(peaks_s, "Å")})
    dt_ps = teacher[0]["dt_ps"]
    msd_t = np.array([f["msd"] for f in teacher])
    msd_s = np.array([f["msd"] for f in student])
    rows.append({"group": "ion MSD",
                 "lags": quantity([lag * dt_ps for lag in teacher[0]["lags"]], unit="ps"),
                 "teacher": quantity(msd_t.mean(0).tolist(), _sd(msd_t), "Å^2"),
                 "student": quantity(msd_s.mean(0).tolist(), _sd(msd_s), "Å^2")})
    return rows


def _sd(matrix: np.ndarray):
    return (matrix.std(0, ddof=1) / np.sqrt(len(matrix))).tolist() if len(matrix) > 1 else None


def _mean_sd(values: list[float], unit: str) -> dict:
    if not values:
        return quantity(None, unit=unit)
    return quantity(float(np.mean(values)),
                    float(np.std(values, ddof=1) / np.sqrt(len(values))) if len(values) > 1
                    else None, unit)


# ----------------------------------------------------------------------------------------------
# Energies and forces on the teacher's frames


def model_type_map(model: str) -> list[str]:
    from deepmd.infer import DeepPot

    return list(DeepPot(model).get_type_map())


def check_models(models: list[str], species: set[str]) -> list[str]:
    """The ensemble's type map; every member must have the same one and cover `species`."""
    maps = {m: model_type_map(m) for m in models}
    first = maps[models[0]]
    for model, type_map in maps.items():
        if type_map != first:
            raise CertificateError(f"models have different type maps: {models[0]} {first}, "
                                   f"{model} {type_map}")
    missing = sorted(species - set(first))
    if missing:
        raise CertificateError(f"teacher species {missing} are not in the models' type map "
                               f"{first}")
    return first


def predictions(model: str, frames: list):
    """(energy in eV, forces in eV/Å as (atoms, 3)) of `model` for each frame, in order."""
    from deepmd.infer import DeepPot

    dp = DeepPot(model)
    type_map = list(dp.get_type_map())
    for atoms in frames:
        types = [type_map.index(s) for s in atoms.get_chemical_symbols()]
        energy, forces, _ = dp.eval(atoms.positions.reshape(1, -1),
                                    np.array(atoms.cell).reshape(1, -1), types)
        yield float(energy.ravel()[0]), forces.reshape(-1, 3)


def frame_errors(model: str, runs: list[list]) -> list[np.ndarray]:
    """Per list of labelled frames, per frame: [sum of squared force-component errors, number
    of atoms, energy error per atom] of `model` against the frames' reference labels."""
    out = []
    for frames in runs:
        rows = []
        for atoms, (energy, forces) in zip(frames, predictions(model, frames)):
            df = forces - atoms.get_forces()
            rows.append([float((df ** 2).sum()), len(atoms),
                         (energy - atoms.get_potential_energy()) / len(atoms)])
        out.append(np.array(rows))
    return out


def blocked_rmse(runs: list[np.ndarray], block: int, confidence: float) -> dict:
    """Force RMSE (per component and of the error vector) and energy RMSE per atom over the
    frames of all runs, errors from the scatter of blocks of `block` frames (correlated frames
    within a block, independent blocks), and the one-sided upper confidence bound of the
    vector RMS (Student t over the blocks)."""
    from scipy import stats

    # the energy error per atom splits into a constant offset (a shift of the per-type energy
    # bias: no force, no dynamics at a fixed composition; retraining with a small energy weight
    # lets it drift) and what varies from frame to frame
    offset = float(np.mean(np.concatenate([rows[:, 2] for rows in runs])))
    blocks = []
    for rows in runs:
        for start in range(0, len(rows) - block + 1, block):
            part = rows[start:start + block]
            blocks.append([part[:, 0].sum() / part[:, 1].sum(), np.mean(part[:, 2] ** 2),
                           np.mean(part[:, 2]), np.mean((part[:, 2] - offset) ** 2)])
    blocks = np.array(blocks)
    if len(blocks) < 3:
        raise CertificateError(f"{len(blocks)} blocks of {block} frames: too few frames for an "
                               f"error of the force RMSE (learning.certificate.time_ps)")
    n = len(blocks)
    mean, sem = blocks.mean(0), blocks.std(0, ddof=1) / np.sqrt(n)
    force_ms, energy_ms, _, spread_ms = mean  # mean squares: force vector per atom, energy per
    # atom, energy per atom about the offset
    force_vec = math.sqrt(force_ms)
    upper = math.sqrt(force_ms + stats.t.ppf(confidence, n - 1) * sem[0])
    return {"force_rmse": quantity(1000 * force_vec / math.sqrt(3),
                                   1000 * sem[0] / (2 * force_vec) / math.sqrt(3), "meV/Å"),
            "force_error_vector_rms": quantity(1000 * force_vec,
                                               1000 * sem[0] / (2 * force_vec), "meV/Å"),
            "force_error_vector_rms_upper": quantity(1000 * upper, unit="meV/Å"),
            "energy_rmse": quantity(1000 * math.sqrt(energy_ms),
                                    1000 * sem[1] / (2 * math.sqrt(energy_ms)), "meV/atom"),
            "energy_offset": quantity(1000 * offset, 1000 * sem[2], "meV/atom"),
            "energy_rmse_without_offset": quantity(
                1000 * math.sqrt(spread_ms), 1000 * sem[3] / (2 * math.sqrt(spread_ms)),
                "meV/atom"),
            "blocks": n, "frames_per_block": block}


# ----------------------------------------------------------------------------------------------
# The certificate


def certify(*, teacher_paths: list[str], student_paths: list[str], models: list[str], ion: str,
            rdf_pairs: list[str], rdf_r_max_A: float, trust_low_eV_per_A: float,
            confidence: float, out_json: str, reference_label: str, n_bins: int = 100,
            seed: int = 0) -> dict:
    """Compare the student runs with the teacher runs (module docstring); write the verdict."""
    teacher = [read_run(p) for p in teacher_paths]
    student = [read_run(p) for p in student_paths]
    _check_runs(teacher, student, teacher_paths, student_paths)
    species = set(teacher[0][0].get_chemical_symbols())
    check_models(models, species)
    n_frames = min(len(r) for r in teacher + student)
    lags = msd_lags(n_frames)
    dt_ps = float(teacher[0][1].info["time_ps"] - teacher[0][0].info["time_ps"])
    pairs = [p for p in rdf_pairs if set(p.split("-")) <= species]
    cell_half = 0.999 * 0.5 * _min_width(teacher[0][0])
    r_max = min(rdf_r_max_A, cell_half)
    features = [dict(run_features(run[:n_frames], pairs, r_max, ion, n_bins, lags), dt_ps=dt_ps)
                for run in teacher + student]
    test = permutation_test(feature_groups(features), len(teacher), seed)
    alpha = 1.0 - confidence
    structure_passed = test["omnibus"]["p_value"] >= alpha
    # 0.5-ps blocks, shorter in short runs (config/test.yaml's 0.4 ps) so that every teacher run
    # gives BLOCKS_PER_RUN blocks; frame 0 (the start, shared by every run) is left out
    block = max(2, min(int(round(FORCE_BLOCK_PS / dt_ps)),
                       (min(len(r) for r in teacher) - 1) // BLOCKS_PER_RUN))
    members = []
    for n, model in enumerate(models):
        # frame 0 of a teacher run is the start every run shares
        errors = blocked_rmse(frame_errors(model, [run[1:] for run in teacher]), block,
                              confidence)
        errors["model"] = os.path.relpath(model)
        errors["passed"] = (errors["force_error_vector_rms_upper"]["value"]
                            <= 1000 * trust_low_eV_per_A)
        members.append(errors)
    forces_passed = all(m["passed"] for m in members)
    failed = [f"{name} (p = {g['p_value']:.3f})" for name, g in test["groups"].items()
              if g["p_value"] < alpha]
    if not structure_passed:
        failed.insert(0, f"structure and dynamics (omnibus p = {test['omnibus']['p_value']:.3f})")
    if not forces_passed:
        failed.append("forces (" + ", ".join(
            f"model {n}: RMS |ΔF| ≤ {m['force_error_vector_rms_upper']['value']:.0f} meV/Å"
            for n, m in enumerate(members) if not m["passed"]) + ")")
    passed = structure_passed and forces_passed
    first = teacher[0][0].info
    result = {
        "reference": reference_label,
        "passed": passed,
        "temperature": quantity(first.get("protocol_temperature_K"), unit="K"),
        "time": quantity(dt_ps * (n_frames - 1), unit="ps"),
        "frame_interval": quantity(dt_ps, unit="ps"),
        "thermostat": first.get("protocol_thermostat"),
        "teacher_runs": len(teacher), "student_runs": len(student), "frames_per_run": n_frames,
        "teacher_calculator": first.get("calculator"),
        "models": [os.path.relpath(m) for m in models],
        "confidence": confidence,
        "method": ("permutation test over the assignment of runs to teacher and student "
                   "(exact under exchangeability); statistic per group: mean squared two-sample "
                   "t over its features; omnibus: their sum"),
        "permutation_test": test,
        "side_by_side": describe_groups(features[:len(teacher)], features[len(teacher):]),
        "rdf_r_max": quantity(r_max, unit="Å"),
        "forces": {"threshold_vector_rms": quantity(1000 * trust_low_eV_per_A, unit="meV/Å"),
                   "threshold_from": "learning.trust_levels_eV_per_A[0]",
                   "frames": sum(len(r) - 1 for r in teacher), "members": members,
                   "passed": forces_passed},
        "verdict": {"passed": passed, "failed_checks": failed,
                    "text": (f"PASS: the student's structure and ion dynamics are the teacher's "
                             f"within its own run-to-run noise (p = "
                             f"{test['omnibus']['p_value']:.2f} ≥ {alpha:.2g}) and every "
                             f"member's force error is below the low trust level"
                             if passed else "FAIL: " + "; ".join(failed))},
    }
    write_json(out_json, result)
    print(result["verdict"]["text"])
    return result


def _min_width(atoms) -> float:
    from dpglass.analysis.rdf import perpendicular_widths

    return float(perpendicular_widths(np.array(atoms.cell)).min())


def _check_runs(teacher: list, student: list, teacher_paths, student_paths) -> None:
    start = teacher[0][0]
    for frames, path in zip(teacher + student, list(teacher_paths) + list(student_paths)):
        first = frames[0]
        if first.get_chemical_symbols() != start.get_chemical_symbols():
            raise CertificateError(f"{path}: other atoms than {teacher_paths[0]}")
        if np.abs(first.positions - start.positions).max() > 1e-4:
            raise CertificateError(f"{path}: does not start from the frame {teacher_paths[0]} "
                                   f"starts from; every run must start from the same frame")
        if "time_ps" not in first.info or len(frames) < 2 or "time_ps" not in frames[1].info:
            raise CertificateError(f"{path}: frames carry no time_ps")
    for frames, path in zip(teacher, teacher_paths):
        for atoms in frames:
            try:
                atoms.get_forces()
                atoms.get_potential_energy()
            except Exception as err:  # noqa: BLE001 (ASE raises several kinds)
                raise CertificateError(f"{path}: a teacher frame without energy and forces "
                                       f"({err.__class__.__name__}); the certificate compares "
                                       f"the models' forces with the teacher's") from err


PROTOCOL_KEYS = ("thermostat", "damping_ps", "temperature_K", "timestep_fs", "steps",
                 "every_steps")


def teacher_protocol(teacher_path: str, overrides: dict) -> dict:
    """The NVT protocol to run the student with: the teacher file's own (the protocol_* keys
    dpglass writes into every frame), each key replaceable by `overrides` (None = keep); an
    error names the option for any key neither gives."""
    from ase.io import read

    first, frames = read(teacher_path, index=0), read(teacher_path, index=":")
    protocol = {key: first.info.get(f"protocol_{key}") for key in PROTOCOL_KEYS}
    protocol.update({k: v for k, v in overrides.items() if v is not None})
    if protocol["steps"] is None and protocol["every_steps"] and len(frames) > 1:
        protocol["steps"] = protocol["every_steps"] * (len(frames) - 1)
    missing = [key for key, value in protocol.items() if value is None]
    if missing:
        raise CertificateError(f"{teacher_path} does not say its {', '.join(missing)}: give "
                               + ", ".join(f"--{key.replace('_', '-')}" for key in missing))
    return protocol


def certify_ensemble(*, models: list[str], teacher_paths: list[str], out_dir: str, ion: str,
                     student_runs: int, rdf_pairs: list[str], rdf_r_max_A: float,
                     trust_low_eV_per_A: float, confidence: float, seed: int,
                     overrides: dict) -> dict:
    """Certify any DeePMD ensemble against teacher trajectories (energies and forces, every run
    from the same frame): run the student runs from the teacher's start with the teacher's
    protocol (model 0 drives), then certify; writes certificate.json under out_dir (the caller renders certificate.md,
    dpglass.report.markdown.certificate, as the workflow's rule does)."""
    import math as _math

    from ase.io import read

    if len(teacher_paths) < 2:
        raise CertificateError(f"{len(teacher_paths)} teacher trajectory: the teacher's own "
                               f"run-to-run noise needs at least 2 runs from the same frame")
    if _math.comb(len(teacher_paths) + student_runs, student_runs) * (1 - confidence) < 1:
        raise CertificateError(f"{len(teacher_paths)} teacher and {student_runs} student runs "
                               f"cannot resolve p = {1 - confidence:g}: add runs")
    for path in teacher_paths:
        if not Path(path).is_file():
            raise FileNotFoundError(f"teacher trajectory not found: {path}")
    start = read(teacher_paths[0], index=0)
    check_models(models, set(start.get_chemical_symbols()))
    protocol = teacher_protocol(teacher_paths[0], overrides)
    out = Path(out_dir)
    start_path = out / "start.extxyz"
    start.calc = None
    out.mkdir(parents=True, exist_ok=True)
    from ase.io import write

    write(start_path, start, format="extxyz")
    student_paths = [str(out / "student" / f"run{n}.extxyz") for n in range(student_runs)]
    run_students(start_path=str(start_path), model=models[0], protocol=protocol,
                 runs=student_runs, seed=seed, out_paths=student_paths)
    result = certify(teacher_paths=list(teacher_paths), student_paths=student_paths,
                     models=models, ion=ion, rdf_pairs=rdf_pairs, rdf_r_max_A=rdf_r_max_A,
                     trust_low_eV_per_A=trust_low_eV_per_A, confidence=confidence,
                     out_json=str(out / "certificate.json"),
                     reference_label=f"the first frame of {teacher_paths[0]}")
    return result
