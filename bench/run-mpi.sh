#!/usr/bin/env bash
# Distributed build and query of Fashion-MNIST through annforest at 1 and 2 MPI ranks.
#   bench/run-mpi.sh [REPEATS]      (default 3: each timing is the best of REPEATS runs)
# Commands timed: build, query, and run (build + query in one job).
# Job: configs/fashion-mnist.ini (20 trees per shard, k = 10, job.threads = 1), run from the
# repository root with `mpirun --oversubscribe -np N --bind-to core`. Three layouts:
#   fixed     index.shards = 2 at both rank counts: 1 and 2 ranks build the SAME index (bytes
#             compared) and write the same answers, so the times compare the same work;
#   fixed-rerank  the fixed layout with query.rerank = 30 (the compact 8-bit copy, docs/tuning.md):
#             the same index; the query reads 8-bit copies of the vectors, a quarter of the bytes;
#   per-rank  index.shards = 0 (one shard per rank, the config's default): 2 ranks build a
#             different, 2-shard index, 1 rank a 1-shard one.
# Then the synthetic clustered 1,000,000 x 128 set (fixed layout, build and query, best of
# AF_BENCH_CLUSTERED_REPEATS = 2 runs; 0 skips it): bench/prepare_data.py's files, through native
# descriptors written to build-bench/bench-work/mpi/clustered/.
# Each rank runs under /usr/bin/time (max RSS = its peak memory). Wall time = around mpirun;
# job time = the command's own phase in its run manifest (without mpirun's start-up).
# mpirun gets `--mca pml ob1` (override: AF_BENCH_MPI_OPTS): on one node Open MPI's default UCX
# layer spends about 0.2 s of every start-up probing network transports it cannot use here
# (MPI_Init + MPI_Finalize at 2 ranks: 0.32 s with UCX, 0.11 s with ob1), which is not annforest's
# time; docs/tuning.md tells users the same.
# Writes bench/results/mpi.log (RESULT lines) and bench/results/mpi.md (tables).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${AF_BENCH_BUILD:-$ROOT/build-bench}
AF=$BUILD/app/annforest
CONFIG=configs/fashion-mnist.ini
REPEATS=${1:-3}
RESULTS=$ROOT/bench/results
WORK=$BUILD/bench-work/mpi
PY=/usr/bin/python3
read -r -a MPI_OPTS <<<"${AF_BENCH_MPI_OPTS---mca pml ob1}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
[ -x "$AF" ] || { echo "run-mpi.sh: $AF missing: build build-bench first (see bench/README.md)" >&2; exit 1; }
mkdir -p "$RESULTS" "$WORK"
LOG=$RESULTS/mpi.log
: >"$LOG"
[ -f data/fashion-mnist/train.desc ] || Rscript scripts/fashion-mnist-to-bigmemory.R data/fashion-mnist

# run LAYOUT NP CMD REP [--set ...]: one timed mpirun; per-rank /usr/bin/time files in WORK.
run() {
    local layout=$1 np=$2 cmd=$3 rep=$4
    shift 4
    local tdir=$WORK/$layout-$cmd-np$np-rep$rep
    rm -rf "$tdir" && mkdir -p "$tdir"
    local load1 t0 t1
    load1=$(cut -d' ' -f1 /proc/loadavg)
    t0=$(date +%s.%N)
    mpirun --oversubscribe -np "$np" --bind-to core "${MPI_OPTS[@]}" bash -c \
        '/usr/bin/time -o "$0/rank-$OMPI_COMM_WORLD_RANK" -f "%M %e %U %S" "${@}"' "$tdir" \
        "$AF" "$cmd" --config "$CONFIG" --quiet "$@"
    t1=$(date +%s.%N)
    for f in "$tdir"/rank-*; do
        read -r rss el us sy <"$f"
        echo "RESULT layout=$layout np=$np cmd=$cmd rep=$rep rank=${f##*rank-} maxrss_kb=$rss elapsed=$el user=$us sys=$sy"
    done | tee -a "$LOG"
    echo "RESULT layout=$layout np=$np cmd=$cmd rep=$rep wall=$(echo "$t1 - $t0" | bc) load1=$load1" | tee -a "$LOG"
}

# job_time LAYOUT NP CMD REP MANIFEST: the job's own time, its top-level phases in the run
# manifest (build, query, or both for run), i.e. the wall time without the launcher's start-up.
job_time() {
    local s
    s=$($PY -c 'import json,sys; m=json.load(open(sys.argv[1])); print(sum(p["seconds"] for p in m["phases"] if "within" not in p and p["name"] in ("build", "query") and sys.argv[2] in (p["name"], "run")))' "$5" "$3")
    echo "RESULT layout=$1 np=$2 cmd=$3 rep=$4 job=$s" | tee -a "$LOG"
}

