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
    (cd build-asan && ctest --output-on-failure -j "$jobs" -LE slow)
fi
