# One MPI job under valgrind memcheck, clean: a 2-rank query (index open and shard mapping,
# search, the top-k reduction, collective output writes, publish; with distances, an NA query row
# and k above the reference's rows, so that the NA paths run too), every rank under valgrind
# with Open MPI's suppressions; any invalid access, uninitialised use or definite leak of ours
# fails the test.
. "$AF_SRC/tests/lib.sh"
. "$AF_SRC/tests/errors/fixtures.sh"
require_cmd valgrind valgrind
make_fixtures "$AF_TMP/data"
write_case_job job.ini "$AF_TMP/data"
sed -i 's|^path = .*/ref.ann|path = out/ref.ann|' job.ini
supp=(--suppressions="$AF_SRC/tests/faults/valgrind.supp")
[ -f /usr/share/openmpi/openmpi-valgrind.supp ] &&
    supp+=(--suppressions=/usr/share/openmpi/openmpi-valgrind.supp)
vg() { # vg ARGS...: annforest at 2 ranks, each under valgrind; logs in vg.RANK-PID.log
    AF_MPI_TIMEOUT=280 af_mpirun 2 valgrind -q --error-exitcode=99 --leak-check=full \
        --errors-for-leak-kinds=definite --num-callers=30 "${supp[@]}" \
        --log-file="vg.$1.%q{OMPI_COMM_WORLD_RANK}-%p.log" "$ANNFOREST" "${@:2}"
}
af_mpirun 2 "$ANNFOREST" build --config job.ini --quiet || fail "build failed"
vg query query --config job.ini --quiet --set query.path="$AF_TMP/data/na_ref.desc" --set query.k=70 ||
    fail "query under valgrind: $(cat vg.query.*.log)"
for log in vg.*.log; do
    [ ! -s "$log" ] || fail "valgrind reported in $log: $(head -40 "$log")"
done
[ "$(ls vg.*.log | wc -l)" -eq 2 ] || fail "expected 2 valgrind logs (one per rank): $(ls vg.*)"
# the NA query row came out NA and k = 70 > 60 rows left NA cells
"$AF_PYTHON" - <<'PY' || fail "NA cells are not where they belong"
import numpy as np
ids = np.fromfile("out/ids.bin", dtype="<i4").reshape(70, 60).T  # column-major 60 x 70
na = np.iinfo(np.int32).min
assert (ids[16] == na).all(), "the NA query row (17) is not all NA"
rest = np.delete(ids, 16, axis=0)
assert (rest[:, 60:] == na).all() and (rest[:, :60] != na).all(), "k = 70 > 60 rows: want 10 NA"
PY
echo "valgrind: ok"
