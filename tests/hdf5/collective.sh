# Collective HDF5 reads (issue 6), at AF_NP ranks: with AF_DEBUG_HDF5=1 annforest prints what
# HDF5 did in each H5Dread. A build and a query from float32 datasets (contiguous, chunked,
# chunked + gzip) must read collectively on every rank, in the file's type (no conversion), and
# give the same bytes as the file-backed path; integer and float64 datasets read collectively
# too, converted in memory. The last query batch leaves ranks without rows: they take part with
# empty selections. A file shorter than it claims and a chunk that cannot be decompressed (one
# rank's failure inside a collective read) each end the job with one message, without a hang.
. "$AF_SRC/tests/lib.sh"
"$AF_PYTHON" -c "import h5py" 2>/dev/null || require_cmd false python3-h5py
export OMPI_MCA_odls_base_sigkill_timeout=0
export AF_MPI_TIMEOUT=60 # a hang fails in a minute
export AF_DEBUG_HDF5=1

"$AF_PYTHON" - <<'PY'
import h5py
import numpy as np

rng = np.random.default_rng(7)
centres = rng.normal(0, 4, size=(5, 8))
ref = centres[rng.integers(0, 5, 150)] + rng.normal(0, 1, size=(150, 8))
query = centres[rng.integers(0, 5, 7)] + rng.normal(0, 1, size=(7, 8))
mats = {"ref_f32": ref.astype("<f4"), "query_f32": query.astype("<f4"),
        "ref_i16": np.round(ref * 100).astype("<i2"), "query_f64": query.astype("<f8")}
with h5py.File("in.h5", "w") as f:
    f["ref/f32"] = mats["ref_f32"]  # contiguous
    f.create_dataset("ref/f32c", data=mats["ref_f32"], chunks=(16, 8))
    f.create_dataset("query/f32z", data=mats["query_f32"], chunks=(2, 8), compression="gzip")
    f["query/f32"] = mats["query_f32"]
    f.create_dataset("ref/i16z", data=mats["ref_i16"], chunks=(32, 8), compression="gzip")
    f["query/f64"] = mats["query_f64"]
    f.create_dataset("bad/ref", data=mats["ref_f32"], chunks=(16, 8), compression="gzip")
for name, m in mats.items():
    m.tofile(name + ".dat")
    t = {"<f4": "single", "<i2": "short", "<f8": "double"}[m.dtype.str]
    with open(name + ".afm", "w") as d:
        d.write(f"annforest-matrix: 1\nfile: {name}.dat\nrows: {m.shape[0]}\ncols: 8\n"
                f"type: {t}\norder: row\nna: none\n")
# rows 97..112 of /bad/ref: a chunk of garbage, read by the last rank at 2 and 3 ranks
with h5py.File("in.h5", "r") as f:
    info = f["bad/ref"].id.get_chunk_info(6)
with open("in.h5", "r+b") as fh:
    fh.seek(info.byte_offset)
    fh.write(b"\xff" * info.size)
PY
head -c 2000 in.h5 >short.h5

af() {
    af_mpirun "$AF_NP" "$ANNFOREST" "$@"
}

# job NAME REF QUERY: build + query, 7 query rows in batches of 3 (the last batch has one row).
job() {
    cat >"$1.ini" <<INI
[job]
seed = 3
threads = 1
[reference]
path = $2
[index]
path = $1/ref.ann
trees = 4
shards = 3
[query]
path = $3
k = 5
batch = 3
[output]
index = $1/ids.desc
distance = $1/dist.desc
INI
}

