"""One function per learning rule (keyword arguments only); scripts/learning_*.py feed them."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from dpglass.core.io import read_json, write_json, write_text
from dpglass.core.units import quantity
from dpglass.learning.convergence import iteration_status, spot_check_truth
from dpglass.learning.exploration import (blown_up_run, dump_atoms, exploration_transport,
                                          start_frame)
from dpglass.learning.selection import (classify, member_forces, select_frames,
                                       spot_check_frames, true_errors, frame_error_profiles)
from dpglass.learning.settings import explore_sweep
from dpglass.reference.labelling import label_with_reference
from dpglass.training.evaluation import validation_errors


def _previous(path: str | None) -> dict | None:
    return read_json(path) if path else None


def _plain(value, kind):
    """A frame's info value as a JSON number (extxyz reads numpy scalars), None kept."""
    return None if value is None else kind(value)


# ----------------------------------------------------------------------------------------------
# Exploration


def explore(*, frames_path: str, split_path: str, models: list[str], type_map: list[str],
            sweep: dict, learning: dict, trust: list[float], iteration: int,
            temperature_K: float, start: list[int], previous_convergence: str | None,
            run_json: str, dump: str, threads: int, ion: str, hop_distance_A: float) -> None:
    """One NVT run of learning.explore_ps with the current ensemble from a training frame of a
    glass's hold (start = [glass, slot], start_frame); run.json gets every frame's max force
    deviation. A no-op (seconds) when an earlier iteration converged."""
    from dpglass.lammps.data import write_data_file
    from dpglass.lammps.deviation import read_model_deviation
    from dpglass.lammps.jobs import RunSpec, MDJobError, run_md_job

    glass, slot = start

    previous = _previous(previous_convergence)
    if previous is not None and previous["converged"]:
        write_text(dump, "")
        write_json(run_json, {"noop": True, "iteration": iteration, "glass": glass,
                              "temperature": quantity(temperature_K, unit="K"),
                              "reason": f"converged: the models of iteration "
                                        f"{previous['converged_models']} passed"})
        print(f"iteration {iteration}: converged earlier, no exploration")
        return
    explore_ps = learning["explore_ps"]
    settings = explore_sweep(sweep, learning, iteration, explore_ps)
    start = time.perf_counter()
    frame_index, frame = start_frame(frames_path, split_path, slot)
    data_path = Path(run_json).parent / "start.lmp"
    data_path.parent.mkdir(parents=True, exist_ok=True)
    write_data_file(frame, data_path, type_map)
    spec = RunSpec(temperature_K, 0, run_json, dump, glass=glass)
    # small cells, short runs: on the CPU cores the rule asked for (no GPU requested)
    try:
        result = run_md_job(str(data_path), models, type_map, settings, {"device": "cpu"},
                               [spec], False, threads)[0]
        unreached, blew_up = 0, None
        steps, devi = read_model_deviation(spec.run_dir)
    except MDJobError as err:
        # An exploration that blows up is what the loop is for: the frames before it (the last
        # ones with the largest deviations) are kept; the frames never reached count as failed.
        result, steps, devi, unreached, blew_up = blown_up_run(spec, settings, models, type_map, err)
    result.update({"noop": False, "iteration": iteration, "glass": glass, "explore_ps": explore_ps,
                   "start": {"glass": glass, "frame": frame_index,
                             "time": quantity(frame.info.get("time_ps"), unit="ps"),
                             "phase": frame.info.get("phase")},
                   "deviation_steps": steps.tolist(), "max_devi_f": devi.tolist(),
                   "blew_up": blew_up,
                   "classification": classify(devi, trust, unreached=unreached),
                   "transport": (exploration_transport(dump, ion, temperature_K, type_map,
                                            settings["timestep_fs"], hop_distance_A)
                                 if blew_up is None else
                                 {"diffusive": False, "D": None, "D_upper_bound": None,
                                  "note": "the MD blew up: no transport from this run"}),
                   "stage_wall_time": quantity(time.perf_counter() - start, unit="s")})
    write_json(run_json, result)
    c = result["classification"]
    if blew_up:
        print(f"iteration {iteration}, {temperature_K:g} K: the MD blew up {blew_up['where']}; "
              f"{len(devi)} frames before it kept, {unreached} planned frames never reached "
              f"(counted as failed)")
    print(f"iteration {iteration}, {temperature_K:g} K, glass {glass}, {explore_ps:g} ps: "
          f"{c['frames']} frames, "
          f"accurate {c['accurate_fraction']:.1%}, candidate {c['candidate_fraction']:.1%}, "
          f"failed {c['failed_fraction']:.1%}")


