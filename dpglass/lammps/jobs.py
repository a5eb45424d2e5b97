"""An MD job of DeePMD-driven LAMMPS runs (the sweep's, the preflight, the learning loop's
explorations): settings from the sweep section, launching the runs (MPI, GPU packing), results.

One job runs one or several (temperature, replica) LAMMPS runs, each in its own directory with
its own in.lammps. Several runs in one job share the job's GPU (execution.runs_per_gpu_job).
"""

from __future__ import annotations

import contextlib
import fcntl
import math
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from dpglass.core.io import read_json, write_json
from dpglass.lammps.data import choose_replication, read_data_header
from dpglass.lammps.deviation import deviation_summary, read_model_deviation
from dpglass.lammps.errors import describe_state, diagnose, failure_state, last_lammps_error
from dpglass.lammps.inputs import (FAILURE, FAILURE_STATE, MDSettings, Plan, plan_steps,
                                   production_limits_ps, write_in_lammps)
from dpglass.lammps.loader import child_env
from dpglass.lammps.outputs import clean_run_state, join_dumps
from dpglass.lammps.monitor import ProgressWatcher, completed_step
from dpglass.lammps.adaptive import STATE as ADAPTIVE_STATE
from dpglass.lammps.adaptive import AdaptiveRun, StoppingRule, truncated
from dpglass.lammps.runner import runner_command, step_time, throughput
from dpglass.core.units import quantity, steps_for

PREFLIGHT_STEPS = 50  # a loop of 50 steps, then one of 250 (see finish_run)


class MDJobError(RuntimeError):
    """An MD run of a job failed; the message says which run and what to fix."""


@dataclass(frozen=True)
class RunSpec:
    temperature_K: float
    replica: int
    run_json: str
    dump: str | None  # None for the preflight (its trajectory is not an output)
    glass: int | None = None  # structure.glasses index, recorded in run.json (None: not a glass's run)

    @property
    def run_dir(self) -> Path:
        return Path(self.run_json).parent


def replica_seed(sweep: dict, replica: int) -> int:
    """Replicas differ only by the velocity seed."""
    return sweep["seed"] + 1000 * replica


def replication(sweep: dict, data_path: str) -> tuple[int, int, int]:
    if sweep.get("target_atoms"):
        natoms, lengths = read_data_header(data_path)
        return choose_replication(natoms, lengths, sweep["target_atoms"])
    return tuple(sweep["supercell"])


