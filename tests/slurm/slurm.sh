# The sbatch scripts in slurm/, as they are, on a real single-node Slurm started by hand:
# the build + query job (srun launch, 2 ranks), the job array (one query file per task against
# that index) and the self-requeueing resume job (interrupted by the requeue its time-limit
# signal asks for, then resumed). Outputs must equal a plain run's bytes; the manifests must
# record the Slurm job, array index and restart count.
. "$AF_SRC/tests/manifest/common.sh"
. "$AF_SRC/tests/slurm/cluster.sh"

trap slurm_stop EXIT
slurm_start
export ANNFOREST # sbatch passes the environment on to the job

make_data 3000 400 16
write_job job.ini

# submit SCRIPT ARGS...: sbatch --wait, bounded; prints the job id.
submit() {
    local id rc=0
    id=$(timeout --kill-after=5 60 sbatch --wait --parsable "$@") || rc=$?
    [ "$rc" -eq 0 ] || fail "sbatch $* ended with $rc: $(cat annforest-*.out 2>/dev/null | tail -20)"
    echo "${id%%;*}"
}

# 1. Build + query under srun, 2 tasks.
jid=$(submit "$AF_SRC/slurm/annforest-run.sbatch" job.ini)
grep -q "annforest job $jid: 2 ranks x 1 threads" "annforest-$jid.out" ||
    fail "job output: $(cat "annforest-$jid.out")"
[ -f out/ids.desc ] && [ -f out/dist.desc ] && [ -f out/ref.ann ] || fail "the job left no outputs"
"$AF_PYTHON" - "$jid" <<'PY' || fail "manifest of the Slurm job"
import json, sys
m = json.load(open("out/ids.desc.manifest.json"))
assert m["command"] == "run" and m["ranks"] == 2, (m["command"], m["ranks"])
assert m["slurm"]["job_id"] == sys.argv[1], m["slurm"]
assert m["slurm"]["ntasks"] == "2" and m["slurm"]["cluster"] == "aftest", m["slurm"]
top = [p["name"] for p in m["phases"] if "within" not in p]
assert top[:2] == ["build", "query"], m["phases"]
assert {"name": "build trees", "within": "build"}.items() <= next(
    p for p in m["phases"] if p["name"] == "build trees").items(), m["phases"]
assert len(m["per_rank"]) == 2
PY
# The same bytes as one process outside Slurm.
mkdir -p plain
"$ANNFOREST" query --config job.ini --quiet --set output.index=plain/ids.desc \
    --set output.distance=plain/dist.desc
cmp out/ids.bin plain/ids.bin && cmp out/dist.bin plain/dist.bin ||
    fail "srun outputs differ from a plain run"

# 2. A job array: three query files against that index.
"$AF_PYTHON" - <<'PY'
import numpy as np
rng = np.random.default_rng(5)
with open("queries.txt", "w") as lst:
    for i, n in enumerate([50, 80, 120]):
        a = rng.normal(size=(n, 16)).astype(np.float32)
        out = np.empty((n, 17), dtype=np.int32)
        out[:, 0] = 16
        out[:, 1:] = a.view(np.int32)
        out.tofile(f"data/part{i}.fvecs")
        print(f"data/part{i}.fvecs", file=lst)
PY
ajid=$(submit --array=0-2 "$AF_SRC/slurm/annforest-array.sbatch" job.ini queries.txt results)
for i in 0 1 2; do
    [ -f "results/part$i.ids.desc" ] || fail "array task $i wrote no results/part$i.ids.desc"
    "$ANNFOREST" query --config job.ini --quiet --set "query.path=data/part$i.fvecs" \
        --set "output.index=plain/part$i.ids.desc" --set "output.distance=plain/part$i.dist.desc"
    cmp "results/part$i.ids.bin" "plain/part$i.ids.bin" &&
        cmp "results/part$i.dist.bin" "plain/part$i.dist.bin" || fail "array task $i: other bytes"
    "$AF_PYTHON" - "$ajid" "$i" <<'PY' || fail "manifest of array task $i"
import json, sys
ajid, task = sys.argv[1], sys.argv[2]
m = json.load(open(f"results/part{task}.ids.desc.manifest.json"))
s = m["slurm"]
assert s["array_job_id"] == ajid and s["array_task_id"] == task, s
assert m["config"]["query"]["path"] == f"data/part{task}.fvecs"
assert m["ranks"] == 1
PY
done
# 3. The resume job, cut short: at the signal Slurm sends before the time limit (here sent by
# hand: USR1 to the batch shell) it requeues itself; Slurm ends the running step (TERM, then
# KILL) and starts the job again, which continues from the journal.
"$AF_PYTHON" - <<'PY'
import numpy as np
a = np.random.default_rng(9).normal(size=(2000, 16)).astype(np.float32)
out = np.empty((2000, 17), dtype=np.int32)
out[:, 0] = 16
out[:, 1:] = a.view(np.int32)
out.tofile("data/long.fvecs")
PY
sed -e 's|^path = data/query.fvecs|path = data/long.fvecs|' -e 's|^batch = .*|batch = 25|' \
    -e 's|^index = out/ids.desc|index = long/ids.desc|' \
    -e 's|^distance = out/dist.desc|distance = long/dist.desc|' job.ini >long.ini
"$ANNFOREST" query --config long.ini --quiet --set output.index=plain/long.ids.desc \
    --set output.distance=plain/long.dist.desc
export AF_JOURNAL_INTERVAL=0 # a journal point after every batch
rjid=$(sbatch --parsable "$AF_SRC/slurm/annforest-resume.sbatch" long.ini)
rjid=${rjid%%;*}
batches_done() {
    grep -o '"batches_done":[[:space:]]*[0-9]*' long/ids.desc.journal 2>/dev/null |
        grep -o '[0-9]*$' || echo -1
}
for _ in $(seq 600); do
    [ "$(batches_done)" -ge 3 ] && break
    sleep 0.05
done
[ "$(batches_done)" -ge 3 ] || fail "the resume job wrote no batches: $(cat "annforest-$rjid.out")"
scancel --signal=USR1 --batch "$rjid"
for _ in $(seq 600); do
    state=$(job_state "$rjid")
    [ "$state" = COMPLETED ] || [ "$state" = FAILED ] || [ "$state" = CANCELLED ] && break
    sleep 0.1
done
[ "$state" = COMPLETED ] || fail "resume job $rjid ended $state: $(cat "annforest-$rjid.out")"
grep -q "requeueing job $rjid (run 1)" "annforest-$rjid.out" ||
    fail "the job did not requeue itself: $(cat "annforest-$rjid.out")"
grep -q "resuming from long/ids.desc.journal" "annforest-$rjid.out" ||
    fail "the second run did not resume: $(cat "annforest-$rjid.out")"
cmp long/ids.bin plain/long.ids.bin && cmp long/dist.bin plain/long.dist.bin ||
    fail "the requeued and resumed job's outputs differ from a plain run's"
[ ! -e long/ids.desc.journal ] || fail "the finished job left its journal"
"$AF_PYTHON" - "$rjid" <<'PY' || fail "manifest of the resumed job"
import json, sys
m = json.load(open("long/ids.desc.manifest.json"))
assert m["slurm"]["job_id"] == sys.argv[1] and m["slurm"]["restart_count"] == "1", m["slurm"]
assert m["resumed"]["first_batch"] >= 3 and m["resumed"]["batches"] == 80, m["resumed"]
PY
echo "slurm test passed"
