#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine: install what is missing, build, run every
# test; then build again with AddressSanitizer + UBSan and run the suite once more.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test

# Some tests run annforest as user nobody (unreadable inputs, read-only directories) and start
# munge, which insists on a socket path searchable by all. Both need every directory above the
# checkout to be searchable by others; a checkout in `mktemp -d` (mode 0700) is not. Add search
# permission (not read) where it is missing, and say so.
dir=$PWD
while [ "$dir" != / ]; do
    if [ -z "$(find "$dir" -maxdepth 0 -perm -011)" ]; then
        echo "test.sh: chmod go+x $dir (the tests need it searchable by other users)" >&2
        chmod go+x "$dir"
    fi
    dir=$(dirname "$dir")
done

jobs=$(nproc)
AF_BUILD_DIR=build scripts/build.sh
(cd build && ctest --output-on-failure -j "$jobs")

if [ "${AF_SKIP_SANITIZE:-0}" != 1 ]; then
    AF_BUILD_DIR=build-asan scripts/build.sh -DAF_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
    # The whole suite again, but the valgrind test (valgrind cannot run a sanitizer build).
    (cd build-asan && ctest --output-on-failure -j "$jobs" -LE nosan)
fi

# The parsers' libFuzzer targets, each fuzzed for a few seconds (clang; see tests/fuzz).
if [ "${AF_SKIP_FUZZ:-0}" != 1 ]; then
    CC=clang CXX=clang++ cmake -S . -B build-fuzz -DAF_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build build-fuzz --target fuzz_targets -j "$jobs"
    (cd build-fuzz && ctest --output-on-failure -j "$jobs" -L fuzz)
fi
