#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine: install what is missing, build, run every
# test; then build again with AddressSanitizer + UBSan and run the suite once more.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test

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