for layout in fixed fixed-rerank per-rank; do
    shards=2
    [ $layout = per-rank ] && shards=0
    for np in 1 2; do
        out=out/fashion-mnist/$layout-np$np
        sets=(--set index.shards=$shards --set index.path=$out/train.ann
              --set output.index=$out/nn_index.desc --set output.distance=$out/nn_distance.desc)
        [ $layout = fixed-rerank ] && sets+=(--set query.rerank=30)
        rm -rf "$out"
        for rep in $(seq "$REPEATS"); do
            echo "== $layout (index.shards = $shards), $np rank(s), run $rep: build, query"
            # a new index each time (the previous one removed, as before `run` below): replacing
            # an existing index adds this VM's cost of first-touching fresh page-cache pages
            # (0.4-0.5 s for 200 MB, at any rank count; bench/RESULTS.md section 00)
            rm -f "$out"/train.ann "$out"/train.ann.meta
            run $layout $np build $rep "${sets[@]}" --set output.existing=overwrite
            job_time $layout $np build $rep $out/train.ann.manifest.json
            run $layout $np query $rep "${sets[@]}"
            job_time $layout $np query $rep $out/nn_index.desc.manifest.json
            # build + query in one job: `run` (the index removed first, so that it builds)
            rm -f "$out"/train.ann "$out"/train.ann.meta
            run $layout $np run $rep "${sets[@]}"
            job_time $layout $np run $rep $out/nn_index.desc.manifest.json
        done
    done
done

# The synthetic clustered 1,000,000 x 128 set of run-core.sh (bench/prepare_data.py), fixed layout
# (2 shards at both rank counts), build and query: at this size the libraries' fixed memory
# (about 20 MB a process) no longer weighs on the per-rank ratio as it does on Fashion-MNIST.
CWORK=$WORK/clustered
CREPEATS=${AF_BENCH_CLUSTERED_REPEATS:-2}
if [ "$CREPEATS" -gt 0 ]; then
    $PY bench/prepare_data.py "$BUILD/bench-work" data/fashion-mnist >/dev/null
    mkdir -p "$CWORK"
    for part in train:1000000 test:10000; do
        printf 'annforest-matrix: 1\nfile: %s\nrows: %s\ncols: 128\ntype: single\norder: row\n' \
            "$BUILD/bench-work/clustered-${part%%:*}.f32" "${part##*:}" >"$CWORK/${part%%:*}.afm"
    done
    for np in 1 2; do
        out=out/clustered/fixed-np$np
        sets=(--set reference.path=$CWORK/train.afm --set query.path=$CWORK/test.afm
              --set index.shards=2 --set index.path=$out/train.ann
              --set output.index=$out/nn_index.desc --set output.distance=$out/nn_distance.desc)
        rm -rf "$out"
        for rep in $(seq "$CREPEATS"); do
            echo "== clustered 1M x 128 (index.shards = 2), $np rank(s), run $rep: build, query"
            rm -f "$out"/train.ann "$out"/train.ann.meta
            run clustered-fixed $np build $rep "${sets[@]}" --set output.existing=overwrite
            job_time clustered-fixed $np build $rep $out/train.ann.manifest.json
            run clustered-fixed $np query $rep "${sets[@]}"
            job_time clustered-fixed $np query $rep $out/nn_index.desc.manifest.json
        done
    done
    for f in train.ann nn_index.bin nn_distance.bin; do
        if cmp -s out/clustered/fixed-np1/$f out/clustered/fixed-np2/$f; then same=1; else same=0; fi
        echo "RESULT check=identical data=clustered file=$f same=$same" | tee -a "$LOG"
    done
fi

echo "== same index and answers at 1 and 2 ranks (fixed layout)?"
for f in train.ann nn_index.bin nn_distance.bin; do
    if cmp -s out/fashion-mnist/fixed-np1/$f out/fashion-mnist/fixed-np2/$f; then same=1; else same=0; fi
    echo "RESULT check=identical file=$f same=$same" | tee -a "$LOG"
done

echo "== recall@10 of the answers against annforest exact (2 ranks)"
mpirun --oversubscribe -np 2 --bind-to core "$AF" exact --config "$CONFIG" --quiet \
    --set output.index=out/fashion-mnist/exact/nn_index.desc \
    --set output.distance=out/fashion-mnist/exact/nn_distance.desc --set output.existing=overwrite
for layout in fixed fixed-rerank per-rank; do
    for np in 1 2; do
        $PY - "$layout" "$np" <<'PY' | tee -a "$LOG"
import sys
import numpy as np
layout, np_ = sys.argv[1:]
def cols(path):  # bigmemory column-major n x k
    return np.fromfile(path, dtype=np.float64).reshape(10, -1).T
truth = cols("out/fashion-mnist/exact/nn_distance.bin")
got = cols(f"out/fashion-mnist/{layout}-np{np_}/nn_distance.bin")
hits = (got <= truth[:, 9:10] * (1 + 1e-9) + 1e-9).sum(axis=1)
print(f"RESULT check=recall layout={layout} np={np_} recall={hits.mean() / 10:.4f}")
PY
    done
done

{
    echo "# run-mpi.sh results ($(date -u +%Y-%m-%dT%H:%MZ))"
    echo
    echo "Machine: $(getconf _NPROCESSORS_ONLN) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/ {print $2}') GiB."
    echo
    $PY bench/summarize_mpi.py "$LOG"
} >"$RESULTS/mpi.md"
cat "$RESULTS/mpi.md"
