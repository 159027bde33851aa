# annforest bench over an ann-benchmarks HDF5 file (train as reference, test as queries, recall
# against its neighbors) at AF_NP ranks: recall rises with search_k and reaches 1; the same
# matrices given as reference/query paths (exact truth) give the same recall; a file whose
# neighbors are too few for k is refused naming it.
. "$AF_SRC/tests/lib.sh"
require_cmd gnuplot gnuplot-nox
"$AF_PYTHON" -c "import h5py, numpy" 2>/dev/null || require_cmd h5dump python3-h5py
"$AF_PYTHON" "$AF_SRC/tests/bench/make_annb.py" annb.hdf5 1500 100 12 20

cat >annb.ini <<'INI'
[job]
seed = 3
threads = 1
[index]
metric = euclidean
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
grep -q "truth: the k-th of annb.hdf5:/neighbors's listed neighbours" annb.log ||
    fail "truth not taken from /neighbors: $(cat annb.log)"
[ "$(tail -n +2 out/annb.csv | wc -l)" -eq 3 ] || fail "want 3 points: $(cat out/annb.csv)"
awk -F, 'NR > 1 {
    if ($4 != 100 || $5 != 1500 || $8 != 2 || $9 != 4) { print "facts: " $0; exit 1 }
    if (NR > 2 && $11 + 0 < last) { print "recall fell: " $0; exit 1 }
    if ($10 == 20000 && $11 != "1.000000") { print "not exact: " $0; exit 1 }
    last = $11 + 0
}' out/annb.csv || fail "recall over annb.hdf5 (see above)"

# The same sweep with the datasets named as reference and queries: exact truth, same recall.
af_mpirun "$AF_NP" "$ANNFOREST" bench --config annb.ini --quiet --set bench.dataset= \
    --set reference.path=annb.hdf5:/train --set query.path=annb.hdf5:/test \
    --set bench.out=out/plain.csv || fail "bench over the plain datasets failed"
cut -d, -f10,11 out/annb.csv >a.txt
cut -d, -f10,11 out/plain.csv >b.txt
cmp -s a.txt b.txt || fail "recall from /neighbors differs from exact truth: $(paste a.txt b.txt)"

# k above the listed neighbours
expect_fail "annb.hdf5:/neighbors is 100 x 20: it needs a row per /test row \(100\) and at least query.k = 30 columns" \
    af_mpirun "$AF_NP" "$ANNFOREST" bench --config annb.ini --set query.k=30
echo "bench over an ann-benchmarks file at $AF_NP ranks: ok"
