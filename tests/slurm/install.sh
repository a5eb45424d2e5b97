#!/usr/bin/env bash
# Install the Debian packages for the one-node SLURM test cluster
# (tests/slurm/cluster.py). Idempotent: does nothing (in well under a second)
# when every package is already installed. Needs root.
#   bash tests/slurm/install.sh            # with accounting (mariadb + slurmdbd)
#   NO_ACCOUNTING=1 bash tests/slurm/install.sh
set -euo pipefail
pkgs=(munge slurm-client slurmctld slurmd)
[[ -z "${NO_ACCOUNTING:-}" ]] && pkgs+=(slurmdbd mariadb-server)

source "$(dirname "${BASH_SOURCE[0]}")/../debian_packages.sh"
need_packages "${pkgs[@]}"
# Do not let package scripts start services (the test cluster starts its own daemons).
policy=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; created_policy=1
fi
trap '[[ $created_policy == 1 ]] && rm -f "$policy"' EXIT
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