def convergence(*, run_jsons: list[str], previous_convergence: str | None, learning: dict,
                trust: list[float], iteration: int, out_json: str,
                labelling_json: str | None = None) -> None:
    """Accurate fractions per temperature (the deviation), verified by the iteration's labelled
    spot checks (labelling_json): iteration_status."""
    previous = _previous(previous_convergence)
    per_temperature, explore_ps, transport = {}, learning["explore_ps"], {}
    for path in run_jsons:
        run = read_json(path)
        if run.get("noop"):
            continue
        per_temperature[run["temperature"]["value"]] = run["classification"]
        transport[run["temperature"]["value"]] = run.get("transport")
        explore_ps = run["explore_ps"]
    hottest = ({"temperature_K": max(transport), **(transport[max(transport)] or {})}
               if transport else None)
    status = iteration_status(iteration, per_temperature, learning["accurate_fraction"], previous,
                              explore_ps,
                              hottest_transport=hottest,
                              require_stable_D=learning["require_stable_D"],
                              spot_checks=spot_check_truth(_previous(labelling_json)),
                              trust_low=trust[0])
    write_json(out_json, status)
    if status["noop"]:
        print(f"iteration {iteration}: converged earlier (models of iteration "
              f"{status['converged_models']})")
    else:
        for row in status["temperatures"]:
            spots = row.get("spot_checks")
            print(f"{row['temperature_K']:g} K: accurate {row['accurate_fraction']:.1%} by the "
                  f"deviation"
                  + (f", spot checks {spots['accurate']} of {spots['frames']} truly accurate "
                     f"(true max |ΔF| < {trust[0]:g} eV/Å; up to {spots['true_max_f']['value']:.3f})"
                     f" -> verified {row['verified_accurate_fraction']:.1%}" if spots else "")
                  + f" (needed {learning['accurate_fraction']:.0%}) -> "
                  f"{'pass' if row['passed'] else 'not yet'}")
        print(f"iteration {iteration}: the models of iteration {iteration - 1} "
              f"{'CONVERGED' if status['converged'] else 'have not converged'}")


# ----------------------------------------------------------------------------------------------
# Selection and labelling


def select(*, runs: list[tuple[str, str]], learning: dict, trust: list[float],
           type_map: list[str], iteration: int, out_frames: str, out_json: str,
           verify_only: bool = False) -> None:
    """Frames to label this iteration (extxyz with temperature, step and deviation per frame):
    candidates and spot checks; the final check's exploration (verify_only) only spot checks,
    which verify the final models. Every exploration a no-op (converged earlier): nothing."""
    from ase.io import write

    explored = {}
    for run_json, dump in runs:
        run = read_json(run_json)
        if not run.get("noop"):
            explored[run["temperature"]["value"]] = (run, dump)
    record = {"iteration": iteration, "trust_levels": quantity(trust, unit="eV/Å"),
              "cap": learning["max_frames_per_iteration"],
              "spot_checks_per_run": learning["spot_check_frames"],
              "min_frame_separation_dumps": learning["min_frame_separation_dumps"],
              "verify_only": verify_only}
    if not explored or (verify_only and not learning["spot_check_frames"]):
        write_text(out_frames, "")
        write_json(out_json, {**record, "noop": True, "selected": 0, "per_temperature": []})
        print(f"iteration {iteration}: " + ("converged earlier, nothing to label" if not explored
                                             else "final check without spot checks"))
        return
    # step 0 is the run's start, a training frame of the hold: labelled already
    starts = {T: {i for i, step in enumerate(r["deviation_steps"]) if step == 0}
              for T, (r, _) in explored.items()}
    chosen = ({T: [] for T in explored} if verify_only else
              select_frames({T: r["max_devi_f"] for T, (r, _) in explored.items()}, trust,
                            learning["max_frames_per_iteration"],
                            learning["min_frame_separation_dumps"], exclude=starts))
    import numpy as np

    spots = {T: spot_check_frames(r["max_devi_f"], trust, learning["spot_check_frames"],
                                  learning["min_frame_separation_dumps"],
                                  np.random.default_rng([iteration, int(round(T))]),
                                  exclude=starts[T])
             for T, (r, _) in explored.items()}
    frames, rows = [], []
    for T in sorted(explored):
        run, dump = explored[T]
        kinds = {i: "candidate" for i in chosen[T]}
        kinds.update({i: "spot_check" for i in spots[T]})
        picks = sorted(kinds)
        steps = {run["deviation_steps"][i] for i in picks}
        atoms = dump_atoms(dump, type_map, steps)
        missing = sorted(steps - set(atoms))
        if missing:
            raise RuntimeError(f"{dump}: no frame at step(s) {missing} of the model deviation; "
                               f"dump and deviation intervals differ")
        for i in picks:
            step = run["deviation_steps"][i]
            a = atoms[step]
            a.info.update({"temperature_K": T, "glass": run.get("glass", 0), "step": step,
                           "iteration": iteration, "kind": kinds[i],
                           "max_devi_f": run["max_devi_f"][i]})
            frames.append(a)
        rows.append({**run["classification"], "temperature_K": T, "glass": run.get("glass", 0),
                     "selected": len(chosen[T]), "spot_checks": len(spots[T])})
    if frames:
        write(out_frames, frames, format="extxyz")
    else:
        write_text(out_frames, "")
    write_json(out_json, {**record, "noop": False, "selected": len(frames),
                          "candidates_selected": sum(r["selected"] for r in rows),
                          "spot_checks": sum(r["spot_checks"] for r in rows),
                          "per_temperature": rows})
    print(f"iteration {iteration}: {len(frames)} frames selected "
          + ", ".join(f"{r['temperature_K']:g} K: {r['selected']} of {r['candidate']} candidates "
                      f"+ {r['spot_checks']} spot checks ({r['failed']} failed, not labelled)"
                      for r in rows))


