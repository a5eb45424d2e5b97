#!/usr/bin/env bash
# Create .venv/ at the repository root from the pinned files in envs/.
#   bash envs/setup.sh          CPU stack (default): TensorFlow DeePMD-kit, LAMMPS, CHGNet, snakemake
#   bash envs/setup.sh gpu      GPU stack: PyTorch DeePMD-kit (CUDA), LAMMPS, CHGNet, snakemake
#   bash envs/setup.sh light    planning and the tests without MD: snakemake, dpglass core, ASE,
#                               SciPy, matplotlib, pytest (`snakemake -n`, config/analysis tests)
# Python 3.11, 3.12 or 3.13: PYTHON=python3.13 bash envs/setup.sh light
# Re-running is cheap: pip skips what is already installed.
set -euo pipefail
flavour="${1:-cpu}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3}"
"$python" -c 'import sys; assert sys.version_info >= (3, 11), "dpglass needs Python >= 3.11, found " + sys.version' 
[ -x "$root/.venv/bin/python" ] || "$python" -m venv "$root/.venv"
pip=("$root/.venv/bin/python" -m pip install --quiet --disable-pip-version-check)
case "$flavour" in
  cpu)
    # torch alone first: resolved together with the rest, pip may pick a multi-GB CUDA build.
    "${pip[@]}" -r "$root/envs/torch-cpu.txt"
    "${pip[@]}" -r "$root/envs/cpu.txt" -c "$root/envs/cpu.lock" ;;
  gpu)   "${pip[@]}" -r "$root/envs/gpu.txt" ;;
  light) "${pip[@]}" -r "$root/envs/light.txt" ;;
  *) echo "envs/setup.sh: unknown flavour '$flavour' (expected cpu, gpu or light)" >&2; exit 2 ;;
esac
# The editable install builds with the venv's own setuptools (no build isolation, works offline);
# venvs of Python >= 3.12 ship without it.
"${pip[@]}" -r "$root/envs/build.txt"
"${pip[@]}" --no-deps --no-build-isolation -e "$root"
echo "dpglass: .venv ready ($flavour)"
