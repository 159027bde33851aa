# annforest validate and the index lifecycle, at AF_NP ranks: a clean index validates (also
# --strict --load, the checksums and the tree walk shared by the ranks); with AF_VALIDATE_FULL
# (the default) also: each kind of damage makes validation fail with the right check named;
# R's read.dcf reads every field of the .meta; lazy and eager loading answer the same.
. "$AF_SRC/tests/mpi/common.sh"

make_data 3000 200 16
write_job job.ini
af "$AF_NP" build --config job.ini --quiet
cp -r out clean

# validate_ok INDEX [OPTIONS]: exit 0, no check failed.
validate_ok() {
    af "$AF_NP" validate "$@" --quiet >v.out 2>v.err || fail "validate $* failed: $(cat v.out v.err)"
    ! grep -Eq '^[a-z_]+ +NO +error ' v.out || fail "validate $* reports a failed check: $(cat v.out)"
}

# validate_names CHECK INDEX [OPTIONS]: exit 6, and CHECK is a failed error check.
validate_names() {
    local check=$1 rc=0
    shift
    af "$AF_NP" validate "$@" --quiet >v.out 2>v.err || rc=$?
    [ "$rc" -eq 6 ] || fail "validate $* exited $rc, expected 6: $(cat v.out v.err)"
    grep -Eq "^$check +NO +error " v.out || fail "validate $* does not name $check: $(cat v.out)"
    grep -q "error check(s) failed for" v.err || fail "no summary message: $(cat v.err)"
}

# restore: a fresh copy of the clean index in out/.
restore() {
    rm -rf out && cp -r clean out
}

# poke FILE OFFSET BYTES_HEX: overwrite bytes in place.
poke() {
    "$AF_PYTHON" - "$1" "$2" "$3" <<'PY'
import sys
path, off, data = sys.argv[1], int(sys.argv[2]), bytes.fromhex(sys.argv[3])
with open(path, 'r+b') as f:
    f.seek(off if off >= 0 else f.seek(0, 2) + off)
    f.write(data)
PY
}

# 1. A clean index passes everything, also strict and loaded.
validate_ok out/ref.ann
for check in index_file metadata metadata_checksum metadata_consistent basename file_size \
    node_format index_id file_checksum reference reference_shape reference_size reference_checksum; do
    grep -Eq "^$check +yes " v.out || fail "check $check missing or not passed: $(cat v.out)"
done
validate_ok out/ref.ann --strict --load
for check in file_md5 load tree_children tree_leaves tree_roots tree_coverage; do
    grep -Eq "^$check +yes " v.out || fail "strict check $check missing or not passed: $(cat v.out)"
done
grep -q "^index out/ref.ann: index_id annforest-" v.out || fail "validate does not print index_id"

# The index_id derives from the bytes: the same at every rank count, and md5sum agrees.
id=$(sed -n 's/^index_id: //p' out/ref.ann.meta)
af 1 build --config job.ini --quiet --set index.path=one/ref.ann
[ "$(sed -n 's/^index_id: //p' one/ref.ann.meta)" = "$id" ] || fail "index_id differs at 1 rank"
[ "$(sed -n 's/^file_md5: //p' out/ref.ann.meta)" = "$(md5sum out/ref.ann | cut -d' ' -f1)" ] ||
    fail "file_md5 is not the file's MD5"

# The rest (damage of every kind, R, load modes) does not depend on the rank count: once.
if [ "${AF_VALIDATE_FULL:-1}" != 1 ]; then
    echo "validate at $AF_NP ranks (clean index, strict, load): ok"
    exit 0
fi

# 2. R reads the .meta with read.dcf and finds every field.
Rscript -e '
m <- read.dcf("out/ref.ann.meta")
want <- c("metadata_version", "index_id", "metric", "n_dim", "n_ref", "n_trees", "build_seed",
  "build_threads", "build_backend", "file_size", "file_mtime", "file_md5", "load_mode",
  "index_file", "shards", "trees_per_shard", "leaf_size", "node_format", "reference_path",
  "reference_rows", "reference_cols", "reference_checksum", "file_xxh3", "checksum_scheme",
  "shard_row_start", "shard_row_count", "shard_node_start", "shard_node_count",
  "shard_root_start", "metadata_checksum")
