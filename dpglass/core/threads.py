"""The one place that says how many threads a child process (LAMMPS, `dp`, DeepPot) may use."""

from __future__ import annotations

import os


def thread_variables(threads: int) -> dict[str, str]:
    """OpenMP, TensorFlow and PyTorch (DeePMD-kit's variables) at `threads`, inter-op at 1, TF quiet.

    So that ranks x threads of a rule does not oversubscribe its cores.
    """
    return {"OMP_NUM_THREADS": str(threads), "DP_INTRA_OP_PARALLELISM_THREADS": str(threads),
            "DP_INTER_OP_PARALLELISM_THREADS": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}


def thread_env(threads: int, base: dict | None = None) -> dict[str, str]:
    """A copy of `base` (default os.environ) with thread_variables(threads) set."""
    env = dict(os.environ if base is None else base)
    env.update(thread_variables(threads))
    return env


def limit_torch_threads(threads: int) -> None:
    """The ML calculators' torch backend in this process: `threads`, no more (no-op without
    torch)."""
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(threads)


def limit_calculator_threads(threads: int) -> None:
    """A reference calculator's threads in this process: the rule's, no more: torch's (the ML
    calculators) and OpenMP's for a code started as a child process (CP2K's shell)."""
    os.environ.update(thread_variables(threads))
    limit_torch_threads(threads)
