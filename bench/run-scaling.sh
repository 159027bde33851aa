#!/usr/bin/env bash
# Check docs/scaling.md's model against measurements at 1 to 4 ranks.
#   bench/run-scaling.sh [N_REF] [DIM]        (default 400000 x 64, float; 20000 queries)
# A fixed layout (4 shards, 20 trees each), so every rank count builds the same index. For
# each rank count: build and query under mpirun; the run manifests give each rank's peak
# memory and the phase times; bench/scaling_model.py prints the model beside them.
# Writes bench/results/scaling.json and bench/results/scaling.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${AF_BENCH_BUILD:-$ROOT/build-bench}
AF=$BUILD/app/annforest
N=${1:-400000}
D=${2:-64}
NQ=20000
WORK=$BUILD/bench-work/scaling
PY=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
[ -x "$AF" ] || { echo "run-scaling.sh: $AF missing: build build-bench first" >&2; exit 1; }
mkdir -p "$WORK" bench/results
[ -f "$WORK/data/ref.desc" ] && grep -q "nrow = ${N}L" "$WORK/data/ref.desc" ||
    Rscript scripts/make-clustered.R "$WORK/data" "$N" "$NQ" "$D" 200 11 float >/dev/null 2>&1
cat >"$WORK/job.ini" <<INI
[job]
seed = 42
threads = 1
[reference]
path = $WORK/data/ref.desc
[index]
path = $WORK/out/ref.ann
trees = 20
shards = 4
[query]
path = $WORK/data/query.desc
k = 10
batch = 4096
[output]
index = $WORK/out/ids.desc
distance = $WORK/out/dist.desc
existing = overwrite
INI
points=()
for np in 1 2 3 4; do
    echo "== $np rank(s)" >&2
    rm -rf "$WORK/out"
    t0=$(date +%s.%N)
    mpirun --oversubscribe --bind-to none -np "$np" "$AF" build --config "$WORK/job.ini" --quiet
    t1=$(date +%s.%N)
    mpirun --oversubscribe --bind-to none -np "$np" "$AF" query --config "$WORK/job.ini" --quiet
    t2=$(date +%s.%N)
    points+=("$($PY - "$WORK/out" "$np" "$t0" "$t1" "$t2" <<'PY'
import json, sys
out, np, t0, t1, t2 = sys.argv[1], int(sys.argv[2]), *map(float, sys.argv[3:6])
b = json.load(open(f"{out}/ref.ann.manifest.json"))
q = json.load(open(f"{out}/ids.desc.manifest.json"))
print(json.dumps({"ranks": np, "build_wall": t1 - t0, "query_wall": t2 - t1,
                  "build_rss_max": max(r["peak_rss_bytes"] for r in b["per_rank"]),
                  "query_rss_max": max(r["peak_rss_bytes"] for r in q["per_rank"]),
                  "build_phases": {p["name"]: p["seconds"] for p in b["phases"]},
                  "query_phases": {p["name"]: p["seconds"] for p in q["phases"]}}))
PY
)")
    cp "$WORK/out/ref.ann.meta" "$WORK/meta-np$np"
done
$PY - "$WORK/meta-np1" "$N" "$D" "$NQ" "${points[@]}" >bench/results/scaling.json <<'PY'
import json, sys
meta = dict(l.split(": ", 1) for l in open(sys.argv[1]).read().splitlines() if ": " in l)
n, d, nq = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
pts = [json.loads(p) for p in sys.argv[5:]]
nodes, node_size = int(meta["n_nodes"]), int(meta["node_size"])
K = (node_size - 12) // 4
trees = int(meta["trees_per_shard"])
shards = int(meta["shards"])
c = (nodes - n - shards * trees) / (trees * n / K)
print(json.dumps({"n": n, "d": d, "nq": nq, "shards": shards, "trees": trees, "threads": 1,
                  "elem_bytes": 4, "batch": 4096, "k": 10, "c": c,
                  "index_bytes": nodes * node_size, "points": pts}, indent=1))
PY
{
    echo "# Scaling check ($(date -u +%F), load $(cut -d' ' -f1-3 /proc/loadavg))"
    echo
    echo "$N x $D float reference, $NQ queries, 4 shards x 20 trees, 1 thread per rank."
    echo
    echo "| ranks | build wall s | query wall s |"
    echo "|---|---|---|"
    $PY -c "
import json
for p in json.load(open('bench/results/scaling.json'))['points']:
    print(f\"| {p['ranks']} | {p['build_wall']:.2f} | {p['query_wall']:.2f} |\")"
    echo
    $PY bench/scaling_model.py check bench/results/scaling.json
} >bench/results/scaling.md
cat bench/results/scaling.md
