"""Running one `dp` subcommand with the rule's threads, its command line printed to the log."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dpglass.core.threads import thread_env
from dpglass.training.backends import BACKEND_FLAG


class TrainingError(RuntimeError):
    """A training-stage check failed (dp exit status, compression accuracy, quality gate)."""


def dp_env(threads: int, device: str = "cpu", base: dict | None = None) -> dict[str, str]:
    """Environment for a `dp` process: TF/torch/OpenMP use the rule's threads and no more.

    GPU selection is left as the scheduler set it (CUDA_VISIBLE_DEVICES from SLURM is kept); on the
    CPU profile the PyTorch backend is told to stay on the CPU (DEVICE=cpu) even if a GPU is visible.
    """
    env = thread_env(threads, base)
    if device == "cpu":
        env["DEVICE"] = "cpu"
    else:
        env.pop("DEVICE", None)
    return env


def dp_command(args: list[str], backend: str) -> list[str]:
    """`dp --tf|--pt ARGS` with the `dp` of this Python environment."""
    exe = os.environ.get("DPGLASS_DP") or str(Path(sys.executable).with_name("dp"))
    return [exe, BACKEND_FLAG[backend], *args]


def dp(args: list[str], backend: str, cwd: str | Path, threads: int, log=None,
       capture: bool = False, device: str = "cpu") -> str:
    """Run one `dp` subcommand; output goes to `log` (and is returned when `capture`). Raises on failure."""
    log = log or sys.stdout
    command = dp_command(args, backend)
    print("$ (cd " + str(cwd) + " && " + " ".join(command) + ")", file=log, flush=True)
    env = dp_env(threads, device)
    if capture:
        result = subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        log.write(result.stdout)
        log.flush()
    else:
        result = subprocess.run(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        raise TrainingError(f"`dp {BACKEND_FLAG[backend]} {' '.join(args)}` failed with exit code "
                            f"{result.returncode} (see the log above)")
    return result.stdout if capture else ""
