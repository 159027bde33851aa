#!/usr/bin/env bash
# The index bytes do not depend on the CPU: every kernel set this machine runs (AF_SIMD caps
# the choice) builds the same file, for every metric.
. "$AF_SRC/tests/lib.sh"
: "${AF_CORE_TOOL:?AF_CORE_TOOL must name the af_core_tool test driver}"
tool() { "$AF_CORE_TOOL" "$@" || fail "af_core_tool $*"; }
tool gen euclidean 20 3000 5 rows.bin
tool gen hamming 3 3000 5 words.bin
for metric in euclidean angular manhattan dot hamming; do
    if [ "$metric" = hamming ]; then rows=words.bin dim=3; else rows=rows.bin dim=20; fi
    for simd in portable avx2 avx512; do
        AF_SIMD=$simd "$AF_CORE_TOOL" build "$metric" "$dim" "$rows" 3000 2 5 42 "$simd.ann" ||
            fail "$metric build with AF_SIMD=$simd"
    done
    cmp -s portable.ann avx2.ann || fail "$metric: AVX2 kernels build a different index"
    cmp -s portable.ann avx512.ann || fail "$metric: AVX-512 kernels build a different index"
done
echo "same index bytes for every kernel set"
