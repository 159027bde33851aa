# The example configs run as they are, and produce the checksums docs/workflows.md states:
# configs/demo.ini (at 2 ranks, as scripts/demo.sh runs it) and configs/self-knn.ini (at 1
# rank: its fixed shards make the bytes independent of the rank count), on the demo data made
# as scripts/demo.sh makes it. (configs/fashion-mnist.ini needs the 60000-row Fashion-MNIST
# data and minutes; its numbers come from the same manifest fields.)
. "$AF_SRC/tests/lib.sh"
require_r_package bigmemory r-cran-bigmemory

Rscript "$AF_SRC/scripts/make-clustered.R" demo 20000 1000 32 50 1 >/dev/null
af_mpirun 2 "$ANNFOREST" run --config "$AF_SRC/configs/demo.ini" --quiet
"$ANNFOREST" run --config "$AF_SRC/configs/self-knn.ini" --quiet

# Every row of the table for these two configs must match the manifests.
"$AF_PYTHON" - "$AF_SRC/docs/workflows.md" <<'PY' || fail "checksums differ from docs/workflows.md"
import json, re, sys
rows = []
for line in open(sys.argv[1]):
    m = re.match(r"\| `configs/(demo|self-knn)\.ini` \|[^|]*\| `([^`]+)` \| (\d+) \| `([0-9a-f]{16})` \|", line)
    if m:
        rows.append(m.groups())
assert len(rows) == 6, f"expected 6 table rows for demo and self-knn, found {len(rows)}"
manifests = {"demo": "demo/out/nn_index.desc.manifest.json",
             "self-knn": "demo/out/graph_index.desc.manifest.json"}
bad = 0
for config, path, size, xxh3 in rows:
    files = {f["path"]: f for f in json.load(open(manifests[config]))["files"]}
    got = files.get(path)
    if not got or got["bytes"] != int(size) or got["xxh3"] != xxh3:
        print(f"{config}: {path}: docs say {size} bytes {xxh3}, the manifest {got}")
        bad += 1
sys.exit(bad)
PY
echo "configs test passed"