miss <- setdiff(want, colnames(m))
if (length(miss)) stop("missing: ", paste(miss, collapse = " "))
if (as.integer(m[, "n_ref"]) != 3000L || as.integer(m[, "shards"]) != 4L) stop("wrong values")
if (length(strsplit(m[, "shard_row_start"], " ")[[1]]) != 4L) stop("shard table")
if (file.size("out/ref.ann") != as.numeric(m[, "file_size"])) stop("file_size")
' || fail "R cannot read the .meta"

# 3. One flipped byte anywhere: in the items, in the trees, in the root copies.
size=$(stat -c %s out/ref.ann)
for off in 100 $((size / 2)) $((size - 3)); do
    restore
    poke out/ref.ann "$off" ff
    validate_names file_checksum out/ref.ann
done

# A corrupted child pointer in the last root copy: the strict walk names it too.
restore
node=$(sed -n 's/^node_size: //p' out/ref.ann.meta)
poke out/ref.ann $((-node + 8)) f0ffff7f
validate_names tree_children out/ref.ann --strict
grep -Eq "^tree_roots +NO " v.out || fail "a damaged root copy is not named: $(cat v.out)"

# 4. A truncated file.
restore
truncate -s $((size - node)) out/ref.ann
validate_names file_size out/ref.ann

# 5. Edited metadata.
restore
sed -i 's/^build_threads: .*/build_threads: 99/' out/ref.ann.meta
validate_names metadata_checksum out/ref.ann
restore
sed -i 's/^shard_row_count: \([0-9]*\)/shard_row_count: 1\1/' out/ref.ann.meta
validate_names metadata_consistent out/ref.ann

# 6. Another index's metadata (same name, another seed) swapped in.
af "$AF_NP" build --config job.ini --quiet --set index.path=other/ref.ann --set job.seed=8
restore
cp other/ref.ann.meta out/ref.ann.meta
validate_names "(file_size|file_checksum)" out/ref.ann

# 7. One value of the reference changed: the index is stale.
restore
cp data/ref.bin ref.bin.orig
poke data/ref.bin 8 000000000000f03f
validate_names reference_checksum out/ref.ann
grep -q "stale" v.out || fail "a changed reference is not called stale: $(cat v.out)"
cp ref.bin.orig data/ref.bin
validate_ok out/ref.ann

# A reference that is gone is a warning, not an error.
mv data ref-away
validate_ok out/ref.ann
grep -Eq "^reference +NO +warning " v.out || fail "a missing reference is not a warning"
mv ref-away data

# 8. Lazy, eager and prefault loading give the same answers.
af "$AF_NP" query --config job.ini --quiet --set output.index=out/lazy.desc \
    --set output.distance=out/lazy_d.desc
af "$AF_NP" query --config job.ini --quiet --set index.load=eager --set index.prefault=true \
    --set output.index=out/eager.desc --set output.distance=out/eager_d.desc 2>eager.err
cmp out/lazy.bin out/eager.bin || fail "eager ids differ from lazy"
cmp out/lazy_d.bin out/eager_d.bin || fail "eager distances differ from lazy"
af "$AF_NP" query --config job.ini --set index.load=eager --set output.index=out/e2.desc \
    --set output.distance= 2>eager.err
grep -q "index_id annforest-.*mapped (eager) in" eager.err || fail "query does not report the load: $(cat eager.err)"

# 9. Usage errors.
expect_fail "INDEX is missing" "$ANNFOREST" validate
expect_fail "unknown option '--bogus'" "$ANNFOREST" validate out/ref.ann --bogus
rc=0
"$ANNFOREST" validate nothing/here.ann >v.out 2>v.err || rc=$?
[ "$rc" -eq 6 ] && grep -Eq "^index_file +NO " v.out || fail "a missing index is not reported"
echo "validate at $AF_NP ranks: ok"
