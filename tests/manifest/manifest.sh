# The run manifest: every command that writes files leaves NAME.manifest.json beside its main
# output, with the effective config, versions, ranks/threads/hosts, Slurm ids, phases, peak
# memory per rank and a checksum of every file written; the same config run twice gives the
# same checksums, and the config recorded in it reruns the job to the same bytes.
. "$AF_SRC/tests/manifest/common.sh"

np=$AF_NP
make_data 1500 300 12
write_job job.ini

# build: INDEX.manifest.json, listing the index and its sidecar.
af "$np" build --config job.ini --quiet 2>build.err || { cat build.err; fail "build failed"; }
# every rank must record the same phases, or the slowest-rank times are misaligned
! grep -q "different phases" build.err || fail "$(cat build.err)"
[ -f out/ref.ann.manifest.json ] || fail "build wrote no out/ref.ann.manifest.json"
"$AF_PYTHON" - "$np" <<'PY' || fail "build manifest"
import json, os, sys
m = json.load(open("out/ref.ann.manifest.json"))
assert m["command"] == "build", m["command"]
paths = [f["path"] for f in m["files"]]
assert paths == ["out/ref.ann", "out/ref.ann.meta"], paths
meta = dict(l.split(": ", 1) for l in open("out/ref.ann.meta").read().splitlines())
assert m["files"][0]["xxh3"] == meta["file_xxh3"], (m["files"][0], meta["file_xxh3"])
assert m["index"]["index_id"] == meta["index_id"]
assert [f["same_every_run"] for f in m["files"]] == [True, False]
assert [p["name"] for p in m["phases"]][0] == "build"
assert m["phases"][0]["rows"] == 1500
within = {p["name"]: p.get("within") for p in m["phases"]}
for name in ("read reference", "build trees", "write index"):
    assert within[name] == "build", m["phases"]
assert within["build"] is None and within["checksum outputs"] is None, m["phases"]
b = m["phases"][0]["seconds"]
assert all(p["seconds"] <= b + 1e-6 for p in m["phases"] if p.get("within") == "build"), m["phases"]
PY

# Environment the ranks see, as under Slurm (mpirun -x gives it to the ranks only, so that
# mpirun itself does not look for a Slurm allocation).
slurm_env=(-x SLURM_JOB_ID=4242 -x SLURM_ARRAY_JOB_ID=4240 -x SLURM_ARRAY_TASK_ID=2)

# query twice, same config: same checksums.
af_mpirun "$np" "${slurm_env[@]}" "$ANNFOREST" query --config job.ini --quiet
cp out/ids.desc.manifest.json first.json
checksums first.json >first.sums
af "$np" query --config job.ini --quiet
checksums out/ids.desc.manifest.json >second.sums
[ "$(wc -l <first.sums)" -eq 4 ] || fail "query manifest lists $(wc -l <first.sums) files, not 4"
cmp -s first.sums second.sums || fail "same config, other checksums: $(diff first.sums second.sums)"

# Fields present and sensible.
version=$("$ANNFOREST" --version)
"$AF_PYTHON" - "$np" "$(hostname)" "$version" <<'PY' || fail "query manifest fields"
import json, os, re, sys
np_, host, version = int(sys.argv[1]), sys.argv[2], sys.argv[3]
m = json.load(open("first.json"))
assert m["manifest_version"] == 1 and m["command"] == "query"
assert m["arguments"] == ["query", "--config", "job.ini", "--quiet"], m["arguments"]
iso = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"
assert re.match(iso, m["started"]) and re.match(iso, m["finished"])
assert m["started"] <= m["finished"]
assert 0 < m["elapsed_seconds"] < 120
assert m["working_directory"] == os.getcwd()
assert m["ranks"] == np_
ranks = m["per_rank"]
assert isinstance(ranks, list) and len(ranks) == np_, ranks
assert m["threads_per_rank"] == 1
assert [r["rank"] for r in ranks] == list(range(np_))
for r in ranks:
    assert r["host"] == host, (r["host"], host)
    assert r["threads"] == 1
    assert 4 << 20 < r["peak_rss_bytes"] < 4 << 30, r["peak_rss_bytes"]
    assert r["cpu_seconds"] >= 0
assert m["hosts"] == [host]
v = m["versions"]
assert version.startswith("annforest " + v["annforest"]), (version, v)
assert v["mpi_library"].startswith("Open MPI v"), v["mpi_library"]
assert re.match(r"^\d\.\d$", v["mpi_standard"])
if "with HDF5" in version:
    assert re.match(r"^\d+\.\d+\.\d+$", v["hdf5"]), v["hdf5"]
else:
    assert v["hdf5"] is None
s = m["slurm"]
assert s["job_id"] == "4242" and s["array_job_id"] == "4240" and s["array_task_id"] == "2", s
c = m["config"]
assert c["query"]["k"] == 5 and c["query"]["batch"] == 50 and c["index"]["trees"] == 6
assert c["job"]["seed"] == 7 and c["index"]["prefault"] is False
assert c["output"]["index"] == "out/ids.desc" and c["reference"]["na"] == "error"
assert m["config_file"] == "job.ini"
assert re.match(r"^[0-9a-f]{16}$", m["config_digest"])
assert "[query]\nk = 5" in m["config_ini"] or "\nk = 5 ;" in m["config_ini"]
meta = dict(l.split(": ", 1) for l in open("out/ref.ann.meta").read().splitlines())
assert m["index"]["index_id"] == meta["index_id"], m["index"]
phases = {p["name"]: p for p in m["phases"]}
q = phases["query"]
assert q["rows"] == 300 and q["seconds"] > 0 and q["rows_per_second"] > 0
assert abs(q["rows_per_second"] - q["rows"] / q["seconds"]) < 1e-6 * q["rows_per_second"]
assert "checksum outputs" in phases
assert m["checksum_scheme"] == "xxh3-chunked-8MiB"
paths = [f["path"] for f in m["files"]]
assert paths == ["out/ids.desc", "out/ids.bin", "out/dist.desc", "out/dist.bin"], paths
for f in m["files"]:
    assert f["bytes"] == os.path.getsize(f["path"]), f
    assert re.match(r"^[0-9a-f]{16}$", f["xxh3"])