def label(*, selected_frames: str, selection_json: str, reference: dict, type_map: list[str],
          out_frames: str, out_report: str, data_dir: str, threads: int,
          models: list[str] | None = None) -> None:
    """Reference labels of the selected frames (incremental: a rerun reuses finished single
    points) and their deepmd/npy training system (an empty directory when nothing was labelled);
    with `models` (the ensemble that explored), their true errors on the labelled frames, per
    kind (candidate, spot_check) and temperature (true_errors)."""
    from ase.io import read, write

    selection = read_json(selection_json)
    shutil.rmtree(data_dir, ignore_errors=True)
    Path(data_dir).mkdir(parents=True)
    if selection["selected"] == 0:
        write_text(out_frames, "")
        write_json(out_report, {"noop": True, "frames_attempted": 0, "frames_labelled": 0,
                                "frames_failed": 0})
        print("nothing selected: nothing to label")
        return
    frames = read(selected_frames, index=":")
    labelled, report = label_with_reference(frames, reference, Path(out_report).parent / "label_work",
                                            threads)
    report["noop"] = False
    write(out_frames, labelled, format="extxyz")
    if labelled and models:
        # per frame: the deviation that selected it beside the true error in the same statistic
        # (the spot checks verify the loop's convergence: learning_convergence)
        forces = member_forces(models, labelled)
        truth = frame_error_profiles(forces, labelled)
        report["frames"] = [{"kind": str(a.info.get("kind", "candidate")),
                             "temperature_K": float(a.info["temperature_K"]),
                             "step": _plain(a.info.get("step"), int),
                             "max_devi_f": _plain(a.info.get("max_devi_f"), float),
                             **t} for a, t in zip(labelled, truth)]
        report["true_errors"] = true_errors(forces, labelled)
        for row in report["true_errors"]:
            print(f"{row['kind']} frames at {row['temperature_K']:g} K ({row['frames']}): true "
                  f"force RMSE {row['force_rmse']['value']:.0f} meV/Å, RMS |ΔF| "
                  f"{row['force_error_vector_rms']['value']:.0f} meV/Å (mean over members)")
    if labelled:
        from dpglass.training.data import read_labelled_frames

        system = read_labelled_frames(out_frames, type_map)
        shutil.rmtree(data_dir)
        system.to("deepmd/npy", data_dir)
    write_json(out_report, report)


# ----------------------------------------------------------------------------------------------
# Retraining


def _has_data(directory: str) -> bool:
    return (Path(directory) / "type.raw").exists()


