# Killing a query job between the batches its journal records, for the resume tests. The
# caller sets `journal` (the journal's path) and `total` (the job's batch count); the job runs
# from "$AF_TMP/job.ini" (its path identifies the job's processes).

batches_done() {
    local n
    n=$(grep -o '"batches_done":[[:space:]]*[0-9]*' "$journal" 2>/dev/null | grep -o '[0-9]*$') ||
        true
    echo "${n:--1}"
}

# start_query [ARGS...]: the job under mpirun (2 ranks) in the background; pid in $job_pid.
start_query() {
    mpirun --oversubscribe --bind-to none -np 2 -x AF_JOURNAL_INTERVAL "$ANNFOREST" query \
        --config "$AF_TMP/job.ini" --quiet "$@" >>runs.log 2>&1 &
    job_pid=$!
}

# wait_for_batch N: until the journal says N batches are written (the job still running).
wait_for_batch() {
    local i
    for i in $(seq 1500); do
        [ "$(batches_done)" -ge "$1" ] && return 0
        kill -0 "$job_pid" 2>/dev/null || fail "the job ended before batch $1: $(tail -5 runs.log)"
        sleep 0.01
    done
    fail "no batch $1 within 15 s"
}

# gone: wait for mpirun and until no rank of the job is left.
gone() {
    wait "$job_pid" 2>/dev/null || true
    local i
    for i in $(seq 200); do
        pgrep -f "$AF_TMP/job.ini" >/dev/null || return 0
        sleep 0.05
    done
    fail "ranks of the killed job still run: $(pgrep -af "$AF_TMP/job.ini")"
}

# kill_at HOW N: kill the running job once N batches are journaled.
kill_at() {
    wait_for_batch "$2"
    case $1 in
    mpirun) kill -KILL "$job_pid" ;;
    rank) kill -KILL "$(pgrep -P "$job_pid" | sort -n | tail -1)" ;;
    term) # as slurmstepd does at the time limit: every process of the step, TERM then KILL
        local procs
        procs="$job_pid $(pgrep -P "$job_pid" | tr '\n' ' ')"
        kill -TERM $procs 2>/dev/null || true
        sleep 1
        kill -KILL $procs 2>/dev/null || true
        ;;
    esac
    gone
    local at
    at=$(batches_done)
    [ "$at" -ge "$2" ] && [ "$at" -lt "$total" ] || fail "$1 kill at batch $2 left journal at $at"
    killed_at=$at
}
