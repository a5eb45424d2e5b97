"""The teacher–student certificate (dpglass.learning.certificate) as markdown: certificate.md and
its section of summary.md."""

from __future__ import annotations

from dpglass.core.io import read_json, write_text


def certificate_markdown(cert: dict) -> str:
    """The certificate as a summary.md section."""
    test = cert["permutation_test"]
    lines = ["## Teacher–student certificate", "", f"**{cert['verdict']['text']}**", "",
             f"{cert['teacher_runs']} teacher runs ({cert['teacher_calculator']}) and "
             f"{cert['student_runs']} student runs (model 0 in ASE) from {cert['reference']}, "
             f"{cert['temperature']['value']:g} K, {cert['time']['value']:.3g} ps each, "
             f"{cert['thermostat']} thermostat, a frame every "
             f"{cert['frame_interval']['value'] * 1000:.0f} fs. Permutation test over the "
             f"{test['assignments']} assignments of runs to the two sides; pass at p ≥ "
             f"{1 - cert['confidence']:.2g} (confidence {cert['confidence']:g}).", "",
             "| check | student − teacher | teacher's own run-to-run | p |",
             "|---|---|---|---|"]
    for row in cert["side_by_side"]:
        p = test["groups"][row["group"]]["p_value"]
        if row["group"].startswith("RDF"):
            lines.append(f"| {row['group']}: RMS Δg of the means | "
                         f"{row['rms_difference_of_means']['value']:.3f} | "
                         f"{row['teacher_run_to_run_rms']['value']:.3f} | {p:.2f} |")
        else:
            lags = ", ".join(f"{t:.2g}" for t in row["lags"]["value"])
            ratio = ", ".join(f"{s / t:.2f}" for s, t in zip(row["student"]["value"],
                                                             row["teacher"]["value"]))
            lines.append(f"| {row['group']} at {lags} ps: student/teacher | {ratio} | "
                         f"teacher {', '.join(f'{v:.3g}' for v in row['teacher']['value'])} Å² "
                         f"| {p:.2f} |")
    lines.append(f"| all of the above (omnibus) | | | {test['omnibus']['p_value']:.2f} |")
    forces = cert["forces"]
    lines += ["", f"Forces and energies of every member on the {forces['frames']} teacher frames "
              f"(never trained on), error from blocks of frames; threshold: RMS of the force-error "
              f"vector ≤ {forces['threshold_vector_rms']['value']:.0f} meV/Å "
              f"({forces['threshold_from']}), upper {cert['confidence']:g} bound:", "",
              "| model | force RMSE (meV/Å) | RMS abs(ΔF) (meV/Å) | upper bound (meV/Å) | "
              "energy RMSE (meV/atom) | energy offset (meV/atom) | energy RMSE without the "
              "offset (meV/atom) | pass |",
              "|---|---|---|---|---|---|---|---|"]
    for n, m in enumerate(forces["members"]):
        lines.append(f"| {n} | {_pm(m['force_rmse'])} | {_pm(m['force_error_vector_rms'])} | "
                     f"{m['force_error_vector_rms_upper']['value']:.0f} | "
                     f"{_pm(m['energy_rmse'])} | {_pm(m.get('energy_offset'))} | "
                     f"{_pm(m.get('energy_rmse_without_offset'))} | "
                     f"{'yes' if m['passed'] else 'no'} |")
    lines += ["", "Energy offset: the mean energy error per atom, a constant shift (of the per-type "
              "energy bias) that exerts no force and changes no dynamics at a fixed composition; "
              "the RMSE without it is the error of energy differences between frames."]
    return "\n".join(lines) + "\n"


def _pm(q: dict | None) -> str:
    """value ± error; "—" for a quantity a certificate written before it was measured lacks."""
    if not q:
        return "—"
    return f"{q['value']:.3g} ± {q['error']:.2g}" if q.get("error") is not None \
        else f"{q['value']:.3g}"


def write_markdown(cert_json: str, out_md: str) -> None:
    """certificate.md beside certificate.json."""
    write_text(out_md, certificate_markdown(read_json(cert_json)))
