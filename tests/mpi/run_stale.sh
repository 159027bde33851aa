# `run` builds when the index is missing or stale, and reuses it otherwise.
. "$AF_SRC/tests/mpi/common.sh"
make_data 1000 20 5
write_job job.ini
af "$AF_NP" run --config job.ini --set output.existing=overwrite 2>log1 >/dev/null
grep -q "building the index: out/ref.ann does not exist" log1 || fail "run did not build: $(cat log1)"
af "$AF_NP" run --config job.ini --set output.existing=overwrite 2>log2 >/dev/null
grep -q "is up to date" log2 || fail "run rebuilt an up-to-date index: $(cat log2)"
cp out/ids.bin ids.first
af "$AF_NP" run --config job.ini --set output.existing=overwrite --set index.trees=9 2>log3 >/dev/null
grep -q "build keys changed" log3 || fail "run missed a changed build key: $(cat log3)"
grep -q "^trees_per_shard: 9$" out/ref.ann.meta || fail "the rebuilt index does not have 9 trees"
# A reference that grows makes the index stale too.
make_data 1100 20 5
af "$AF_NP" run --config job.ini --set output.existing=overwrite --set index.trees=9 2>log4 >/dev/null
grep -q "reference changed" log4 || fail "run missed a changed reference: $(cat log4)"
# The same shape and size with one value changed: only the reference's checksum tells.
"$AF_PYTHON" -c "
with open('data/ref.bin', 'r+b') as f:
    f.seek(16); b = f.read(1); f.seek(16); f.write(bytes([b[0] ^ 1]))"
af "$AF_NP" run --config job.ini --set output.existing=overwrite --set index.trees=9 2>log5 >/dev/null
grep -q "reference's data changed" log5 || fail "run missed a changed reference value: $(cat log5)"
af "$AF_NP" run --config job.ini --set output.existing=overwrite --set index.trees=9 2>log6 >/dev/null
grep -q "is up to date" log6 || fail "run rebuilt again after the rebuild: $(cat log6)"
echo "run at $AF_NP ranks: ok"
