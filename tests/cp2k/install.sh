#!/usr/bin/env bash
# Install CP2K from Debian packages for the DFT tests (tests/test_cp2k.py and the CP2K chain test):
# cp2k (cp2k.psmp, whose shell mode ASE drives) and cp2k-data (BASIS_MOLOPT, GTH_POTENTIALS:
# PBE potentials for Li, Al, Cl, O, Na). Idempotent: does nothing (in well under a second) when
# both are installed. Needs root.
#   bash tests/cp2k/install.sh
set -euo pipefail
pkgs=(cp2k cp2k-data)

source "$(dirname "${BASH_SOURCE[0]}")/../debian_packages.sh"
need_packages "${pkgs[@]}"
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
