# Sourced by the tests' install scripts (tests/slurm/install.sh, tests/cp2k/install.sh).
# need_packages PKG...: sets `missing` to the PKGs dpkg does not list as installed; exits 0 (nothing
# to do, in well under a second) when none is missing, 1 when some are and this is not root;
# otherwise says what it installs and leaves apt-get to the caller.
need_packages() {
    missing=()
    local p st
    for p in "$@"; do
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
}