def retrain(*, training_dirs: list[str], validation_dirs: list[str], earlier_data: list[str],
            new_data: list[str], stats_json: str, previous_frozen: str, selections: list[str],
            convergences: list[str],
            type_map: list[str], train_cfg: dict, learning: dict, index: int, iteration: int,
            backend: str, device: str, threads: int, input_json: str, lcurve: str, frozen: str,
            test_json: str, log) -> None:
    """Ensemble member `index` of iteration `iteration`: continued from its previous model
    (dp train --init-frz-model, with the init-model schedule of retraining_input; learning.retrain:
    scratch trains anew) on all data so far, or the previous model copied when the loop converged
    or nothing new was labelled. Trained as the first training is (dpglass.training.member), on
    the first training's data (training_dirs), earlier iterations' and this one's."""
    from dpglass.training.member import carry_member, member_input, member_work, train_member

    model_dir = Path(frozen).parent
    work = member_work(frozen)
    previous_dir = Path(previous_frozen).parent
    # when the models of the iteration before passed (verified by their spot checks), this
    # iteration's labels verified them: nothing to retrain on (per composition of the scope)
    new_frames = sum(0 if read_json(c)["converged"] else read_json(s)["selected"]
                     for s, c in zip(selections, convergences, strict=True))
    new = [d for d in new_data if _has_data(d)]
    old = list(training_dirs) + [d for d in earlier_data if _has_data(d)]
    if new_frames == 0 or not new:
        # input.json rebased to this work directory: learning_compress runs `dp compress -t
        # input.json` here
        carry_member(previous_frozen, frozen=frozen, input_json=input_json, lcurve=lcurve)
        previous_test = previous_dir / "validation.json"
        measured = (read_json(previous_test) if previous_test.exists() else {}).get("validation")
        if measured is None and validation_dirs:
            # the first training's models (converged at iteration 1): measured here, on the same
            # validation frames, so the loop table's row 0 has their error
            measured = validation_errors(previous_frozen, validation_dirs, backend, threads, log,
                                         work=model_dir / "dp_test_before")
        write_json(test_json, {"copied_from": str(previous_frozen), "trained": False,
                               "validation_before": measured, "validation": measured})
        print(f"iteration {iteration}: no new labels (converged or nothing selected); model "
              f"{index} copied from {previous_frozen}", file=log, flush=True)
        return
    payload = member_input(train_cfg, type_map, read_json(stats_json), train_cfg["seed"] + index,
                           work, old, validation_dirs, new_dirs=new, learning=learning)
    schedule = payload["learning_rate"]
    print(f"iteration {iteration}, model {index}: {learning['retrain']} on {len(old)} old + "
          f"{len(new)} new systems ({new_frames} new frames), learning rate "
          f"{schedule['start_lr']:g} -> {schedule['stop_lr']:g} over "
          f"{payload['training']['numb_steps']} steps, batches "
          f"{payload['training']['training_data'].get('auto_prob', 'by system size')}",
          file=log, flush=True)
    run = train_member(work=work, payload=payload, frozen=frozen, input_json=input_json,
                       lcurve=lcurve, backend=backend, threads=threads, device=device, log=log,
                       previous=previous_frozen, init_model=learning["retrain"] != "scratch",
                       data_dirs=old + new)
    result = {"trained": run["trained"], "restarted_from": run["restarted_from"],
              "init_frz_model": run["init_frz_model"],
              "numb_steps": payload["training"]["numb_steps"],
              "learning_rate": {"start": schedule["start_lr"], "stop": schedule["stop_lr"]},
              "start_prefs": {k: payload["loss"][f"start_pref_{k}"] for k in "efv"},
              "auto_prob": payload["training"]["training_data"].get("auto_prob"),
              "training_systems": len(old) + len(new), "new_systems": len(new),
              "training_wall_time": quantity(run["seconds"], unit="s"),
              "validation_before": validation_errors(previous_frozen, validation_dirs, backend,
                                                     threads, log,
                                                     work=model_dir / "dp_test_before"),
              "validation": validation_errors(frozen, validation_dirs, backend, threads, log)}
    write_json(test_json, result)
    before, after = result["validation_before"], result["validation"]
    print(f"iteration {iteration}, model {index}: validation force RMSE "
          f"{before['force_rmse']['value']:.1f} -> {after['force_rmse']['value']:.1f} meV/Å, "
          f"energy {before['energy_rmse']['value']:.2f} -> {after['energy_rmse']['value']:.2f} "
          f"meV/atom", file=log, flush=True)
