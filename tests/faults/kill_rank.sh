# A rank killed mid-build or mid-query (SIGKILL: no chance to clean up): the whole job ends
# within seconds, non-zero, on every rank; nothing is published; the dead job's lock does not
# block the next one, and the next job's results are those of an undisturbed run.
. "$AF_SRC/tests/faults/common.sh"
victim=$((AF_NP - 1)) # the last rank: not the one that holds the locks and publishes
make_job 100000 3000 32

# kill_mid WHAT GLOB: kill the victim rank once GLOB exists, then check the job ended promptly.
kill_mid() {
    wait_for "$2" 30
    sleep 0.3
    local pids
    pids=$(pgrep -P "$JOB_PID" | tr '\n' ' ')
    local p
    p=$(rank_pid "$victim") || fail "$1: rank $victim not found"
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
    echo "$1: killed rank $victim; the job and all its ranks ended after $ms ms, status $JOB_RC"
    [ -z "$alive" ] || fail "$1: rank processes$alive still running"
    [ "$JOB_RC" -ne 0 ] || fail "$1: the job succeeded although rank $victim was killed"
    [ "$ms" -lt 10000 ] || fail "$1: the job took $ms ms to end after the kill"
}

# Mid-build: killed while the trees are built (the index's temporary file exists).
start_job "$AF_NP" build --config job.ini --quiet
kill_mid build 'out/.ref.ann.tmp.*'
[ ! -e out/ref.ann ] && [ ! -e out/ref.ann.meta ] || fail "a killed build published $(ls out)"
af_mpirun "$AF_NP" "$ANNFOREST" build --config job.ini --quiet || fail "the build after a killed one failed"

# Mid-query: killed while batches are written (the outputs' temporary files exist).
sed -i 's/^k = 4/k = 4\nsearch_k = 20000\nbatch = 256/' job.ini
start_job "$AF_NP" query --config job.ini --quiet
kill_mid query 'out/.ids.bin.tmp.*'
for f in ids.desc ids.bin dist.desc dist.bin; do
    [ ! -e "out/$f" ] || fail "a killed query published out/$f"
done
# The dead job's output locks went with it: the next job may write the same outputs.
af_mpirun "$AF_NP" "$ANNFOREST" query --config job.ini --quiet || fail "the query after a killed one failed"
[ -s out/ids.desc ] && [ "$(stat -c %s out/ids.bin)" -eq $((3000 * 4 * 4)) ] ||
    fail "the query after a killed one published no whole output"
af_mpirun "$AF_NP" "$ANNFOREST" query --config job.ini --quiet --set output.index=out/solo.desc \
    --set output.distance=out/solo_dist.desc || fail "a solo query failed"
cmp out/ids.bin out/solo.bin && cmp out/dist.bin out/solo_dist.bin ||
    fail "results after a killed query differ from an undisturbed run"
echo "kill_rank at $AF_NP ranks: ok"
