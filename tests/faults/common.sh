# Shared by the fault tests: a job big enough to be caught mid-way (numpy-made float matrices,
# bigmemory descriptors), and helpers to find and kill one rank of a running mpirun.
. "$AF_SRC/tests/lib.sh"
. "$AF_SRC/tests/errors/fixtures.sh"

# make_job ROWS QUERY_ROWS DIM: data/ref.desc, data/query.desc and job.ini (index and outputs
# in out/, 4 shards of 10 trees, k = 4).
make_job() {
    mkdir -p data out
    "$AF_PYTHON" - "$@" <<'PY'
import sys
import numpy as np
rows, qrows, dim = map(int, sys.argv[1:4])
rng = np.random.default_rng(11)
rng.standard_normal((dim, rows), dtype=np.float32).tofile("data/ref.bin")
rng.standard_normal((dim, qrows), dtype=np.float32).tofile("data/query.bin")
PY
    bm_desc data/ref.desc ref.bin float "$1" "$3"
    bm_desc data/query.desc query.bin float "$2" "$3"
    write_case_job job.ini data
    sed -i 's|^path = data/ref.ann|path = out/ref.ann|; s/^trees = 3/trees = 10/; s/^shards = 2/shards = 4/' job.ini
}

# start_job NP ARGS...: annforest under mpirun in the background; its pid in JOB_PID.
start_job() {
    local np=$1
    shift
    mpirun --oversubscribe --bind-to none -np "$np" -x AF_JOURNAL_INTERVAL="${AF_JOURNAL_INTERVAL:-10}" \
        "$ANNFOREST" "$@" >job.out 2>job.err &
    JOB_PID=$!
}

# rank_pid RANK: the pid of that rank of the job started by start_job.
rank_pid() {
    local p
    for p in $(pgrep -P "$JOB_PID"); do
        if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$1"; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

# wait_for GLOB SECONDS: until a file matching GLOB exists (fails after SECONDS).
wait_for() {
    local i
    for i in $(seq $(($2 * 20))); do
        compgen -G "$1" >/dev/null && return 0
        kill -0 "$JOB_PID" 2>/dev/null || fail "the job ended before $1 appeared: $(cat job.err)"
        sleep 0.05
    done
    fail "$1 did not appear within $2 s"
}

# wait_job SECONDS: wait for the background job; JOB_RC gets its status. Fails (and kills it) if
# it is still running after SECONDS.
wait_job() {
    local i
    for i in $(seq $(($1 * 10))); do
        if ! kill -0 "$JOB_PID" 2>/dev/null; then
            JOB_RC=0
            wait "$JOB_PID" || JOB_RC=$?
            return 0
        fi
        sleep 0.1
    done
    kill -9 "$JOB_PID" 2>/dev/null || true
    fail "the job was still running $1 s later (hung ranks?)"
}
