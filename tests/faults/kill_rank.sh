# A rank killed mid-build or mid-query (SIGKILL: no chance to clean up): the whole job ends
# within seconds, non-zero, on every rank; nothing is published; the dead job's lock does not
# block the next one, and the next job's results are those of an undisturbed run.
. "$AF_SRC/tests/faults/common.sh"
victim=$((AF_NP - 1)) # the last rank: not the one that holds the locks and publishes
make_job 100000 3000 32

# kill_mid WHAT READY...: kill the victim rank once the command READY succeeds, then check the
# job ended promptly.
kill_mid() {
    local what=$1 i
    shift
    for i in $(seq 600); do
        "$@" && break
        kill -0 "$JOB_PID" 2>/dev/null || fail "$what: the job ended before it could be killed: $(cat job.err)"
        sleep 0.05
    done
    "$@" || fail "$what: not ready to be killed after 30 s"
    local pids
    pids=$(pgrep -P "$JOB_PID" | tr '\n' ' ')
    local p
    p=$(rank_pid "$victim") || fail "$what: rank $victim not found"
    kill -9 "$p"
    local t0
    t0=$(date +%s%N)
    wait_job 20
    # every rank gone too (mpirun may return while the last ones are still being reaped)
    local i alive=
    for i in $(seq 100); do
        alive=
        for p in $pids; do
            if [ -e "/proc/$p" ] && [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" != Z ]; then
                alive="$alive $p"
            fi
        done
        [ -z "$alive" ] && break
        sleep 0.1
    done
    local ms=$((($(date +%s%N) - t0) / 1000000))
    echo "$what: killed rank $victim; the job and all its ranks ended after $ms ms, status $JOB_RC"
    [ -z "$alive" ] || fail "$what: rank processes$alive still running"
    [ "$JOB_RC" -ne 0 ] || fail "$what: the job succeeded although rank $victim was killed"
    [ "$ms" -lt 10000 ] || fail "$what: the job took $ms ms to end after the kill"
}

# Mid-build: killed while the trees are built (the index's temporary file exists). Many trees,
# so that the build lasts long enough to be caught in the act.
sed -i 's/^trees = 10/trees = 80/' job.ini
start_job "$AF_NP" build --config job.ini --quiet
building() { compgen -G 'out/.ref.ann.tmp.*' >/dev/null; }
kill_mid build building
[ ! -e out/ref.ann ] && [ ! -e out/ref.ann.meta ] || fail "a killed build published $(ls out)"
compgen -G 'out/.ref.ann.tmp.*' >/dev/null || fail "the killed build left no partial index to clean"
af_mpirun "$AF_NP" "$ANNFOREST" build --config job.ini --quiet || fail "the build after a killed one failed"
# ... which removed the killed build's partial index (a build is never resumed)
[ -z "$(compgen -G 'out/.ref.ann.tmp.*')" ] || fail "the killed build's partial index is still there"

# Mid-query: killed once its journal says some batches are durably written (journal after
# every batch here), then continued with --resume.
sed -i 's/^k = 4/k = 4\nsearch_k = 20000\nbatch = 256/' job.ini
export AF_JOURNAL_INTERVAL=0
start_job "$AF_NP" query --config job.ini --quiet
some_batches_done() { grep -Eq '"batches_done":[[:space:]]*([2-9]|1[01])\b' out/ids.desc.journal 2>/dev/null; }
kill_mid query some_batches_done
for f in ids.desc ids.bin dist.desc dist.bin; do
    [ ! -e "out/$f" ] || fail "a killed query published out/$f"
done
# The dead job's output locks went with it: --resume takes them and completes the query.
af_mpirun "$AF_NP" "$ANNFOREST" query --config job.ini --resume 2>resume.err ||
    fail "query --resume after a killed query failed: $(cat resume.err)"
grep -E "resuming from .*ids\.desc\.journal: [1-9][0-9]* of 12 batches written" resume.err ||
    fail "--resume did not continue the killed job's batches: $(cat resume.err)"
[ ! -e out/ids.desc.journal ] || fail "the journal is left after the resumed query completed"
af_mpirun "$AF_NP" "$ANNFOREST" query --config job.ini --quiet --set output.index=out/solo.desc \
    --set output.distance=out/solo_dist.desc || fail "an undisturbed query failed"
cmp out/ids.bin out/solo.bin && cmp out/dist.bin out/solo_dist.bin ||
    fail "the resumed query's output differs from an undisturbed run's"
echo "kill_rank at $AF_NP ranks: ok"
