# Resuming a query job whose outputs are HDF5 datasets (two in one file): killed at a random
# batch, resumed, the datasets hold exactly what an uninterrupted run's do (compared with
# h5py), and the manifest lists the .h5 file.
. "$AF_SRC/tests/manifest/common.sh"
. "$AF_SRC/tests/manifest/kill.sh"
"$AF_PYTHON" -c 'import h5py' 2>/dev/null ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-h5py >/dev/null ||
    fail "h5py is needed and python3-h5py could not be installed"

make_data 1500 800 12
write_job job.ini
sed -i -e 's/^batch = .*/batch = 40/' -e 's|^index = out/ids.desc|index = out/res.h5:/index|' \
    -e 's|^distance = out/dist.desc|distance = out/res.h5:/distance|' job.ini
af 2 build --config job.ini --quiet
export AF_JOURNAL_INTERVAL=0
af 2 query --config job.ini --quiet --set output.index=ref/res.h5:/index \
    --set output.distance=ref/res.h5:/distance
total=$(((800 + 39) / 40))
journal=out/res.h5.journal

for how in mpirun rank; do
    rm -f out/res.h5 out/res.h5.*
    start_query
    kill_at "$how" $((1 + RANDOM % (total - 6)))
    [ ! -e out/res.h5 ] || fail "a killed job published out/res.h5"
    af 2 query --config job.ini --quiet --resume
    [ ! -e "$journal" ] || fail "the finished job left $journal"
    "$AF_PYTHON" - "$killed_at" <<'PY' || fail "resumed HDF5 outputs ($how kill) differ"
import json, sys
import h5py, numpy as np
with h5py.File("out/res.h5", "r") as a, h5py.File("ref/res.h5", "r") as b:
    for name in ("index", "distance"):
        x, y = a[name][()], b[name][()]
        assert x.shape == y.shape == (800, 5) and x.dtype == y.dtype, (name, x.shape, x.dtype)
        assert np.array_equal(x, y), name
m = json.load(open("out/res.h5.manifest.json"))
assert [f["path"] for f in m["files"]] == ["out/res.h5"], m["files"]
assert m["resumed"]["first_batch"] == int(sys.argv[1]), m["resumed"]
PY
done
echo "HDF5 resume test passed"