def deviation_interval(sweep: dict) -> int:
    """Steps between model-deviation lines of a production run: sweep.deviation_every_steps when
    set, else the interval that gives at least sweep.deviation_min_frames lines over the shortest
    production a run can stop at (its first chunk when the length is adaptive) and never fewer
    than one per thermo line. With 9 lines per run, "11 % above the high trust level" was one
    frame."""
    if sweep["deviation_every_steps"]:
        return sweep["deviation_every_steps"]
    dt = sweep["timestep_fs"]
    target, longest_ps = production_limits_ps(sweep)
    shortest_ps = min(sweep["chunk_ps"], longest_ps) if target and sweep["chunk_ps"] else longest_ps
    shortest = steps_for(shortest_ps, dt)
    return max(1, min(sweep["thermo_every_steps"], shortest // sweep["deviation_min_frames"]))


def md_settings(sweep: dict, temperature_K: float, replica: int, supercell: tuple[int, int, int],
                preflight: bool = False) -> MDSettings:
    dt = sweep["timestep_fs"]
    common = dict(temperature_K=temperature_K, timestep_fs=dt,
                  thermostat_damping_ps=sweep["thermostat_damping_ps"],
                  seed=replica_seed(sweep, replica),
                  halt_temperature_factor=sweep["halt_temperature_factor"])
    deviation_every = deviation_interval(sweep)
    if preflight:
        # A few steps of the production system (same supercell, same thermo and model-deviation
        # cadence): does the plugin load the models at all, and how fast is a production step?
        # `dpglass plan` extrapolates the speed of a step, without the model's warm-up that each
        # chunk pays (finish_run). On the unreplicated cell with a deviation line every step it
        # read 2.3x slow on the test config; timed over one loop of 20 steps, 9x slow.
        return MDSettings(equilibration_steps=PREFLIGHT_STEPS, production_steps=5 * PREFLIGHT_STEPS,
                          dump_every_steps=PREFLIGHT_STEPS,
                          thermo_every_steps=min(sweep["thermo_every_steps"], PREFLIGHT_STEPS),
                          supercell=supercell,
                          deviation_every_steps=min(deviation_every, PREFLIGHT_STEPS), **common)
    _, production_ps = production_limits_ps(sweep)  # an adaptive run's plan goes to its maximum
    return MDSettings(equilibration_steps=steps_for(sweep["equilibration_ps"], dt),
                      production_steps=steps_for(production_ps, dt),
                      dump_every_steps=sweep["dump_every_steps"],
                      thermo_every_steps=sweep["thermo_every_steps"], supercell=supercell,
                      npt_steps=steps_for(sweep["npt_equilibration_ps"], dt),
                      pressure_bar=sweep["pressure_bar"], barostat_damping_ps=sweep["barostat_damping_ps"],
                      chunk_steps=steps_for(sweep["chunk_ps"], dt) if sweep["chunk_ps"] else 0,
                      deviation_every_steps=deviation_every, **common)


def prepare_run(spec: RunSpec, data_path: str, models: list[str], type_map: list[str],
                settings: MDSettings) -> Plan:
    """Write the run's in.lammps; keep its restart state only if the input is unchanged."""
    run_dir = spec.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    in_file = run_dir / "in.lammps"
    old = in_file.read_text() if in_file.exists() else None
    rel_models = [os.path.relpath(m, run_dir) for m in models]
    title = f"{spec.temperature_K:g} K, replica {spec.replica}"
    text = write_in_lammps(in_file, os.path.relpath(data_path, run_dir), rel_models, type_map,
                           settings, title=title)
    if old != text:  # different settings: a restart from the old input would mix two runs
        clean_run_state(run_dir)
    resume = completed_step(run_dir)
    if resume == 0:
        import shutil

        shutil.rmtree(run_dir / "model_devi", ignore_errors=True)
        (run_dir / ADAPTIVE_STATE).unlink(missing_ok=True)  # checks of an earlier, other run
    for stale in ["dump.lammpstrj", "timing.json", FAILURE, FAILURE_STATE]:
        (run_dir / stale).unlink(missing_ok=True)
    plan = plan_steps(settings)
    print(f"{run_dir}: {title}; {plan.total_steps} steps in {len(plan.chunks)} chunks "
          f"(production from step {plan.production_start})"
          + (f"; resuming from the restart at step {resume}" if resume else ""), flush=True)
    return plan


# ----------------------------------------------------------------------------------------------
# GPUs


def visible_gpus(env: dict, gpu_ids: list[int]) -> tuple[list[str], bool]:
    """The devices this job may use, and whether the scheduler already assigned them.

    A scheduler (SLURM --gpus, a snakemake cluster profile) sets CUDA_VISIBLE_DEVICES to the job's
    GPUs; on a local multi-GPU node nobody does, so the job leases one of `gpu_ids` itself.
    """
    assigned = env.get("CUDA_VISIBLE_DEVICES", "").strip()
    if assigned:
        return [d for d in assigned.split(",") if d], True
    return [str(i) for i in (gpu_ids or [0])], False


@contextlib.contextmanager
def gpu_lease(pool: list[str], lock_dir: str | Path, poll_s: float = 5.0):
    """Hold an exclusive lock on one device of `pool` (flock, released when the job ends)."""
    lock_dir = Path(lock_dir)
    lock_dir.mkdir(parents=True, exist_ok=True)
    while True:
        for device in pool:
            handle = open(lock_dir / f"gpu{device}.lock", "w")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            try:
                yield device
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
                handle.close()
            return
        time.sleep(poll_s)


def process_plan(runs: list[RunSpec], devices: list[str] | None, threads: int,
                 tasks: int = 1) -> list[dict]:
    """Per LAMMPS process: its device (round robin over the job's GPUs) and its share of threads.

    The job's threads are split over its runs and their MPI ranks, so ranks x threads never
    oversubscribes the cores the rule was given.
    """
    per_process = max(1, threads // (max(1, len(runs)) * max(1, tasks)))
    plan = []
    for i, spec in enumerate(runs):
        plan.append({"run": spec, "threads": per_process,
                     "cuda_device": devices[i % len(devices)] if devices else None})
    return plan


# ----------------------------------------------------------------------------------------------
# Launching


def _accumulate(total: dict | None, timing: dict) -> dict:
    """Timing over the runner processes of one run (an adaptive run starts one per check)."""
    if total is None:
        return dict(timing)
    total.update(wall_s=total["wall_s"] + timing["wall_s"],
                 loop_s=total.get("loop_s", 0.0) + timing.get("loop_s", 0.0),
                 loop_steps=total.get("loop_steps", 0) + timing.get("loop_steps", 0),
                 loop_core_s=total.get("loop_core_s", 0.0) + timing.get("loop_core_s", 0.0),
                 loops=total.get("loops", []) + timing.get("loops", []),
                 last_step=timing["last_step"], natoms=timing["natoms"],
                 mpi_ranks=timing["mpi_ranks"])
    return total


def launch(runs: list[RunSpec], plans: dict, threads: int, tasks: int, mpi: str | None,
           devices: list[str] | None, adaptive: dict | None = None
           ) -> tuple[list[tuple[RunSpec, str]], dict]:
    """Start one runner process per run (concurrently), wait; returns (run, LAMMPS error) of each
    failed run, devices.

    An adaptive run (adaptive[spec], dpglass.lammps.adaptive) runs to the end of one production
    chunk at a time; after each its stopping rule decides whether another runner process
    continues from the restart. Every run's summed timing is left in its timing.json.
    """
    adaptive = adaptive or {}
    current: dict = {}
    assigned = {}
    items = {item["run"]: item for item in process_plan(runs, devices, threads, tasks)}
    timings: dict = {}
    failures: list[tuple[RunSpec, str]] = []

    def forward(signum, _frame):  # walltime SIGTERM: stop the runs; their restarts stay for resume
        for child in current.values():
            if child.poll() is None:
                child.send_signal(signum)
        for child in current.values():
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
        raise SystemExit(128 + signum)

    def start(spec: RunSpec) -> None:
        """Start the run's next runner process, unless its stopping rule says it is done."""
        state = adaptive.get(spec)
        if state is not None:
            while completed_step(spec.run_dir) >= state.until:  # a resumed run: check first
                if not state.after_chunk(spec.dump or spec.run_dir / "dump.lammpstrj"):
                    return
        item = items[spec]
        command = runner_command(spec.run_dir, tasks, mpi,
                                 until=state.until if state is not None else None)
        env = child_env(threads=item["threads"], cuda_device=item["cuda_device"])
        print("$ " + (f"CUDA_VISIBLE_DEVICES={item['cuda_device']} " if item["cuda_device"] else "")
              + " ".join(command), flush=True)
        current[spec] = subprocess.Popen(command, env=env)

    previous = signal.signal(signal.SIGTERM, forward)
    try:
        watchers = {spec: ProgressWatcher(spec.run_dir, plans[spec].total_steps) for spec in runs}
        for spec in runs:
            assigned[spec] = items[spec]["cuda_device"]
            start(spec)
        while current:
            for spec, child in list(current.items()):
                try:
                    child.wait(timeout=2.0 / max(1, len(current)))
                except subprocess.TimeoutExpired:
                    continue
                del current[spec]
                watchers[spec].poll()
                if child.returncode != 0:
                    message = last_lammps_error(spec.run_dir)
                    failures.append((spec, message))
                    if spec in adaptive:
                        adaptive[spec].blew_up(message)
                    continue
                timings[spec] = _accumulate(timings.get(spec), read_json(spec.run_dir / "timing.json"))
                if spec in adaptive:
                    start(spec)
            for watcher in watchers.values():
                watcher.poll()
    finally:
        signal.signal(signal.SIGTERM, previous)
    for spec, timing in timings.items():
        write_json(spec.run_dir / "timing.json", timing)
    return failures, assigned


def finish_run(spec: RunSpec, plan: Plan, settings: MDSettings, models: list[str], type_map: list[str],
               sweep: dict, preflight: bool, cuda_device: str | None = None,
               adaptive: AdaptiveRun | None = None, natoms: int | None = None) -> dict:
    """Check and join the chunk dumps, read the model deviation, write run.json (last).

    An adaptive run ends where its stopping rule stopped it; run.json's `stopping` says why."""
    run_dir = spec.run_dir
    if adaptive is not None:
        plan = truncated(plan, adaptive.until)
    timing_path = run_dir / "timing.json"
    if timing_path.exists():
        timing = read_json(timing_path)
    else:  # a resumed adaptive run whose stopping rule was met by the chunks already there
        timing = {"wall_s": 0.0, "natoms": natoms, "last_step": plan.total_steps,
                  "first_step": plan.total_steps, "mpi_ranks": None}
    if timing["last_step"] != plan.total_steps:
        raise MDJobError(f"{run_dir}: LAMMPS stopped at step {timing['last_step']}, expected "
                         f"{plan.total_steps}")
    dump = spec.dump or str(run_dir / "dump.lammpstrj")
    frames = join_dumps(run_dir, plan, dump)
    ran = timing["last_step"] - timing["first_step"]
    # The preflight's two loops (50 and 250 steps, each with a fresh pair_style) separate the
    # speed of a step from the model's warm-up per chunk: `dpglass plan` extrapolates the former.
    split = (step_time(*timing["loops"][-2:])
             if preflight and len(timing.get("loops") or []) >= 2 else None)
    result = {
        "temperature": quantity(spec.temperature_K, unit="K"),
        "replica": spec.replica,
        "glass": spec.glass,
        "velocity_seed": settings.seed,
        "natoms": timing["natoms"],
        "supercell": list(settings.supercell),
        "timestep_fs": settings.timestep_fs,
        "npt_equilibration_steps": settings.npt_steps,
        "pressure": quantity(settings.pressure_bar, unit="bar") if settings.npt_steps else None,
        "production_start_step": plan.production_start,
        "production_steps": plan.total_steps - plan.production_start,
        "equilibration_steps": plan.production_start,
        "dump_every_steps": settings.dump_every_steps,
        "frames": frames,
        "chunks": len(plan.chunks),
        "resumed_from_step": timing["first_step"],
        "models": [os.path.relpath(m, run_dir) for m in models],
        "type_map": type_map,
        "mpi_ranks": timing["mpi_ranks"],
        "cuda_visible_devices": cuda_device,
        "wall_time": quantity(timing["wall_s"], unit="s"),
        "steps_this_process": ran,
        **(throughput(timing["natoms"], ran, settings.timestep_fs, timing["wall_s"]) if ran else {}),
        # MD loop only (LAMMPS "Loop time" x its CPU use), without start-up and on a core of its
        # own: what `dpglass plan` extrapolates
        **({"md_loop_katom_step_per_s": throughput(timing["natoms"], timing["loop_steps"],
                                                   settings.timestep_fs,
                                                   timing["loop_core_s"])["katom_step_per_s"]}
           if timing.get("loop_core_s") else {}),
        **({"md_step_katom_step_per_s": quantity(timing["natoms"] / split[0] / 1000.0,
                                                 unit="katom-step/s"),
            "model_warm_up_per_chunk": quantity(split[1], unit="s")} if split else {}),
        "stopping": adaptive.record() if adaptive is not None else None,
    }
    if len(models) > 1:
        _, devi = read_model_deviation(run_dir, from_step=0 if preflight else plan.production_start)
        # The per-frame maxima are kept: the summary applies the trust levels (a verdict that
        # must not rerun MD when it changes); the workflow's params hold no trust levels.
        result["max_devi_f"] = quantity([float(x) for x in devi], unit="eV/Å")
        if "trust_level_eV_per_A" in sweep:
            result["model_deviation"] = deviation_summary(devi, sweep["trust_level_eV_per_A"],
                                                          sweep["max_extrapolating_fraction"])
            result["extrapolating"] = result["model_deviation"]["extrapolating"]
        else:
            result["model_deviation"] = result["extrapolating"] = None
    else:
        result["model_deviation"] = None
        result["extrapolating"] = None
    clean_run_state(run_dir)
    (run_dir / ADAPTIVE_STATE).unlink(missing_ok=True)
    write_json(spec.run_json, result)
    flag = " EXTRAPOLATING" if result["extrapolating"] else ""
    print(f"{run_dir}: {frames} frames, {result.get('ns_per_day', {}).get('value', float('nan')):.3g} "
          f"ns/day{flag}", flush=True)
    return result


def run_md_job(data_path: str, models: list[str], type_map: list[str], sweep: dict, execution: dict,
                  runs: list[RunSpec], preflight: bool, threads: int, tasks: int = 1,
                  mpi: str | None = None, lock_dir: str | Path = ".snakemake/dpglass-gpu-locks",
                  *, stopping: dict | None = None,
                  settings_override: dict | None = None, label: str = "") -> list[dict]:
    """Run the job's LAMMPS runs side by side (on its GPU when execution.device is gpu).

    stopping: {"ion", "hop_distance_A"} of the analysis; with sweep.target_relative_error set,
    each production run extends chunk by chunk until its stopping rule is met
    (dpglass.lammps.adaptive). settings_override: MDSettings fields replaced in every run (e.g.
    pair_commands for a classical potential). label: what the runs belong to (composition and
    glass), named in the failure message."""
    unreadable = [m for m in models if not os.access(m, os.R_OK) or os.path.getsize(m) == 0]
    if unreadable:
        raise MDJobError(f"model file unreadable or empty: {', '.join(unreadable)}; rerun the train "
                         f"rules (dp freeze / dp compress)")
    supercell = replication(sweep, data_path)
    settings = {spec: md_settings(sweep, spec.temperature_K, spec.replica, supercell, preflight)
                for spec in runs}
    if settings_override:
        import dataclasses

        settings = {spec: dataclasses.replace(s, **settings_override) for spec, s in settings.items()}
    plans = {spec: prepare_run(spec, data_path, models, type_map, settings[spec]) for spec in runs}
    adaptive = {}
    target = sweep.get("target_relative_error")
    if target and not preflight:
        if not stopping:
            raise MDJobError("sweep.target_relative_error is set but the job got no stopping "
                             "settings (the analysis ion and hop distance)")
        for spec in runs:
            rule = StoppingRule(target_relative_error=target, ion=stopping["ion"],
                                type_map=tuple(type_map), timestep_fs=sweep["timestep_fs"],
                                temperature_K=spec.temperature_K,
                                hop_distance_A=stopping["hop_distance_A"])
            adaptive[spec] = AdaptiveRun(spec.run_dir, plans[spec], rule,
                                         completed_step(spec.run_dir))
    natoms = read_data_header(data_path)[0] * math.prod(supercell)
    if execution["device"] == "gpu":
        pool, by_scheduler = visible_gpus(os.environ, execution["gpu_ids"])
        lease = contextlib.nullcontext(pool) if by_scheduler else gpu_lease(pool, lock_dir)
    else:
        lease = contextlib.nullcontext(None)
    with lease as leased:
        devices = None if leased is None else ([leased] if isinstance(leased, str) else leased)
        failures, assigned = launch(runs, plans, threads, tasks, mpi, devices, adaptive)
    if failures:
        what = "preflight" if preflight else "sweep run"
        raise MDJobError(f"{what} failed:\n  " + "\n  ".join(
            f"{label + ', ' if label else ''}{spec.temperature_K:g} K, replica {spec.replica} "
            f"({spec.run_dir}) {describe_state(failure_state(spec.run_dir), type_map)}: "
            + diagnose(message, models, type_map, spec.temperature_K,
                       settings[spec].halt_temperature_factor)
            for spec, message in failures))
    return [finish_run(spec, plans[spec], settings[spec], models, type_map, sweep, preflight,
                       assigned[spec], adaptive=adaptive.get(spec), natoms=natoms)
            for spec in runs]
