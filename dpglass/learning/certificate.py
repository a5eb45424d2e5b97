"""Teacher–student certificate: the final ensemble against the reference's own MD.

The melt-quench hold at its final temperature is the reference's MD (ASE, the reference
calculator). The certificate runs the final ensemble in LAMMPS from the hold's first frame at
the same temperature for the same time with the same frame interval, and compares

- partial RDFs (first-peak position, RMS difference of g(r)),
- the ion's MSD at the end of the run and D (with errors, where both runs are diffusive),
- energies and forces of every ensemble member on the reference's labelled hold frames (dp test).

Thresholds are module constants, stated in the verdict. The thermostats differ (the reference
uses melt_quench.thermostat, LAMMPS Nosé–Hoover with sweep.thermostat_damping_ps), so dynamics (MSD, D) are
compared with that caveat; structure and forces are not affected by it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from dpglass.io import read_json, write_json
from dpglass.units import quantity

RDF_PEAK_SHIFT_A = 0.15          # |Δ first peak| allowed per pair, Å
RDF_RMS_DIFFERENCE = 0.5         # RMS of g_student(r) − g_reference(r) over r, allowed per pair
D_SIGMAS = 2.0                   # D agrees when |ΔD| <= D_SIGMAS × combined 1σ error
MSD_RATIO_RANGE = (0.5, 2.0)     # end-of-run ion MSD ratio student/reference allowed
FORCE_RMSE_MEV_PER_A = 300.0     # ensemble-mean force RMSE on the reference frames, meV/Å

from dpglass.learning.settings import MQ_FINAL_T  # noqa: E402 (issue 16 renames the key)


def thresholds() -> dict:
    return {"rdf_first_peak_shift": quantity(RDF_PEAK_SHIFT_A, unit="Å"),
            "rdf_rms_difference": quantity(RDF_RMS_DIFFERENCE),
            "D_agreement_sigmas": D_SIGMAS,
            "msd_ratio_range": list(MSD_RATIO_RANGE),
            "force_rmse": quantity(FORCE_RMSE_MEV_PER_A, unit="meV/Å")}


def hold_frames(sampled_path: str) -> list:
    from ase.io import read

    return [a for a in read(sampled_path, index=":") if a.info.get("phase") == "hold"]


def compare_rdfs(reference: dict, student: dict) -> list[dict]:
    rows = []
    r_ref, r_st = np.asarray(reference["r"]["value"]), np.asarray(student["r"]["value"])
    for pair, g_ref in reference["g"].items():
        if pair not in student["g"]:
            continue
        g_ref = np.asarray(g_ref["value"])
        g_st = np.interp(r_ref, r_st, np.asarray(student["g"][pair]["value"]))
        rms = float(np.sqrt(np.mean((g_st - g_ref) ** 2)))
        p_ref = reference["first_peak"][pair]["value"]
        p_st = student["first_peak"][pair]["value"]
        shift = None if p_ref is None or p_st is None else abs(p_st - p_ref)
        rows.append({"pair": pair, "first_peak_reference": quantity(p_ref, unit="Å"),
                     "first_peak_student": quantity(p_st, unit="Å"),
                     "first_peak_shift": quantity(shift, unit="Å"),
                     "rms_difference": quantity(rms),
                     "passed": shift is not None and shift <= RDF_PEAK_SHIFT_A
                     and rms <= RDF_RMS_DIFFERENCE})
    return rows


def _end_msd(result: dict) -> float | None:
    values = ((result.get("msd") or {}).get("total") or {}).get("value")
    return float(values[-1]) if values else None


def compare_transport(reference: dict, student: dict) -> dict:
    out = {"reference_D": reference.get("D"), "student_D": student.get("D"),
           "reference_diffusive": reference.get("diffusive"),
           "student_diffusive": student.get("diffusive")}
    if reference.get("diffusive") and student.get("diffusive"):
        from dpglass.learning.convergence import d_difference

        diff, sigma = d_difference(reference["D"], student["D"])
        out.update({"D_difference_sigmas": diff / sigma if sigma > 0 else None,
                    "D_passed": sigma > 0 and diff <= D_SIGMAS * sigma})
    else:
        out.update({"D_difference_sigmas": None, "D_passed": None,
                    "D_note": "D not compared: a run is not diffusive (too short); its upper "
                              "bound is in reference_/student_ results"})
    return out


def certificate_verdict(rdf_rows: list[dict], transport: dict, forces: dict) -> dict:
    failed = [f"RDF {r['pair']}" for r in rdf_rows if not r["passed"]]
    if transport.get("D_passed") is False:
        failed.append("Li D")
    ratio = transport.get("msd_ratio")
    if ratio is not None and not MSD_RATIO_RANGE[0] <= ratio <= MSD_RATIO_RANGE[1]:
        failed.append("ion MSD")
    if forces["force_rmse"]["value"] > FORCE_RMSE_MEV_PER_A:
        failed.append("forces")
    return {"passed": not failed, "failed_checks": failed,
            "text": ("PASS: the final ensemble reproduces the reference's own MD within the "
                     "stated thresholds" if not failed else
                     "FAIL: " + ", ".join(failed) + " outside the stated thresholds")}


def hold_protocol(frames: list, melt_quench: dict) -> dict:
    """Temperature, time span, timestep and frame interval of the reference's hold."""
    times = [float(a.info["time_ps"]) for a in frames]
    dt = melt_quench["timestep_fs"]
    return {"temperature_K": float(melt_quench[MQ_FINAL_T]), "span_ps": times[-1] - times[0],
            "timestep_fs": dt, "every": int(round((times[1] - times[0]) * 1000.0 / dt))}


