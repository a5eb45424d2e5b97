"""Send everything a rule prints (Python, C libraries, subprocesses) to its Snakemake log."""

from __future__ import annotations

import contextlib
import os
import sys
import traceback


@contextlib.contextmanager
def rule_log(path: str):
    """Redirect file descriptors 1 and 2 to `path` for the duration; tracebacks land there too."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "a") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield sys.stdout
        except BaseException:
            traceback.print_exc()
            raise
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
