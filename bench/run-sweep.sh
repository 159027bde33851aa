#!/usr/bin/env bash
# `annforest bench` over Fashion-MNIST (configs/fashion-mnist.ini: 60000 x 784 reference,
# 10000 queries, k = 10, euclidean, one thread per rank), with Annoy's curve from
# bench/results/core.log (run-core.sh) on the same plot when that log is there.
#   bench/run-sweep.sh [NP] [--set section.key=value ...]
# NP ranks (default 1); the sweep: trees 10, 20, 50 in one shard, search_k 100 ... 20000,
# best of 3 passes. Extra --set arguments change any of it. Needs a Release build in
# build-bench/ (AF_BENCH_BUILD to use another) and gnuplot. Takes several minutes (the exact
# truth once, ~20 s, is cached in bench/results/truth/ for later runs); run it on a quiet
# machine. Writes OUT.csv, OUT.png and OUT.csv.manifest.json, OUT = bench/results/sweep
# (AF_SWEEP_OUT to change), and the indexes to OUT.csv.work/ (deleted at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${AF_BENCH_BUILD:-$ROOT/build-bench}
AF=$BUILD/app/annforest
OUT=${AF_SWEEP_OUT:-bench/results/sweep}
NP=1
if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then
    NP=$1
    shift
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
[ -x "$AF" ] || { echo "run-sweep.sh: $AF missing: build build-bench first (see bench/README.md)" >&2; exit 1; }
[ -f data/fashion-mnist/train.desc ] || Rscript scripts/fashion-mnist-to-bigmemory.R data/fashion-mnist
mkdir -p "$(dirname "$OUT")"

peer=()
if [ -f bench/results/core.log ] &&
    bench/results-to-csv.sh -t annoy -d fmnist bench/results/core.log >"$OUT.annoy.csv" 2>/dev/null; then
    peer=(--set "bench.peer=$OUT.annoy.csv")
fi

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
mpirun --oversubscribe -np "$NP" --bind-to core "$AF" bench --config configs/fashion-mnist.ini \
    --set bench.trees=10,20,50 --set bench.shards=1 \
    --set bench.search_k=100,200,500,1000,2000,5000,10000,20000 --set bench.repeat=3 \
    --set "bench.out=$OUT.csv" --set "bench.plot=$OUT.png" --set bench.truth=bench/results/truth \
    --set bench.label=annforest "${peer[@]}" "$@"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
rm -rf "$OUT.csv.work"
column -s, -t <"$OUT.csv"
