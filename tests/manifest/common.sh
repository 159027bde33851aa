# Shared set-up of the manifest and resume tests: small random data as .fvecs (made by Debian's
# numpy, no R start-up), a job config, and helpers to read a manifest.
. "$AF_SRC/tests/lib.sh"

# make_data N_REF N_QUERY DIM: data/ref.fvecs and data/query.fvecs, seeded.
make_data() {
    mkdir -p data
    "$AF_PYTHON" - "$@" <<'PY'
import sys
import numpy as np
n_ref, n_query, dim = map(int, sys.argv[1:4])
rng = np.random.default_rng(11)
def fvecs(path, a):
    a = a.astype(np.float32)
    out = np.empty((a.shape[0], a.shape[1] + 1), dtype=np.int32)
    out[:, 0] = a.shape[1]
    out[:, 1:] = a.view(np.int32)
    out.tofile(path)
fvecs("data/ref.fvecs", rng.normal(size=(n_ref, dim)))
fvecs("data/query.fvecs", rng.normal(size=(n_query, dim)))
PY
}

# write_job FILE [extra INI lines...]: a job over data/, writing into out/.
write_job() {
    local file=$1
    shift
    cat >"$file" <<INI
[job]
seed = 7
threads = 1
[reference]
path = data/ref.fvecs
[index]
path = out/ref.ann
trees = 6
shards = 2
[query]
path = data/query.fvecs
k = 5
batch = 50
[output]
index = out/ids.desc
distance = out/dist.desc
existing = overwrite
INI
    local line
    for line in "$@"; do
        echo "$line" >>"$file"
    done
}

# af NP COMMAND ARGS...: annforest under mpirun with NP ranks.
af() {
    local np=$1
    shift
    af_mpirun "$np" "$ANNFOREST" "$@"
}

# checksums MANIFEST: "path xxh3" lines of the files it lists that are the same every run.
checksums() {
    "$AF_PYTHON" -c '
import json, sys
m = json.load(open(sys.argv[1]))
for f in m["files"]:
    if f["same_every_run"]:
        print(f["path"], f["xxh3"])' "$1"
}