assert m["files"][1]["bytes"] == 300 * 5 * 4 and m["files"][3]["bytes"] == 300 * 5 * 8
PY
second_host=$(grep -c '"slurm":.*null' out/ids.desc.manifest.json || true)
[ "$second_host" -eq 1 ] || fail "a run outside Slurm should record \"slurm\": null"

# The config recorded in the manifest reruns the job to the same bytes.
mkdir -p rerun
"$AF_PYTHON" -c 'import json; print(json.load(open("first.json"))["config_ini"], end="")' \
    >rerun/effective.ini
af "$np" query --config rerun/effective.ini --quiet
checksums out/ids.desc.manifest.json >rerun.sums
cmp -s first.sums rerun.sums || fail "rerun from config_ini: $(diff first.sums rerun.sums)"
"$AF_PYTHON" -c '
import json, sys
a, b = (json.load(open(p))["config_digest"] for p in sys.argv[1:3])
assert a == b, (a, b)' first.json out/ids.desc.manifest.json || fail "config_digest differs on rerun"

# Another k: other results, other checksums and config digest.
af "$np" query --config job.ini --set query.k=4 --quiet
checksums out/ids.desc.manifest.json >k4.sums
! cmp -s first.sums k4.sums || fail "k = 4 gave the checksums of k = 5"
"$AF_PYTHON" -c '
import json, sys
a, b = (json.load(open(p))["config_digest"] for p in sys.argv[1:3])
assert a != b' first.json out/ids.desc.manifest.json || fail "config_digest ignores query.k"

# Threads: threads = 0 takes OMP_NUM_THREADS.
af_mpirun "$np" -x OMP_NUM_THREADS=2 "$ANNFOREST" query --config job.ini --set job.threads=0 --quiet
"$AF_PYTHON" -c '
import json
m = json.load(open("out/ids.desc.manifest.json"))
assert m["threads_per_rank"] == 2 and all(r["threads"] == 2 for r in m["per_rank"]), m' ||
    fail "threads_per_rank with OMP_NUM_THREADS=2"

# run, twice from scratch: the same checksums for every file but the sidecar, which records
# the index file's modification time (and differs only there and in its own checksum).
for i in 1 2; do
    rm -rf out
    af "$np" run --config job.ini --quiet
    checksums out/ids.desc.manifest.json >"run$i.sums"
    cp out/ref.ann.meta "run$i.meta"
done
[ "$(wc -l <run1.sums)" -eq 5 ] || fail "run manifest lists $(wc -l <run1.sums) stable files, not 5"
cmp -s run1.sums run2.sums || fail "run twice, other checksums: $(diff run1.sums run2.sums)"
diff run1.meta run2.meta | grep '^[<>]' | grep -Ev '^[<>] (file_mtime|metadata_checksum): ' &&
    fail "the two sidecars differ beyond file_mtime"
[ ! -f out/ref.ann.manifest.json ] || fail "run wrote a build manifest beside the index too"

# exact: its own phase, no index.
af "$np" exact --config job.ini --quiet
"$AF_PYTHON" -c '
import json
m = json.load(open("out/ids.desc.manifest.json"))
assert m["command"] == "exact" and "index" not in m
assert [p["name"] for p in m["phases"]][0] == "exact search", m["phases"]' || fail "exact manifest"

# A failed command writes no manifest and leaves the last one alone.
before=$(md5sum <out/ids.desc.manifest.json)
expect_fail "exists" af "$np" query --config job.ini --set output.existing=error --quiet
[ "$(md5sum <out/ids.desc.manifest.json)" = "$before" ] || fail "a failed query changed the manifest"
ls out/.*tmp* 2>/dev/null && fail "temporary files left in out/"
# convert writes one too, beside DST: the copy's descriptor and data, no config.
af "$np" convert data/query.fvecs conv/q.desc --quiet
"$AF_PYTHON" -c '
import json, os
m = json.load(open("conv/q.desc.manifest.json"))
assert m["command"] == "convert" and "config" not in m and m["ranks"] > 0, m
assert [f["path"] for f in m["files"]] == ["conv/q.desc", "conv/q.bin"], m["files"]
assert m["files"][1]["bytes"] == os.path.getsize("conv/q.bin") == 300 * 12 * 4' ||
    fail "convert manifest"

# One process, no mpirun: one rank.
"$ANNFOREST" query --config job.ini --quiet
"$AF_PYTHON" -c '
import json
m = json.load(open("out/ids.desc.manifest.json"))
assert m["ranks"] == 1 and len(m["per_rank"]) == 1, m["per_rank"]' || fail "single-process manifest"
checksums out/ids.desc.manifest.json >single.sums
cmp -s first.sums single.sums || fail "one process, other checksums: $(diff first.sums single.sums)"
echo "manifest test passed at $np ranks"
