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
echo "run at $AF_NP ranks: ok"
