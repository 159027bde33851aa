# Shared helpers for annforest's script tests. Source it: . "$AF_SRC/tests/lib.sh"
set -euo pipefail

: "${ANNFOREST:?ANNFOREST must name the annforest executable}"
: "${AF_TMP:=$(mktemp -d)}"
rm -rf "$AF_TMP" && mkdir -p "$AF_TMP"
cd "$AF_TMP"

AF_NP=${AF_NP:-1}
AF_RSCRIPT=${AF_RSCRIPT:-Rscript}
# Debian's python3 (with python3-h5py, python3-numpy), not any other interpreter on PATH.
AF_PYTHON=${AF_PYTHON:-/usr/bin/python3}

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# af_mpirun NP CMD...: run under Open MPI, bounded in time so that a hang fails the test.
af_mpirun() {
    local np=$1
    shift
    timeout --kill-after=10 "${AF_MPI_TIMEOUT:-240}" \
        mpirun --oversubscribe --bind-to none -np "$np" "$@"
}

# expect_fail PATTERN CMD...: CMD must exit non-zero and print PATTERN (grep -E) on stderr.
expect_fail() {
    local pattern=$1
    shift
    local rc=0
    if [ "$(type -t "$1")" = function ]; then
        "$@" >"$AF_TMP/out.txt" 2>"$AF_TMP/err.txt" || rc=$? # the function bounds its own time
    else
        timeout --kill-after=5 120 "$@" >"$AF_TMP/out.txt" 2>"$AF_TMP/err.txt" || rc=$?
    fi
    [ "$rc" -ne 0 ] || fail "expected failure, got success: $*"
    [ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] || fail "timed out (hang?): $*"
    grep -Eq -- "$pattern" "$AF_TMP/err.txt" ||
        fail "stderr of '$*' lacks /$pattern/: $(cat "$AF_TMP/err.txt")"
}

# require_cmd CMD PACKAGE: an interop test needs a real client; it installs it or fails.
require_cmd() {
    command -v "$1" >/dev/null 2>&1 && return 0
    echo "installing $2 for $1" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null ||
        fail "$1 is needed and $2 could not be installed"
}

# require_r_package PKG DEBPKG: same for an R package.
require_r_package() {
    require_cmd Rscript r-base-core
    Rscript -e "quit(status = !requireNamespace('$1', quietly = TRUE))" >/dev/null 2>&1 && return 0
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null ||
        fail "R package $1 is needed and $2 could not be installed"
}
