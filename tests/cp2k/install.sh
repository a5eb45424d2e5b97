#!/usr/bin/env bash
# Install CP2K from Debian packages for the DFT tests (tests/test_cp2k.py and the CP2K chain test):
# cp2k (cp2k.psmp, whose shell mode ASE drives) and cp2k-data (BASIS_MOLOPT, GTH_POTENTIALS:
# PBE potentials for Li, Al, Cl, O, Na). Idempotent: does nothing (in well under a second) when
# both are installed. Needs root.
#   bash tests/cp2k/install.sh
set -euo pipefail
pkgs=(cp2k cp2k-data)

missing=()
for p in "${pkgs[@]}"; do
    st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [[ "$st" == installed ]] || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
    exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "install.sh: need root to install: ${missing[*]}" >&2
    exit 1
fi
echo "install.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
