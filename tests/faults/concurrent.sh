# Two jobs writing the same output at once: the second is refused with a message naming the
# output and the first job (its rank 0's pid and host) and writes nothing; the first finishes
# with the same bytes as a job that ran alone. The same for two builds of one index.
. "$AF_SRC/tests/faults/common.sh"
make_job 100000 2000 32
sed -i 's/^k = 4/k = 4\nsearch_k = 20000\nbatch = 256/' job.ini

# second_refused PATTERN ARGS...: while the background job runs, another is refused.
second_refused() {
    local pattern=$1
    shift
    expect_fail "$pattern" af_mpirun "$AF_NP" "$ANNFOREST" "$@"
    kill -0 "$JOB_PID" 2>/dev/null || fail "the first job ended before the second was refused"
    echo "refused: $(grep '^annforest: ' err.txt)"
}

# Two builds of out/ref.ann
start_job "$AF_NP" build --config job.ini --quiet --set index.trees=60
wait_for 'out/.ref.ann.tmp.*' 30
holder=$(rank_pid 0) || fail "rank 0 of the first build not found"
second_refused "out/ref\.ann is being written by another annforest job \(pid $holder on $(hostname)" \
    build --config job.ini --quiet --set output.existing=overwrite
wait_job 120
[ "$JOB_RC" -eq 0 ] || fail "the first build failed: $(cat job.err)"

# The result of a query that runs alone
af_mpirun "$AF_NP" "$ANNFOREST" query --config job.ini --quiet --set output.index=out/alone.desc \
    --set output.distance=out/alone_dist.desc || fail "the lone query failed"

# Two queries writing out/ids.desc and out/dist.desc
start_job "$AF_NP" query --config job.ini --quiet
wait_for 'out/.dist.bin.tmp.*' 30
holder=$(rank_pid 0) || fail "rank 0 of the first query not found"
# two at once: one replacing both outputs, one colliding on the distances only
af_mpirun "$AF_NP" "$ANNFOREST" query --config job.ini --quiet --set output.existing=overwrite \
    >/dev/null 2>both.err &
both=$!
af_mpirun "$AF_NP" "$ANNFOREST" query --config job.ini --quiet --set output.index=out/other.desc \
    >/dev/null 2>dist.err &
dist=$!
rc_both=0 rc_dist=0
wait $both || rc_both=$?
wait $dist || rc_dist=$?
kill -0 "$JOB_PID" 2>/dev/null || fail "the first query ended before the others were refused"
[ "$rc_both" -eq 5 ] && [ "$rc_dist" -eq 5 ] || fail "status $rc_both and $rc_dist, want 5"
grep -Eq "^annforest: out/ids\.desc is being written by another annforest job \(pid $holder on $(hostname)" both.err ||
    fail "not refused for out/ids.desc: $(cat both.err)"
grep -Eq "^annforest: out/dist\.desc is being written by another annforest job \(pid $holder" dist.err ||
    fail "not refused for out/dist.desc: $(cat dist.err)"
wait_job 120
[ "$JOB_RC" -eq 0 ] || fail "the first query failed: $(cat job.err)"
cmp out/ids.bin out/alone.bin && cmp out/dist.bin out/alone_dist.bin ||
    fail "the first query's output differs from a query that ran alone"
[ ! -e out/other.desc ] && [ ! -e out/other.bin ] || fail "the refused query wrote out/other.*"
[ -z "$(find out -name '.*')" ] || fail "left behind: $(find out -name '.*')"
echo "concurrent at $AF_NP ranks: ok"