def _hold(sampled_path: str) -> list:
    frames = hold_frames(sampled_path)
    if len(frames) < 3:
        raise ValueError(f"{sampled_path}: {len(frames)} hold frames; the certificate needs the "
                         f"melt-quench hold (melt_quench.hold_time_ps > 0)")
    return frames


def run_student_md(*, sampled_path: str, models: list[str], type_map: list[str],
                   melt_quench: dict, sweep: dict, threads: int, run_json: str, dump: str) -> dict:
    """The final ensemble in LAMMPS from the hold's first frame, at its temperature, for its
    time, with its frame interval (a fixed-length NVT run on the CPU: the hold's small cell)."""
    from dpglass.lammps.data import write_data_file
    from dpglass.learning.settings import fixed_nvt
    from dpglass.sweep import RunSpec, run_sweep_job

    frames = _hold(sampled_path)
    hold = hold_protocol(frames, melt_quench)
    start = Path(run_json).parent / "start.lmp"
    start.parent.mkdir(parents=True, exist_ok=True)
    write_data_file(frames[0], start, type_map)
    settings = dict(fixed_nvt(sweep, hold["span_ps"], hold["every"], sweep["seed"]),
                    timestep_fs=hold["timestep_fs"])
    spec = RunSpec(hold["temperature_K"], 0, run_json, dump)
    run = run_sweep_job(str(start), models, type_map, settings, {"device": "cpu"}, [spec], False,
                        threads)[0]
    print(f"student MD: {run['frames']} frames at {hold['temperature_K']:g} K over "
          f"{hold['span_ps']:g} ps (reference hold: {len(frames)} frames)")
    return run