# reads DATASET: the debug lines of DATASET in err.txt, at least one per rank, and each
# collective; "plain" (read in the file's type) or "converted" (converted in memory).
reads() {
    local ds=$1 how=$2 r lines
    lines=$(grep "^annforest: hdf5 read in.h5:$ds rank " err.txt) || fail "no reads of $ds"
    for ((r = 0; r < AF_NP; r++)); do
        grep -q " rank $r rows " <<<"$lines" || fail "rank $r did not read $ds: $lines"
    done
    if grep -v " mode=collective-" <<<"$lines"; then fail "$ds: a read was not collective"; fi
    if [ "$how" = plain ] && grep -q converted <<<"$lines"; then fail "$ds was converted"; fi
    if [ "$how" = converted ] && grep " rows \[\([0-9]*\),\([0-9]*\))" <<<"$lines" |
        grep -v " rows \[\([0-9]*\),\1)" | grep -vq converted-in-memory; then
        fail "$ds: rows read without conversion: $lines"
    fi
    return 0
}

# same NAME BM: the index and both outputs equal, byte for byte, those of the file-backed job.
same() {
    cmp "$1/ref.ann" "$2/ref.ann" || fail "$1: the index differs from the file-backed one"
    cmp "$1/ids.bin" "$2/ids.bin" || fail "$1: the ids differ"
    cmp "$1/dist.bin" "$2/dist.bin" || fail "$1: the distances differ"
}

# 1. float32: contiguous reference, gzip-chunked queries; then chunked reference, contiguous
#    queries. Every rank's every read is collective and unconverted.
job h5a in.h5:/ref/f32 in.h5:/query/f32z
job h5b in.h5:/ref/f32c in.h5:/query/f32
job bm ref_f32.afm query_f32.afm
"$ANNFOREST" run --config bm.ini --quiet 2>/dev/null || fail "file-backed run"
for name in h5a h5b; do
    af run --config "$name.ini" --quiet 2>err.txt || fail "$name: $(cat err.txt)"
    same "$name" bm
    cp err.txt "$name.err"
done
cp h5a.err err.txt
reads /ref/f32 plain
reads /query/f32z plain
cp h5b.err err.txt
reads /ref/f32c plain
reads /query/f32 plain
# The last batch (query row 7) is one row: every other rank reads an empty selection.
if [ "$AF_NP" -gt 1 ]; then
    grep -q "in.h5:/query/f32 rank $((AF_NP - 1)) rows \[7,7) mode=collective-" err.txt ||
        fail "no empty collective read in the last batch: $(grep query err.txt)"
fi

# 2. int16 (gzip chunks) and float64 read collectively in their own type, converted in memory,
#    with the values HDF5's conversion gives (the file-backed path converts the same values).
job h5c in.h5:/ref/i16z in.h5:/query/f64
job bmc ref_i16.afm query_f64.afm
"$ANNFOREST" run --config bmc.ini --quiet 2>/dev/null || fail "file-backed run (integers)"
af run --config h5c.ini --quiet 2>err.txt || fail "h5c: $(cat err.txt)"
same h5c bmc
reads /ref/i16z converted
reads /query/f64 converted

# 3. convert reads every block collectively too (as double: converted in memory).
af convert in.h5:/ref/f32c conv.desc --quiet 2>err.txt || fail "convert: $(cat err.txt)"
reads /ref/f32c converted
"$AF_PYTHON" -c "
import numpy as np
a = np.fromfile('ref_f32.dat', dtype='<f4').reshape(150, 8)
b = np.fromfile('conv.bin', dtype='<f4').reshape(8, 150).T
assert np.array_equal(a, b)" || fail "convert changed values"

# 4. Failures end the job with one message, on every rank count, in time.
once() {
    expect_fail "$1" af "${@:2}"
    [ "$(grep -c '^annforest: [^h]' err.txt)" -eq 1 ] || fail "not one message: $(cat err.txt)"
}
job bad short.h5:/ref/f32 in.h5:/query/f32
once "short.h5 is truncated: the HDF5 file is shorter than it claims" run --config bad.ini --quiet
job bad in.h5:/bad/ref in.h5:/query/f32
once "in.h5: dataset /bad/ref: cannot read rows [0-9]+..[0-9]+ \(HDF5 says: .*\)" \
    run --config bad.ini --quiet
job bad in.h5:/ref/f32 in.h5:/bad/ref
once "in.h5: dataset /bad/ref: cannot read rows" run --config bad.ini --quiet
echo "hdf5 collective reads at $AF_NP ranks: OK"
