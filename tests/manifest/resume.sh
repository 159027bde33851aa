# Resumable query jobs at 2 ranks: a job killed at random points - SIGKILL to mpirun, SIGKILL to
# one rank, SIGTERM then SIGKILL as Slurm's time limit does, a resumed run killed again - and
# resumed with --resume ends with outputs byte-identical to an uninterrupted run. A resume
# with another config or index is refused with a clear message and leaves the journal for the
# right one; a run without --resume starts over; a finished job leaves no journal.
. "$AF_SRC/tests/manifest/common.sh"
. "$AF_SRC/tests/manifest/kill.sh"

make_data 1500 2000 12
write_job job.ini
sed -i 's/^batch = .*/batch = 40/' job.ini
af 2 build --config job.ini --quiet
export AF_JOURNAL_INTERVAL=0 # journal every batch: kills land between many journal points
af 2 query --config job.ini --quiet --set output.index=ref/ids.desc --set output.distance=ref/dist.desc
total=$(((2000 + 39) / 40))
journal=out/ids.desc.journal

# resumed_same [NP]: resume to the end; outputs must equal the uninterrupted run's, the
# journal must be gone and the manifest must say where the run resumed.
resumed_same() {
    af "${1:-2}" query --config job.ini --quiet --resume
    cmp out/ids.bin ref/ids.bin && cmp out/dist.bin ref/dist.bin || fail "resumed outputs differ"
    [ ! -e "$journal" ] || fail "the finished job left $journal"
    ls -A out | grep -q '\.tmp\.' && fail "temporary files left: $(ls -A out)"
    "$AF_PYTHON" -c '
import json, sys
m = json.load(open("out/ids.desc.manifest.json"))
assert m["resumed"] == {"first_batch": int(sys.argv[1]), "batches": int(sys.argv[2])}, m["resumed"]
' "$killed_at" "$total" || fail "manifest does not record the resume from batch $killed_at"
}

# A random batch in the first half: a kill takes a few batches to land (the journal is polled
# every 10 ms and small batches are quick), and it must land before the job ends.
pick() { echo $((1 + RANDOM % (total / 2))); }

# SIGKILL to mpirun at random points, twice.
for round in 1 2; do
    rm -rf out/ids.* out/dist.*
    start_query
    kill_at mpirun "$(pick)"
    resumed_same
done

# SIGKILL to one rank: mpirun ends the other.
start_query
kill_at rank "$(pick)"
resumed_same

# Slurm's time limit: SIGTERM, then SIGKILL.
start_query
kill_at term "$(pick)"
resumed_same

# A resumed run killed again, then resumed at 1 rank (ranks may change between runs).
start_query
kill_at mpirun 3
start_query --resume
kill_at mpirun $((killed_at + 3))
resumed_same 1

# Refused: another config (a key that decides results), another index. The journal stays.
start_query
kill_at mpirun "$(pick)"
expect_fail "another config" af 2 query --config job.ini --quiet --resume --set query.k=4
cp out/ref.ann out/ref.ann.keep && cp out/ref.ann.meta out/ref.ann.meta.keep
af 2 build --config job.ini --quiet --set job.seed=8 # the same path, another index
expect_fail "started with index annforest-[0-9a-f]+, the index is now annforest-" \
    af 2 query --config job.ini --quiet --resume
mv out/ref.ann.keep out/ref.ann && mv out/ref.ann.meta.keep out/ref.ann.meta
[ -f "$journal" ] || fail "a refused resume removed the journal"
# Threads only change speed: a resume with other threads is accepted.
af 2 query --config job.ini --quiet --resume --set job.threads=2
cmp out/ids.bin ref/ids.bin && cmp out/dist.bin ref/dist.bin || fail "resume with 2 threads differs"

# Without --resume, an interrupted job starts over (its partial outputs removed).
start_query
kill_at mpirun "$(pick)"
af 2 query --config job.ini 2>err.txt
grep -q "interrupted run left partial outputs; starting over" err.txt || fail "$(cat err.txt)"
cmp out/ids.bin ref/ids.bin || fail "a run started over differs"
[ "$(ls -A out | grep -c '\.tmp\.')" -eq 0 ] || fail "the old partial outputs remain: $(ls -A out)"

# --resume with no journal runs the whole job.
af 2 query --config job.ini --resume 2>err.txt
grep -q "no journal" err.txt || fail "--resume without a journal: $(cat err.txt)"
cmp out/ids.bin ref/ids.bin || fail "--resume without a journal differs"
echo "resume test passed"
