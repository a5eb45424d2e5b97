"""LAMMPS loads with the deepmd plugin in a fresh process with no loader path set by hand."""

import os
import subprocess
import sys

import pytest

pytest.importorskip("deepmd", reason="needs the MD stack (bash envs/setup.sh)")
pytestmark = pytest.mark.md  # LAMMPS with the DeePMD-kit plugin


def test_import_lammps_without_ld_library_path_uses_the_mpich_wheels_libmpi():
    """In a fresh process with no loader path set by hand, LAMMPS loads with `pair_style deepmd`, on
    the libmpi.so.12 of the mpich wheel it was built against (the one the loader preloads), not on
    whatever MPI library the system's loader path would offer."""
    env = {k: v for k, v in os.environ.items() if k not in ("LD_LIBRARY_PATH", "LAMMPS_PLUGIN_PATH")}
    code = ("from importlib import metadata\n"
            "from pathlib import Path\n"
            "from dpglass.lammps.loader import import_lammps\n"
            "lmp = import_lammps()(cmdargs=['-log', 'none', '-screen', 'none'])\n"
            "print('deepmd', lmp.has_style('pair', 'deepmd'))\n"
            "print('version', lmp.version())\n"
            "wheel = [Path(f.locate()).resolve() for f in metadata.files('mpich') if f.name == 'libmpi.so.12']\n"
            "maps = {Path(line.split()[-1]).resolve() for line in open('/proc/self/maps') if 'libmpi' in line}\n"
            "print('wheel', wheel, 'mapped', sorted(maps))\n"
            "print('libmpi', 'wheel' if len(wheel) == 1 and maps == set(wheel) else 'OTHER')\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "deepmd True" in result.stdout
    assert "libmpi wheel" in result.stdout, result.stdout
