# HDF5 inputs and outputs in the distributed pipeline, at AF_NP ranks: h5py writes the inputs
# (float32 contiguous, int16 chunked+gzip, float64 chunked+gzip, int8, int32 shuffle+gzip);
# annforest builds and queries from them and writes HDF5 outputs; h5py and h5dump read those,
# and they must equal, value for value, what the file-backed path (the same matrices as
# native descriptors in, bigmemory descriptors out) gives. The index bytes must be equal too.
. "$AF_SRC/tests/lib.sh"
require_cmd h5dump hdf5-tools
"$AF_PYTHON" -c "import h5py" 2>/dev/null || require_cmd false python3-h5py
# A failing job: mpirun kills the other ranks at once rather than after 2 s (every rank exits by
# itself anyway, after agreeing on the failure).
export OMPI_MCA_odls_base_sigkill_timeout=0
"$AF_PYTHON" -c "import h5py" || fail "python3-h5py is needed"

af() {
    local np=$1
    shift
    af_mpirun "$np" "$ANNFOREST" "$@"
}

"$AF_PYTHON" "$AF_SRC/tests/hdf5/make_inputs.py"

# job NAME REF QUERY INDEX_OUT DIST_OUT [extra lines]
job() {
    local name=$1 ref=$2 query=$3 ids=$4 dist=$5
    shift 5
    cat >"$name.ini" <<INI
[job]
seed = 5
threads = 1
[reference]
path = $ref
[index]
path = $name/ref.ann
trees = 6
shards = 3
[query]
path = $query
k = 6
batch = 13
[output]
index = $ids
distance = $dist
INI
    local line
    for line in "$@"; do echo "$line" >>"$name.ini"; done
}

# 1. float inputs (contiguous float32 reference, chunked gzip float64 queries), tree search;
#    both outputs in one HDF5 file, in a group that does not exist yet.
job h5 in.h5:/ref/f32 in.h5:/query/f64 out/res.h5:/ann/index out/res.h5:/ann/distance
job bm ref_f32.afm query_f64.afm bm/ids.desc bm/dist.desc
af "$AF_NP" run --config h5.ini --quiet || fail "run with HDF5 inputs and outputs"
"$ANNFOREST" run --config bm.ini --quiet || fail "run with file-backed inputs" # any rank count
cmp h5/ref.ann bm/ref.ann || fail "the index built from HDF5 differs from the file-backed one"
"$AF_PYTHON" "$AF_SRC/tests/hdf5/same_results.py" out/res.h5 /ann/index /ann/distance \
    bm/ids.desc bm/dist.desc 6 euclidean
ls -a out | grep -q tmp && fail "a temporary file is left in out/: $(ls -a out)"

# h5dump, HDF5's own reader, sees the same ids as bigmemory's .bin holds.
h5dump -d /ann/index -y -w 0 -o dump.txt out/res.h5 >/dev/null || fail "h5dump"
"$AF_PYTHON" - <<'PY' || fail "h5dump's ids differ"
import numpy as np
dumped = np.array([int(x) for x in open("dump.txt").read().replace(",", " ").split()])
ids = np.fromfile("bm/ids.bin", dtype="<i4").reshape(6, 40).T.ravel()
assert np.array_equal(dumped, ids), (dumped[:12], ids[:12])
PY
h5dump -a /ann/index/metric out/res.h5 | grep -q '"euclidean"' || fail "h5dump: no metric"

# 2. integer inputs (int16 chunked gzip reference, int8 queries), brute force; outputs added
#    to an existing HDF5 file whose other dataset must survive.
"$AF_PYTHON" -c "import h5py; h5py.File('out/exact.h5', 'w')['keep'] = [[1, 2], [3, 4]]"
job h5x in.h5:/ref/i16 in.h5:/query/i8 out/exact.h5:/index out/exact.h5:/distance
job bmx ref_i16.afm query_i8.afm bmx/ids.desc bmx/dist.desc
af "$AF_NP" exact --config h5x.ini --quiet || fail "exact with integer HDF5 inputs"
"$ANNFOREST" exact --config bmx.ini --quiet || fail "exact with integer file-backed inputs"
"$AF_PYTHON" "$AF_SRC/tests/hdf5/same_results.py" out/exact.h5 /index /distance \
    bmx/ids.desc bmx/dist.desc 6 euclidean
