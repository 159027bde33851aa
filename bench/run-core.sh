#!/usr/bin/env bash
# Forest core vs Annoy, and exact kNN vs FAISS, on Fashion-MNIST and a synthetic clustered set.
#   bench/run-core.sh [QUICK]     (QUICK=1: 200 sweep queries and fewer search_k, a smoke run)
# Needs build-bench/ built (Release): libaf_core.a + libaf_base.a. Writes its work files to
# build-bench/bench-work/, the raw log to bench/results/core.log and the tables to
# bench/results/core.md. Nothing else may run on the machine while it times.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${AF_BENCH_BUILD:-$ROOT/build-bench}
WORK=$BUILD/bench-work
RESULTS=$ROOT/bench/results
PY=/usr/bin/python3
ANNOY_INC=/usr/lib/R/site-library/RcppAnnoy/include
QUICK=${1:-0}
SWEEP_NQ=1000
[ "$QUICK" = 1 ] && SWEEP_NQ=200
mkdir -p "$WORK" "$RESULTS"
LOG=$RESULTS/core.log
: >"$LOG"

for lib in "$BUILD/core/libaf_core.a" "$BUILD/core/libaf_base.a"; do
    [ -f "$lib" ] || { echo "run-core.sh: $lib missing: build build-bench first (see bench/README.md)" >&2; exit 1; }
done

echo "== compiling the drivers"
gcc -std=c11 -O3 -Wall -Wextra -Werror -D_GNU_SOURCE -fopenmp -Icore -Ibench bench/core_bench.c \
    "$BUILD/core/libaf_core.a" "$BUILD/core/libaf_base.a" $(pkg-config --cflags --libs openblas) \
    -lm -o "$WORK/core_bench"
# Annoy with the flags its own setup.py uses on x86-64 (-O3 -march=native -ffast-math
# -fno-associative-math), and once more portable (-O3 only), as annforest itself is built.
ANNOY_FLAGS="-std=c++14 -DANNOYLIB_MULTITHREADED_BUILD -isystem $ANNOY_INC -Ibench -pthread"
g++ -O3 -march=native -ffast-math -fno-associative-math $ANNOY_FLAGS bench/annoy_bench.cc \
    -o "$WORK/annoy_bench"
g++ -O3 $ANNOY_FLAGS -DTOOL_NAME='"annoy-portable"' bench/annoy_bench.cc -o "$WORK/annoy_bench_portable"

echo "== data"
[ -f data/fashion-mnist/train.desc ] || Rscript scripts/fashion-mnist-to-bigmemory.R data/fashion-mnist
$PY bench/prepare_data.py "$WORK" data/fashion-mnist

# tag DATASET [VARIANT]: prefix RESULT lines with the data set (and variant), echo, log.
tag() {
    local extra="data=$1"
    [ -n "${2:-}" ] && extra="$extra variant=$2"
    sed -u "s/^RESULT /RESULT $extra /" | tee -a "$LOG"
}

# The machine is shared: log the load before each timed step, so a busy run can be told.
load() { echo "RESULT tool=machine phase=load load1=$(cut -d' ' -f1 /proc/loadavg) step=$2" | tag "$1"; }

# name n nq dim search_k list
run_dataset() {
    local ds=$1 n=$2 nq=$3 dim=$4 sks=$5
    local train=$WORK/$ds-train.f32 test=$WORK/$ds-test.f32
    echo "== $ds: exact kNN, core vs FAISS (1 and 2 threads)"
    for t in 1 2; do
        load "$ds" exact-$t
        # Same thread count for OpenMP and for OpenBLAS (both peers call sgemm).
        OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t "$WORK/core_bench" exact "$train" "$n" "$test" \
            "$nq" "$dim" "$t" "$WORK/gt-$ds.i32" | tag "$ds"
        OMP_WAIT_POLICY=passive OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t "$WORK/core_bench" exact \
            "$train" "$n" "$test" "$nq" "$dim" "$t" "$WORK/gt-$ds-passive.i32" | tag "$ds" omp-passive
        OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t $PY bench/faiss_exact.py "$train" "$n" "$test" \
            "$nq" "$dim" "$t" "$WORK/faiss-$ds.i32" | tag "$ds"
    done
    $PY bench/compare_gt.py "$train" "$n" "$test" "$nq" "$dim" "$WORK/gt-$ds.i32" \
        "$WORK/faiss-$ds.i32" | tag "$ds"
    echo "== $ds: forest core, 50 trees, build at 1 and 2 threads, query sweep"
    load "$ds" core-forest
    OMP_NUM_THREADS=2 "$WORK/core_bench" forest "$train" "$n" "$test" "$nq" "$dim" 50 1,2 \
        "$WORK/gt-$ds.i32" "$SWEEP_NQ" "$sks" | tag "$ds"
    echo "== $ds: forest core with query.rerank 30 (8-bit first pass), same sweep"
    load "$ds" core-rerank
    AF_RERANK=30 OMP_NUM_THREADS=2 "$WORK/core_bench" forest "$train" "$n" "$test" "$nq" "$dim" \
        50 2 "$WORK/gt-$ds.i32" "$SWEEP_NQ" "$sks" | tag "$ds" rerank30
    echo "== $ds: Annoy, 50 trees, build at 1 and 2 threads, query sweep"
    load "$ds" annoy
    "$WORK/annoy_bench" "$train" "$n" "$test" "$nq" "$dim" 50 1,2 "$WORK/gt-$ds.i32" "$SWEEP_NQ" \
        "$sks" | tag "$ds"
    echo "== $ds: Annoy compiled portable (-O3, no -march=native), 2 build threads only"
    load "$ds" annoy-portable
    "$WORK/annoy_bench_portable" "$train" "$n" "$test" "$nq" "$dim" 50 2 "$WORK/gt-$ds.i32" \
        "$SWEEP_NQ" "$sks" | tag "$ds"
}

START=$(date +%s)
if [ "$QUICK" = 1 ]; then
    run_dataset fmnist 60000 10000 784 200,500,1000,3000,10000
    run_dataset clustered 1000000 10000 128 500,2000,5000,10000
else
    run_dataset fmnist 60000 10000 784 50,200,300,400,500,700,1000,1500,2000,3000,5000,7000,10000,20000
    run_dataset clustered 1000000 10000 128 300,500,1000,1500,2000,3000,4000,5000,7000,10000,15000
fi
echo "== done in $(($(date +%s) - START)) s"

{
    echo "# run-core.sh results ($(date -u +%Y-%m-%dT%H:%MZ))"
    echo
    echo "Machine: $(getconf _NPROCESSORS_ONLN) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/ {print $2}') GiB."
    echo
    $PY bench/summarize.py "$LOG"
} >"$RESULTS/core.md"
echo "== tables: bench/results/core.md"
