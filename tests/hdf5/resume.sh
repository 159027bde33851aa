# Resuming a killed query job whose outputs are HDF5 datasets (both in one file), at AF_NP
# ranks: the job is SIGKILLed after a few journaled batches, `query --resume` reopens the
# temporary HDF5 file the journal names and finishes it, and h5py finds the same values as an
# uninterrupted run. (The journal and --resume are tests/manifest's; this checks the HDF5
# store under them: sync = H5Fflush before a batch is journaled, reopen without recreating.)
. "$AF_SRC/tests/lib.sh"
"$AF_PYTHON" -c "import h5py" 2>/dev/null || require_cmd false python3-h5py
export OMPI_MCA_odls_base_sigkill_timeout=0

"$AF_PYTHON" - <<'PY'
import h5py, numpy as np
rng = np.random.default_rng(8)
with h5py.File("in.h5", "w") as f:
    f["ref"] = rng.standard_normal((1500, 16)).astype("f4")
    f.create_dataset("q", data=rng.standard_normal((3000, 16)).astype("f4"), chunks=(100, 16))
PY
cat >job.ini <<'INI'
[job]
seed = 1
threads = 1
[reference]
path = in.h5:/ref
[index]
path = out/ref.ann
trees = 8
shards = 2
[query]
path = in.h5:/q
k = 10
batch = 40
[output]
index = out/res.h5:/index
distance = out/res.h5:/distance
INI
af_mpirun "$AF_NP" "$ANNFOREST" build --config job.ini --quiet || fail "build"
af_mpirun "$AF_NP" "$ANNFOREST" query --config job.ini --quiet \
    --set output.index=whole.h5:/index --set output.distance=whole.h5:/distance ||
    fail "the uninterrupted run"

export AF_JOURNAL_INTERVAL=0 # journal every batch
mpirun --oversubscribe --bind-to none -np "$AF_NP" -x AF_JOURNAL_INTERVAL \
    "$ANNFOREST" query --config "$AF_TMP/job.ini" --quiet >run.log 2>&1 &
pid=$!
done_batches() {
    grep -o '"batches_done":[[:space:]]*[0-9]*' out/res.h5.journal 2>/dev/null |
        grep -o '[0-9]*$' || echo 0
}
for i in $(seq 1500); do
    [ "$(done_batches)" -ge 3 ] && break
    kill -0 "$pid" 2>/dev/null || fail "the job ended before 3 batches: $(cat run.log)"
    sleep 0.01
done
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
for i in $(seq 200); do
    pgrep -f "$AF_TMP/job.ini" >/dev/null || break
    sleep 0.05
done
[ -e out/res.h5 ] && fail "a killed job published out/res.h5"
[ "$(done_batches)" -ge 3 ] || fail "no journal after the kill: $(ls -a out)"

af_mpirun "$AF_NP" "$ANNFOREST" query --config job.ini --quiet --resume || fail "--resume"
grep -q . out/res.h5.journal 2>/dev/null && fail "the journal is left after the resumed run"
"$AF_PYTHON" - <<'PY' || fail "the resumed outputs differ from the uninterrupted run"
import h5py, numpy as np
a, b = h5py.File("whole.h5"), h5py.File("out/res.h5")
for name in ("index", "distance"):
    assert np.array_equal(a[name][()], b[name][()]), name
    assert dict(a[name].attrs).keys() == dict(b[name].attrs).keys(), name
PY
[ "$(ls -a out | grep -c tmp)" -eq 0 ] || fail "temporary files left: $(ls -a out)"
echo "hdf5 resume at $AF_NP ranks: OK"