def run_certificate(*, sampled_path: str, labelled_path: str, student_run: str,
                    student_dump: str, models: list[str], type_map: list[str],
                    melt_quench: dict, ion: str, rdf_pairs: list[str], rdf_r_max_A: float,
                    hop_distance_A: float, backend: str, threads: int, out_json: str) -> dict:
    """Compare the student run (run_student_md) with the reference's hold: the verdict."""
    from ase.io import read, write

    from dpglass.analysis import analyze_diffusion
    from dpglass.learning.report import mean_over_members
    from dpglass.learning.steps import validation_errors
    from dpglass.rdf_trajectory import trajectory_rdf

    work = Path(out_json).parent / "certificate"
    work.mkdir(parents=True, exist_ok=True)
    frames = _hold(sampled_path)
    hold = hold_protocol(frames, melt_quench)
    temperature, span_ps, dt, every = (hold[k] for k in ("temperature_K", "span_ps",
                                                          "timestep_fs", "every"))
    reference_traj = work / "reference_hold.extxyz"
    write(reference_traj, frames, format="extxyz")
    run = read_json(student_run)
    rdf_ref = trajectory_rdf(reference_traj, rdf_pairs, rdf_r_max_A)
    rdf_st = trajectory_rdf(student_dump, rdf_pairs, rdf_r_max_A, fmt="lammps-dump",
                            type_map=type_map, timestep_fs=dt)
    rdf_rows = compare_rdfs(rdf_ref, rdf_st)
    try:
        d_ref = analyze_diffusion(str(reference_traj), ion, temperature, fmt="extxyz",
                                  hop_distance_A=hop_distance_A)
        d_st = analyze_diffusion(student_dump, ion, temperature, fmt="lammps-dump",
                                 type_map=type_map, timestep_fs=dt, hop_distance_A=hop_distance_A)
    except ValueError as err:  # e.g. too few frames for an MSD fit: said, not hidden
        print(f"transport not compared: {err}")
        d_ref = d_st = {"diffusive": None, "D": None, "error": str(err)}
    transport = compare_transport(d_ref, d_st)
    if "error" in d_ref:
        transport["D_note"] = f"transport not compared: {d_ref['error']}"
    m_ref, m_st = _end_msd(d_ref), _end_msd(d_st)
    transport.update({"reference_end_msd": quantity(m_ref, unit="Å^2"),
                      "student_end_msd": quantity(m_st, unit="Å^2"),
                      "msd_ratio": (m_st / m_ref) if m_ref and m_st is not None else None})
    # energies and forces on the reference's labelled hold frames
    from dpglass.training.data import read_labelled_frames

    labelled = [a for a in read(labelled_path, index=":") if a.info.get("phase") == "hold"]
    labelled_path_hold = work / "reference_hold_labelled.extxyz"
    write(labelled_path_hold, labelled, format="extxyz")
    system_dir = work / "reference_hold_npy"
    shutil.rmtree(system_dir, ignore_errors=True)
    read_labelled_frames(labelled_path_hold, type_map).to("deepmd/npy", str(system_dir))
    members = []
    for n, model in enumerate(models):
        members.append(validation_errors(model, [str(system_dir)], backend, threads, None,
                                         work=work / f"dp_test_{n}"))
    forces = {"frames": len(labelled), **mean_over_members(members), "members": members}
    verdict = certificate_verdict(rdf_rows, transport, forces)
    result = {"reference": "glass 0's melt-quench hold",
              "temperature": quantity(temperature, unit="K"),
              "time": quantity(span_ps, unit="ps"), "frame_interval_steps": every,
              "reference_frames": len(frames), "student_frames": run["frames"],
              "models": [os.path.relpath(m) for m in models],
              "thresholds": thresholds(), "rdf": rdf_rows, "transport": transport,
              "energies_forces": forces, "verdict": verdict,
              "caveat": "reference thermostat: melt_quench.thermostat (ASE); student: LAMMPS "
                        "Nosé–Hoover (sweep.thermostat_damping_ps); velocities drawn anew at the start"}
    write_json(out_json, result)
    print(verdict["text"])
    return result


def certificate_markdown(cert: dict) -> str:
    t = cert["thresholds"]
    lines = ["## Teacher–student certificate", "",
             f"**{cert['verdict']['text']}**", "",
             f"Final ensemble vs the reference's own MD ({cert['reference']}), "
             f"{cert['temperature']['value']:g} K for {cert['time']['value']:.3g} ps, same start "
             f"frame ({cert['reference_frames']} reference / {cert['student_frames']} student "
             f"frames). Thresholds: RDF first peak |Δ| ≤ {t['rdf_first_peak_shift']['value']} Å "
             f"and RMS Δg ≤ {t['rdf_rms_difference']['value']}; D within "
             f"{t['D_agreement_sigmas']}σ; end-of-run MSD ratio in {t['msd_ratio_range']}; "
             f"force RMSE ≤ {t['force_rmse']['value']} meV/Å.", "",
             "| pair | first peak ref (Å) | first peak student (Å) | RMS Δg | pass |",
             "|---|---|---|---|---|"]
    for row in cert["rdf"]:
        def v(q):
            return "—" if q["value"] is None else f"{q['value']:.3g}"
        lines.append(f"| {row['pair']} | {v(row['first_peak_reference'])} | "
                     f"{v(row['first_peak_student'])} | {v(row['rms_difference'])} | "
                     f"{'yes' if row['passed'] else 'no'} |")
    tr = cert["transport"]

    def d(q):
        if not q or q.get("value") is None:
            return "—"
        return f"{q['value']:.3g}" + (f" ± {q['error']:.2g}" if q.get("error") else "") + \
            f" {q.get('unit', '')}"

    f = cert["energies_forces"]
    lines += ["", f"- Li D: reference {d(tr['reference_D'])} "
              f"({'diffusive' if tr['reference_diffusive'] else 'not diffusive'}), student "
              f"{d(tr['student_D'])} "
              f"({'diffusive' if tr['student_diffusive'] else 'not diffusive'})"
              + (f"; {tr['D_note']}" if tr.get("D_note") else ""),
              f"- ion MSD at the end: reference {d(tr['reference_end_msd'])}, student "
              f"{d(tr['student_end_msd'])}",
              f"- on {f['frames']} reference frames: energy RMSE {d(f['energy_rmse'])}, force RMSE "
              f"{d(f['force_rmse'])} (mean over members ± standard error)",
              f"- caveat: {cert['caveat']}", ""]
    return "\n".join(lines)