"$AF_PYTHON" -c "import h5py; assert h5py.File('out/exact.h5')['keep'][1, 1] == 4" ||
    fail "the existing dataset /keep did not survive"

# 3. existing = error refuses an output dataset that exists, and leaves the file as it was;
#    overwrite replaces it; into writes into it. Each gives the same values again.
sum_before=$(md5sum out/exact.h5)
expect_fail "out/exact.h5 already holds /index \(set existing = overwrite" \
    af "$AF_NP" exact --config h5x.ini --quiet
[ "$(grep -c 'already holds' err.txt)" -eq 1 ] || fail "not one message: $(cat err.txt)"
[ "$(md5sum out/exact.h5)" = "$sum_before" ] || fail "a refused job changed out/exact.h5"
for policy in overwrite into; do
    job h5x in.h5:/ref/i16 in.h5:/query/i8 out/exact.h5:/index out/exact.h5:/distance \
        "existing = $policy"
    af "$AF_NP" exact --config h5x.ini --quiet || fail "existing = $policy"
    "$AF_PYTHON" "$AF_SRC/tests/hdf5/same_results.py" out/exact.h5 /index /distance \
        bmx/ids.desc bmx/dist.desc 6 euclidean
done

# 4. int32 queries (shuffle + gzip chunks) against the float reference, ids only, in a file
#    of their own; and the HDF5 ids output next to a bigmemory distance output.
job h5i in.h5:/ref/f32 in.h5:/query/i32 out/i32.h5:/index bmi/dist.desc
job bmi ref_f32.afm query_i32.afm bmi/ids.desc bmi/dist2.desc
af "$AF_NP" exact --config h5i.ini --quiet || fail "exact with int32 HDF5 queries"
"$ANNFOREST" exact --config bmi.ini --quiet || fail "exact with int32 file-backed queries"
cmp bmi/dist.bin bmi/dist2.bin || fail "distances (bigmemory, next to an HDF5 ids output)"
"$AF_PYTHON" - <<'PY' || fail "int32 queries: HDF5 ids differ"
import h5py, numpy as np
ids = h5py.File("out/i32.h5")["index"][()]
want = np.fromfile("bmi/ids.bin", dtype="<i4").reshape(6, 40).T
assert np.array_equal(ids, want)
PY

# 5. convert: HDF5 -> bigmemory keeps every value of every input type; int16 goes back to
#    HDF5 at AF_NP ranks and keeps its type (the other types in one process, to keep it quick).
for m in ref_f32 ref_i16 query_f64 query_i8 query_i32; do
    src=$(sed -n "s/.*\"$m\": (\"\([^\"]*\)\".*/\1/p" "$AF_SRC/tests/hdf5/make_inputs.py")
    if [ "$m" = ref_i16 ]; then
        af "$AF_NP" convert "in.h5:$src" "conv/$m.desc" --quiet || fail "convert $src"
        af "$AF_NP" convert "conv/$m.desc" "conv/back.h5:/$m" --quiet || fail "convert $m.desc"
    else
        "$ANNFOREST" convert "in.h5:$src" "conv/$m.desc" --quiet || fail "convert $src"
    fi
done
"$AF_PYTHON" - <<'PY' || fail "convert"
import h5py, numpy as np
src = h5py.File("in.h5")
bm_type = {"ref_f32": "<f4", "ref_i16": "<i2", "query_f64": "<f8", "query_i8": "i1",
           "query_i32": "<i4"}
for name, t in bm_type.items():
    a = src[name.replace("_", "/", 1)][()]
    b = np.fromfile(f"conv/{name}.bin", dtype=t).reshape(a.shape[1], a.shape[0]).T
    assert a.dtype == np.dtype(t) and np.array_equal(a, b), name
back = h5py.File("conv/back.h5")["ref_i16"]
assert back.dtype == np.dtype("<i2") and np.array_equal(back[()], src["ref/i16"][()])
PY
echo "hdf5 pipeline at $AF_NP ranks: OK"
