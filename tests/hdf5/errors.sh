# Every HDF5 error of issue 6 at AF_NP ranks: one clear message naming the file and dataset,
# printed once, a non-zero exit, no rank left hanging, no output left behind.
. "$AF_SRC/tests/lib.sh"
"$AF_PYTHON" -c "import h5py" 2>/dev/null || require_cmd false python3-h5py
# A failing job: mpirun kills the other ranks at once rather than after 2 s (every rank exits by
# itself anyway, after agreeing on the failure).
export OMPI_MCA_odls_base_sigkill_timeout=0
"$AF_PYTHON" "$AF_SRC/tests/hdf5/make_inputs.py" 2>/dev/null

af() {
    af_mpirun "$AF_NP" "$ANNFOREST" "$@"
}

# once PATTERN CMD...: CMD fails with PATTERN on stderr, in exactly one message.
once() {
    local pattern=$1
    shift
    expect_fail "$pattern" "$@"
    [ "$(grep -c '^annforest: ' err.txt)" -eq 1 ] || fail "not one message for $*: $(cat err.txt)"
}

printf 'not hdf5 at all\n' >text.h5
head -c 3000 in.h5 >truncated.h5

# The inputs, through info (rank 0 looks) ...
once "cannot open HDF5 file missing.h5: No such file or directory" af info missing.h5:/x
once "in.h5 has no dataset /ref/nope" af info in.h5:/ref/nope
once "in.h5 has no dataset /no/such/x \(there is no group /no\)" af info in.h5:/no/such/x
once "in.h5: /ref is a group, not a dataset" af info in.h5:/ref
once "in.h5: dataset /bad/vector is 1-D \(shape 5\); annforest needs a 2-D dataset" \
    af info in.h5:/bad/vector
once "in.h5: dataset /bad/cube is 3-D \(shape 2 x 3 x 4\); annforest needs a 2-D dataset" \
    af info in.h5:/bad/cube
once "in.h5: dataset /bad/strings holds string values \(HDF5 type class string\)" \
    af info in.h5:/bad/strings
once "in.h5: dataset /bad/compound holds compound values \(HDF5 type class compound\)" \
    af info in.h5:/bad/compound
once "text.h5 is not an HDF5 file" af info text.h5:/x
once "truncated.h5 is truncated: the HDF5 file is shorter than it claims" \
    af info truncated.h5:/ref/f32
# ... and an int64 dataset is fine (read as double).
af info in.h5:/bad/i64 >info.txt || fail "info on an int64 dataset"
grep -q "int64, little-endian; read as double" info.txt || fail "info: $(cat info.txt)"

# ... through a job, where every rank opens and reads its own rows: a chunk that cannot be
# decompressed fails on whichever rank reads it, and the job still ends with one message.
mkdir -p out
job() {
    cat >job.ini <<INI
[job]
seed = 1
threads = 1
[reference]
path = $1
[query]
path = $2
k = 3
batch = 8
[output]
index = $3
INI
}
job in.h5:/ref/f32 in.h5:/bad/corrupt out/ids.h5:/index
once "in.h5: dataset /bad/corrupt: cannot read rows [0-9]+..[0-9]+ \(HDF5 says: .*\)" \
    af exact --config job.ini --quiet
job in.h5:/bad/cube in.h5:/query/f64 out/ids.h5:/index
once "\[reference\] path.*in.h5: dataset /bad/cube is 3-D|in.h5: dataset /bad/cube is 3-D" \
    af exact --config job.ini --quiet
job truncated.h5:/ref/f32 in.h5:/query/f64 out/ids.h5:/index
once "truncated.h5 is truncated" af exact --config job.ini --quiet
[ -z "$(ls -A out)" ] || fail "a failed job left files in out/: $(ls -a out)"

# The outputs.
job in.h5:/ref/f32 in.h5:/query/f64 text.h5:/index
once "text.h5 exists and is not an HDF5 file" af exact --config job.ini --quiet
[ "$(cat text.h5)" = "not hdf5 at all" ] || fail "text.h5 was touched"
job in.h5:/ref/f32 in.h5:/query/f64 out/ids.h5:/index
echo "existing = into" >>job.ini
once "out/ids.h5 has no dataset /index \(existing = into" af exact --config job.ini --quiet
"$AF_PYTHON" -c "import h5py; h5py.File('out/ids.h5', 'w')['index'] = [[1, 2]]"
once "out/ids.h5: dataset /index is 2-D 1 x 2, but the output is 40 x 3" \
    af exact --config job.ini --quiet
job in.h5:/ref/f32 in.h5:/query/f64 out/two.h5:/same
echo "distance = out/two.h5:/same" >>job.ini
once "out/two.h5: two outputs name the same dataset /same" af exact --config job.ini --quiet
[ "$(ls -a out | grep -c tmp)" -eq 0 ] || fail "temporary files left: $(ls -a out)"

# convert into HDF5 refuses a value the type cannot hold, naming the cell.
once "out/small.h5:/x, row 1, column 1: the value 5.*does not fit type 'byte'|out/small.h5:/x.*row [0-9]+, column [0-9]+.*does not fit type 'byte'" \
    af convert in.h5:/query/i32 out/small.h5:/x --type byte --quiet
[ ! -e out/small.h5 ] || fail "a failed convert published out/small.h5"
expect_fail "annforest convert: an HDF5 dataset is stored rows x columns" \
    af convert in.h5:/ref/f32 out/o.h5:/x --order row
[ "$(grep -c '^annforest convert: ' err.txt)" -eq 1 ] || fail "usage error: $(cat err.txt)"
echo "hdf5 errors at $AF_NP ranks: OK"
