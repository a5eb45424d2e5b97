"""The stopping rule of an adaptive sweep run: extend production chunk by chunk until the ion's D
is known well enough, or the maximum length is reached.

After every production chunk the job joins the chunk dumps so far into the run's dump file and
analyses it exactly as the workflow's diffusion rule does (dpglass.steps.workflow.diffusion: the same
function, trajectory and settings), so the D the rule stopped on is the D the analysis reports.
The run stops when

* the run is diffusive by the analysis' own test and D's relative error <= the target
  (reason "target met"), or
* production has reached sweep.max_production_ps (reason "maximum reached"; a run that is still
  not diffusive then is reported by the analysis as an upper bound).

A run that blows up (fix halt, NaN energy) fails the job as before; its adaptive.json (beside
in.lammps, never a workflow output) records the reason "blow-up" and the checks before it.
The checks are kept in adaptive.json as they happen, so a killed job resumes its loop where it was.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from dpglass.lammps.inputs import Plan

STATE = "adaptive.json"
TARGET_MET = "target met"
MAXIMUM_REACHED = "maximum reached"
BLOW_UP = "blow-up"
# dpglass.analysis errors that only say the trajectory is still too short (or has not moved yet)
TOO_SHORT = ("need at least 4 for an MSD", "lags of", "the ions did not move")


@dataclass(frozen=True)
class StoppingRule:
    """What the check analyses and what it asks for (the analysis settings of the diffusion rule)."""

    target_relative_error: float
    ion: str
    type_map: tuple[str, ...]
    timestep_fs: float
    temperature_K: float
    hop_distance_A: float


def truncated(plan: Plan, until: int) -> Plan:
    """The plan of a run that stops at step `until` (a chunk end)."""
    chunks = [c for c in plan.chunks if c.end <= until]
    return Plan(chunks, plan.production_start, until, plan.dump_every)


def production_ends(plan: Plan) -> list[int]:
    return [c.end for c in plan.stage("production")]


def first_until(plan: Plan, completed: int) -> int:
    """The first production chunk end at or after `completed` (the step a resumed run is at)."""
    ends = production_ends(plan)
    return next((end for end in ends if end >= completed), ends[-1])


def target_met(diffusive: bool, D: float, D_error: float | None, target: float) -> bool:
    """The stopping decision: diffusive by the analysis' own test and D's relative error at or
    below the target. tests/analysis/test_coverage.py checks that the error bars still cover the
    true D where this rule stops a run early (optional stopping on MD-like trajectories)."""
    return bool(diffusive) and D > 0 and D_error is not None and D_error / D <= target


def check(rule: StoppingRule, dump_path: str | Path) -> dict:
    """Analyse the joined production so far; returns D, its relative error, the verdict."""
    from dpglass.analysis.conductivity import analyze_diffusion

    try:
        result = analyze_diffusion(dump_path, rule.ion, rule.temperature_K, fmt="lammps-dump",
                                   type_map=list(rule.type_map), timestep_fs=rule.timestep_fs,
                                   hop_distance_A=rule.hop_distance_A)
    except ValueError as err:
        # Too little production yet for an MSD fit: not met, go on. Anything else (wrong ion,
        # type map, a broken dump) would fail the diffusion rule too: stop now.
        if not any(text in str(err) for text in TOO_SHORT):
            raise
        return {"D": None, "relative_error": None, "diffusive": False,
                "not_diffusive_because": [f"too short to analyse: {err}"], "target_met": False}
    D = result["D"]
    relative = (D["error"] / D["value"]
                if D["value"] and D["value"] > 0 and D["error"] is not None else None)
    met = target_met(result["diffusive"], D["value"] or 0.0, D["error"], rule.target_relative_error)
    return {"D": D, "relative_error": relative, "diffusive": bool(result["diffusive"]),
            "not_diffusive_because": result.get("not_diffusive_because") or [],
            "target_met": met}


class AdaptiveRun:
    """One run's loop state: which chunk end to run to next, the checks so far, why it stopped."""

    def __init__(self, run_dir: str | Path, plan: Plan, rule: StoppingRule, completed: int):
        self.run_dir = Path(run_dir)
        self.plan = plan
        self.rule = rule
        self.until = first_until(plan, completed)
        state = self._read()
        self.checks = [c for c in state.get("checks", []) if c["step"] < self.until]
        self.reason: str | None = None

    def _read(self) -> dict:
        path = self.run_dir / STATE
        return json.loads(path.read_text()) if path.exists() else {}

    def _write(self) -> None:
        path = self.run_dir / STATE
        temp = path.with_name(f".{STATE}.tmp")
        temp.write_text(json.dumps(self.record(), indent=1))
        os.replace(temp, path)

    def production_ps(self, step: int) -> float:
        return (step - self.plan.production_start) * self.rule.timestep_fs / 1000.0

    def after_chunk(self, dump_path: str | Path) -> bool:
        """Check the production up to self.until (already joined into dump_path); True to go on."""
        from dpglass.lammps.outputs import join_dumps

        join_dumps(self.run_dir, truncated(self.plan, self.until), dump_path)
        result = check(self.rule, dump_path)
        result.update(step=self.until, production_ps=self.production_ps(self.until))
        self.checks.append(result)
        rel = result["relative_error"]
        D = f"{result['D']['value']:.3e} cm^2/s" if result["D"] else "n/a"
        print(f"{self.run_dir}: {result['production_ps']:g} ps of production: D = {D}, relative error "
              + (f"{rel:.3f}" if rel is not None else "n/a")
              + f" (target {self.rule.target_relative_error:g}), "
              + ("diffusive" if result["diffusive"]
                 else "not diffusive: " + "; ".join(result["not_diffusive_because"])), flush=True)
        if result["target_met"]:
            self.reason = TARGET_MET
        elif self.until >= self.plan.total_steps:
            self.reason = MAXIMUM_REACHED
        else:
            self.until = next(e for e in production_ends(self.plan) if e > self.until)
        self._write()
        return self.reason is None

    def blew_up(self, message: str) -> None:
        self.reason = BLOW_UP
        self.message = message
        self._write()

    def record(self) -> dict:
        """run.json's `stopping` entry: the rule, why and when the run stopped, every check."""
        last = self.checks[-1] if self.checks else None
        return {
            "target_relative_error": self.rule.target_relative_error,
            "max_production_ps": self.production_ps(self.plan.total_steps),
            "reason": self.reason,
            **({"message": self.message} if self.reason == BLOW_UP else {}),
            "stopped_at_production_ps": last["production_ps"] if last and self.reason else None,
            "D": last["D"] if last else None,
            "relative_error": last["relative_error"] if last else None,
            "diffusive": last["diffusive"] if last else None,
            "checks": self.checks,
        }
