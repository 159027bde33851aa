# A full disk (a small tmpfs mounted here; needs root): the job fails with a clear message
# naming the file, removes its temporary files, publishes nothing, and leaves the reference and
# the outputs already on that disk untouched.
. "$AF_SRC/tests/faults/common.sh"
[ "$(id -u)" -eq 0 ] || fail "this test mounts a tmpfs: run it as root"
make_job 20000 20000 16
# an earlier job's outputs, already on the small disk
mkdir full
mount -t tmpfs -o size=600k,mode=0755 af-full-disk "$AF_TMP/full"
trap 'umount "$AF_TMP/full" 2>/dev/null || umount -l "$AF_TMP/full"' EXIT
af_mpirun "$AF_NP" "$ANNFOREST" build --config job.ini --quiet
af_mpirun "$AF_NP" "$ANNFOREST" query --config job.ini --quiet --set query.path=data/ref.desc \
    --set output.index=full/old.desc --set output.distance= --set query.k=1 ||
    fail "could not write the earlier output"
sums() { md5sum data/* full/old.* out/ref.ann; }
before=$(sums)

# expect_clean_failure WHAT PATTERN ARGS...: the job fails naming the file, and full/ holds
# exactly what it held before.
expect_clean_failure() {
    local what=$1 pattern=$2
    shift 2
    local listing
    listing=$(ls -A full)
    expect_fail "$pattern" af_mpirun "$AF_NP" "$ANNFOREST" "$@"
    [ "$(grep -c '^annforest: ' err.txt)" -eq 1 ] || fail "$what: not one message: $(cat err.txt)"
    [ "$(ls -A full)" = "$listing" ] ||
        fail "$what: the full disk now holds $(ls -A full | tr '\n' ' '), before: $listing"
    [ "$(sums)" = "$before" ] || fail "$what: the reference or an earlier output changed"
    echo "$what: $(grep '^annforest: ' err.txt)"
}

# ids (20000 x 4 integers, 320 kB) fit, distances (640 kB) do not
expect_clean_failure query 'full/(dist|ids)\.(bin|desc).*No space left on device' \
    query --config job.ini --quiet --set output.index=full/ids.desc --set output.distance=full/dist.desc
# an index (> 1 MB) does not fit either
expect_clean_failure build 'full/new\.ann.*(No space left on device|is the disk full)' \
    build --config job.ini --quiet --set index.path=full/new.ann
echo "full_disk at $AF_NP ranks: ok"
