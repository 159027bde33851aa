# annforest bench over ann-benchmarks HDF5 files (train as reference, test as queries, recall
# against their true distances) at AF_NP ranks: the metric taken from the file, recall rising
# with search_k to 1 (euclidean, and angular whose distances the file holds as 1 - cos); the
# same matrices given as reference/query paths (exact truth) give the same recall; k above the
# file's neighbours and a metric other than the file's are refused naming the key.
. "$AF_SRC/tests/lib.sh"
require_cmd gnuplot gnuplot-nox
"$AF_PYTHON" -c "import h5py, numpy" 2>/dev/null || require_cmd h5dump python3-h5py
"$AF_PYTHON" "$AF_SRC/tests/bench/make_annb.py" annb.hdf5 1500 100 12 20
"$AF_PYTHON" "$AF_SRC/tests/bench/make_annb.py" angular.hdf5 1500 100 12 20 angular

cat >annb.ini <<'INI'
[job]
seed = 3
threads = 1
[query]
k = 10
[bench]
dataset = annb.hdf5
trees = 4
shards = 2
search_k = 10,100,20000
out = out/annb.csv
INI
af_mpirun "$AF_NP" "$ANNFOREST" bench --config annb.ini 2>annb.log ||
    fail "bench over annb.hdf5 failed: $(cat annb.log)"
grep -q "truth: the true distances of annb.hdf5:/distances (euclidean)" annb.log ||
    fail "truth not taken from the file: $(cat annb.log)"
[ "$(tail -n +2 out/annb.csv | wc -l)" -eq 3 ] || fail "want 3 points: $(cat out/annb.csv)"
check_sweep() {
    awk -F, -v metric="$2" 'NR > 1 {
    if ($2 != metric || $4 != 100 || $5 != 1500 || $8 != 2 || $9 != 4) { print "facts: " $0; exit 1 }
    if (NR > 2 && $11 + 0 < last) { print "recall fell: " $0; exit 1 }
    if ($10 == 20000 && $11 != "1.000000") { print "not exact: " $0; exit 1 }
    last = $11 + 0
}' "$1" || fail "recall in $1 (see above)"
}
check_sweep out/annb.csv euclidean
af_mpirun "$AF_NP" "$ANNFOREST" bench --config annb.ini --quiet --set bench.dataset=angular.hdf5 \
    --set bench.out=out/angular.csv || fail "bench over angular.hdf5 failed"
check_sweep out/angular.csv angular

# The same sweep with the datasets named as reference and queries: exact truth, same recall.
af_mpirun "$AF_NP" "$ANNFOREST" bench --config annb.ini --quiet --set bench.dataset= \
    --set index.metric=euclidean \
    --set reference.path=annb.hdf5:/train --set query.path=annb.hdf5:/test \
    --set bench.out=out/plain.csv || fail "bench over the plain datasets failed"
cut -d, -f10,11 out/annb.csv >a.txt
cut -d, -f10,11 out/plain.csv >b.txt
cmp -s a.txt b.txt || fail "recall from /neighbors differs from exact truth: $(paste a.txt b.txt)"

# k above the listed neighbours; another metric than the file's
expect_fail "^annforest: --set query.k = '30': annb.hdf5 lists only 20 true neighbours per query$" \
    af_mpirun "$AF_NP" "$ANNFOREST" bench --config annb.ini --set query.k=30
expect_fail "^annforest: --set index.metric = 'angular': annb.hdf5 holds euclidean distances: set index.metric = euclidean" \
    af_mpirun "$AF_NP" "$ANNFOREST" bench --config annb.ini --set index.metric=angular
expect_fail "\[bench\] dataset: .*missing.hdf5" \
    af_mpirun "$AF_NP" "$ANNFOREST" bench --config annb.ini --set bench.dataset=missing.hdf5
echo "bench over an ann-benchmarks file at $AF_NP ranks: ok"
