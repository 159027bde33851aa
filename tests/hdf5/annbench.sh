# An ann-benchmarks-shaped file (train, test, neighbors, distances, the `distance` attribute)
# made here with h5py, used as it is: train as the reference, test as the queries, at AF_NP
# ranks. Recall against its neighbors, by ann-benchmarks' rule (a found neighbour counts when
# its distance is within the true k-th distance + 1e-3): exact gives 1, the forest nearly 1.
. "$AF_SRC/tests/lib.sh"
"$AF_PYTHON" -c "import h5py" 2>/dev/null || require_cmd false python3-h5py
export OMPI_MCA_odls_base_sigkill_timeout=0

"$AF_PYTHON" - <<'PY'
import h5py, numpy as np
rng = np.random.default_rng(4)
centres = rng.normal(0, 3, size=(8, 12))
train = (centres[rng.integers(0, 8, 1500)] + rng.normal(0, 1, (1500, 12))).astype("f4")
test = (centres[rng.integers(0, 8, 60)] + rng.normal(0, 1, (60, 12))).astype("f4")
d = np.sqrt(((test[:, None, :].astype("f8") - train[None, :, :]) ** 2).sum(axis=2))
nn = np.argsort(d, axis=1, kind="stable")[:, :20]
with h5py.File("bench-euclidean.hdf5", "w") as f:
    f.attrs["distance"] = "euclidean"
    f.attrs["point_type"] = "float"
    f["train"], f["test"] = train, test
    f["neighbors"] = nn.astype("i4")
    f["distances"] = np.take_along_axis(d, nn, axis=1).astype("f4")
PY

for cmd in exact run; do
    cat >$cmd.ini <<INI
[job]
seed = 3
threads = 1
[reference]
path = bench-euclidean.hdf5:/train
[index]
path = out/bench.ann
trees = 10
shards = 2
[query]
path = bench-euclidean.hdf5:/test
k = 10
[output]
index = out/$cmd.h5:/index
distance = out/$cmd.h5:/distance
base = 0
INI
    af_mpirun "$AF_NP" "$ANNFOREST" $cmd --config $cmd.ini --quiet || fail "$cmd on the file"
done

"$AF_PYTHON" - <<'PY' || fail "recall by ann-benchmarks' rule"
import h5py, numpy as np
truth = h5py.File("bench-euclidean.hdf5")
true_d = truth["distances"][:, :10].astype("f8")
def recall(name):
    with h5py.File(f"out/{name}.h5") as f:
        found = f["distance"][()]
        ids = f["index"][()]
        assert f["index"].attrs["id_base"] == 0
    hits = (found <= true_d[:, -1:] + 1e-3).sum(axis=1)
    return hits.mean() / 10, ids
exact, ids = recall("exact")
assert exact == 1.0, exact
# the same neighbours as the file's, apart from ties
same = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids, truth["neighbors"][:, :10])])
assert same >= 0.99, same
ann, _ = recall("run")
assert 0.9 <= ann <= 1.0, ann
print(f"ann-benchmarks recall@10: exact {exact:.3f}, forest {ann:.3f}")
PY
echo "ann-benchmarks file at $AF_NP ranks: OK"
