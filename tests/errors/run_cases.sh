# The bad-input table (cases.sh) at the rank count AF_NP: each case must end within a bounded
# time, non-zero, with exactly one message (matching its pattern: the file, key or row), and
# leave its output directory as it found it - nothing published, no temporary file left.
. "$AF_SRC/tests/lib.sh"
. "$AF_SRC/tests/errors/fixtures.sh"

CASE_TIMEOUT=${AF_CASE_TIMEOUT:-30}
# Every case fails: let mpirun kill the other ranks at once rather than wait before SIGKILL.
export OMPI_MCA_odls_base_sigkill_timeout=0
ids=() ranks=() setups=() commands=() patterns=()
# bad ID RANKS SETUP COMMAND PATTERN: one row of the table (see cases.sh).
bad() {
    ids+=("$1") ranks+=("$2") setups+=("$3") commands+=("$4") patterns+=("$5")
}
. "$AF_SRC/tests/errors/cases.sh"
[ "${#ids[@]}" -ge 40 ] || fail "the table has ${#ids[@]} cases, fewer than 40"

make_fixtures "$AF_TMP/data"

# annforest at this test's rank count: one process at 1 (no mpirun), else under mpirun.
af_np() {
    if [ "$AF_NP" -eq 1 ]; then
        "$ANNFOREST" "$@"
    else
        mpirun --oversubscribe --bind-to none -np "$AF_NP" "$ANNFOREST" "$@"
    fi
}
# as_nobody CMD...: run as an unprivileged user (root reads and writes everything).
as_nobody() {
    setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
}

D=$AF_TMP/data
export D ANNFOREST AF_NP AF_PYTHON
export -f af_np as_nobody

# hold_lock PATH: another job's lock on output PATH (a POSIX lock, as a job on another node
# would hold over NFS), held until the case ends (its pid goes to holder.pid).
hold_lock() {
    local lock
    lock="$(dirname "$1")/.$(basename "$1").lock"
    "$AF_PYTHON" -c '
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
fcntl.lockf(fd, fcntl.LOCK_EX)
os.ftruncate(fd, 0)
os.write(fd, b"pid %d on %s, since a moment ago\n" % (os.getpid(), os.uname().nodename.encode()))
print("held", flush=True)
time.sleep(120)' "$lock" >holder.out 2>&1 &
    echo $! >holder.pid
    for _ in $(seq 100); do
        grep -q held holder.out 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}
end_holder() {
    [ -f holder.pid ] || return 0
    kill "$(cat holder.pid)" 2>/dev/null || true
    wait "$(cat holder.pid)" 2>/dev/null || true
    rm -f holder.pid
}

snapshot() { # every entry under out/ (dot files too) with its size and modification time
    find out -mindepth 1 -printf '%p %s %T@\n' | sort
}

failures=0 ran=0
t0=$(date +%s)
for i in "${!ids[@]}"; do
    id=${ids[$i]}
    if [ "${ranks[$i]}" = 1 ] && [ "$AF_NP" -ne 1 ]; then
        continue # ranks do not matter to this case: it runs at 1 rank only
    fi
    dir="$AF_TMP/cases/$id"
    mkdir -p "$dir/out" && cd "$dir"
    write_case_job job.ini "$AF_TMP/data"
    if ! eval "${setups[$i]}" >setup.log 2>&1; then
        end_holder
        echo "FAIL [$id]: setup failed: $(cat setup.log)" >&2
        failures=$((failures + 1))
        continue
    fi
    before=$(snapshot)
    rc=0
    start=$(date +%s%N)
    timeout --kill-after=5 "$CASE_TIMEOUT" bash -c "${commands[$i]}" >stdout.txt 2>stderr.txt || rc=$?
    secs=$((($(date +%s%N) - start) / 1000000))
    ran=$((ran + 1))
    end_holder
    problem=
    messages=$(grep '^annforest: ' stderr.txt | grep -v '^annforest: warning:' || true)
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        problem="no exit within ${CASE_TIMEOUT}s (a hang)"
    elif [ "$rc" -eq 0 ]; then
        problem="exit status 0"
    elif [ "$(printf '%s\n' "$messages" | grep -c .)" -ne 1 ]; then
        problem="not exactly one message"
    elif ! printf '%s\n' "$messages" | grep -Eq -- "${patterns[$i]}"; then
        problem="message lacks /${patterns[$i]}/"
    elif grep -Eq 'Segmentation|Sanitizer|runtime error|core dumped|Aborted' stderr.txt; then
        problem="a crash or sanitizer report"
    elif [ "$(snapshot)" != "$before" ]; then
        problem="out/ changed: $(diff <(echo "$before") <(snapshot) | grep '^[<>]' | tr '\n' ' ')"
    fi
    if [ -n "$problem" ]; then
        echo "FAIL [$id] (status $rc, ${secs} ms): $problem" >&2
        echo "    command: ${commands[$i]}" >&2
        sed 's/^/    stderr: /' stderr.txt | head -8 >&2
        failures=$((failures + 1))
    else
        printf 'ok [%s] %d ms, status %d: %s\n' "$id" "$secs" "$rc" "$messages"
    fi
    cd "$AF_TMP"
done
echo "$ran cases at $AF_NP ranks in $(($(date +%s) - t0)) s, $failures failed"
[ "$failures" -eq 0 ] || fail "$failures of $ran bad-input cases failed"
