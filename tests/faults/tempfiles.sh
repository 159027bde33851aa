# Files are created only under temporary names made with O_EXCL in the destination's own
# directory (never through a symlink planted there: O_EXCL refuses any existing name, and the
# lock files are opened O_NOFOLLOW), reach their final names by rename, and get the modes the
# user's umask allows (0666 & ~umask), as a plain `touch` would.
. "$AF_SRC/tests/lib.sh"
. "$AF_SRC/tests/errors/fixtures.sh"
require_cmd strace strace
make_fixtures "$AF_TMP/data"
write_case_job job.ini "$AF_TMP/data"
sed -i 's|^path = .*/ref.ann|path = out/ref.ann|' job.ini

traced() { # traced UMASK LOG ARGS...: annforest under strace, one process
    local mask=$1 log=$2
    shift 2
    (umask "$mask" && strace -f -qq -e trace=openat,open,creat,rename,renameat,renameat2 \
        -o "$log" "$ANNFOREST" "$@") || fail "annforest $* failed under strace: $(tail -5 "$log")"
}
traced 027 build.log build --config job.ini --quiet
traced 027 query.log query --config job.ini --quiet

created=$(grep -hE '"out/[^"]*", [^)]*O_CREAT' build.log query.log)
[ -n "$created" ] || fail "strace saw no file created in out/"
bad=$(echo "$created" | grep -v 'O_EXCL' | grep -vE '/\.[^/"]+\.lock", [^)]*O_NOFOLLOW' |
    grep -v '\.locktest\.' || true) # Open MPI's own probe, beside our O_EXCL temporary
[ -z "$bad" ] || fail "files created without O_EXCL (or a lock without O_NOFOLLOW): $bad"
echo "$created" | grep -q 'out/\.ref\.ann\.tmp\.[A-Za-z0-9]*", O_RDWR|O_CREAT|O_EXCL' ||
    fail "the index is not written under an O_EXCL temporary name: $created"
# every final name comes from a rename of a temporary in the same directory
for f in ref.ann ref.ann.meta ids.bin ids.desc dist.bin dist.desc; do
    grep -hE "rename(at2?)?\(.*\"out/\.$f\.tmp\.[A-Za-z0-9]+\",.*\"out/$f\"" build.log query.log \
        >/dev/null || fail "out/$f was not published by renaming a temporary beside it"
done
modes() { find out -maxdepth 1 -type f ! -name '.*' -printf '%m %f\n' | sort; }
[ -z "$(modes | grep -v '^640 ')" ] || fail "umask 027 should give 640: $(modes)"

# umask 002: group-writable outputs (replacing the earlier ones)
traced 002 query2.log query --config job.ini --quiet --set output.existing=overwrite
[ "$(modes | grep -E ' (ids|dist)\.(bin|desc)$' | grep -c '^664 ')" -eq 4 ] ||
    fail "umask 002 should give 664: $(modes)"
# nothing temporary or locked is left behind
[ -z "$(find out -name '.*')" ] || fail "left behind: $(find out -name '.*')"
echo "tempfiles: ok"
