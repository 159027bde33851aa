# annforest bench at AF_NP ranks on tiny clustered data: the CSV's columns and points, recall
# that never falls as search_k grows and is 1 once search_k covers every item, the same recall
# and index sizes at 1 rank and on a rerun, the PNG, the truth cache reused (mtime unchanged, log line), a peer curve made
# from RESULT lines, and one clear error for a bad [bench] key, value or peer CSV.
. "$AF_SRC/tests/mpi/common.sh"
require_cmd gnuplot gnuplot-nox

make_data 2000 200 16
cat >bench.ini <<'INI'
[job]
seed = 7
threads = 1
[reference]
path = data/ref.desc
[index]
metric = euclidean
[query]
path = data/query.desc
k = 10
[bench]
trees = 2, 6
shards = 4
search_k = 10,100,1000,20000
repeat = 2
out = out/bench.csv
plot = out/bench.png
truth = truth
INI

# ---- a sweep: 2 trees values x 4 search_k values, shards fixed so any rank count builds the
# same indexes ----
af "$AF_NP" bench --config bench.ini 2>first.log || fail "bench failed: $(cat first.log)"
grep -q "truth: computing the exact neighbours into truth/truth-" first.log ||
    fail "no truth computation logged: $(cat first.log)"
header=$(head -1 out/bench.csv)
want="label,metric,k,queries,reference_rows,ranks,threads,shards,trees,search_k,recall,qps,"
want+="qps_per_thread,search_seconds,build_seconds,index_bytes,peak_rss_mib,peak_rss_mib_per_rank"
[ "$header" = "$want" ] || fail "CSV header: $header"
[ "$(tail -n +2 out/bench.csv | wc -l)" -eq 8 ] || fail "want 8 points: $(cat out/bench.csv)"

# every row: the job's facts, 4 shards, positive times, sizes and memory (one figure per rank)
awk -F, -v np="$AF_NP" 'NR > 1 {
    if ($1 != "annforest" || $2 != "euclidean" || $3 != 10 || $4 != 200 || $5 != 2000 ||
        $6 != np || $7 != 1 || $8 != 4) { print "facts: " $0; exit 1 }
    if (!($12 > 0 && $13 > 0 && $14 > 0 && $15 > 0 && $16 > 0 && $17 > 0)) { print "figures: " $0; exit 1 }
    if ($12 + 0 < ($13 * np) * 0.999 || $12 + 0 > ($13 * np) * 1.001) { print "qps per thread: " $0; exit 1 }
    if (split($18, r, ";") != np) { print "memory per rank: " $0; exit 1 }
}' out/bench.csv || fail "bad CSV row (see above)"

# recall never falls as search_k grows, is 1 when search_k covers every item (20000 >= 2000
# rows x 6 trees), and is below 1 with a budget of 10 candidates
awk -F, 'NR > 1 {
    if ($9 == last_trees && $11 + 0 < last_recall) { print "recall fell: " $0; exit 1 }
    if ($10 == 20000 && $11 != "1.000000") { print "not exact: " $0; exit 1 }
    if ($10 == 10 && !($11 < 0.95)) { print "too good for search_k 10: " $0; exit 1 }
    last_trees = $9; last_recall = $11 + 0
}' out/bench.csv || fail "recall (see above)"

# the same indexes and recall at 1 rank: all but times and memory is deterministic
if [ "$AF_NP" -gt 1 ]; then
    af 1 bench --config bench.ini --quiet --set bench.out=out/one.csv --set bench.plot= ||
        fail "bench at 1 rank failed"
    cut -d, -f8-11,16 out/bench.csv >np.txt
    cut -d, -f8-11,16 out/one.csv >one.txt
    cmp -s np.txt one.txt || fail "$AF_NP ranks and 1 rank differ: $(paste -d' ' np.txt one.txt)"
fi

# the plot is a PNG
[ "$(head -c 8 out/bench.png | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
    fail "out/bench.png is not a PNG"

# the run manifest lists the CSV
grep -Eq '"command":[[:space:]]*"bench"' out/bench.csv.manifest.json || fail "no manifest for the bench"

# ---- a second sweep: the cached truth is reused untouched, the recall is the same ----
truth_file=$(ls truth/truth-*.distance.afm)
before=$(stat -c %y truth/truth-*)
af "$AF_NP" bench --config bench.ini --set bench.trees=2 --set bench.search_k=10,100 \
    --set bench.out=out/again.csv --set bench.plot= 2>second.log ||
    fail "second bench failed: $(cat second.log)"
grep -q "truth: reusing the cached $truth_file" second.log ||
    fail "the truth was not reused: $(cat second.log)"
[ "$(stat -c %y truth/truth-*)" = "$before" ] || fail "the cached truth was rewritten"
[ ! -e out/again.png ] || fail "a plot was drawn with plot empty"
recalls() { awk -F, -v t="$2" 'NR > 1 && $9 == t && ($10 == 10 || $10 == 100) { print $10, $11 }' "$1"; }
[ "$(recalls out/again.csv 2)" = "$(recalls out/bench.csv 2)" ] ||
    fail "recall differs on a rerun: $(recalls out/again.csv 2) vs $(recalls out/bench.csv 2)"

# another k is another truth
af "$AF_NP" bench --config bench.ini --quiet --set query.k=5 --set bench.trees=2 \
    --set bench.search_k=20000 --set bench.out=out/k5.csv --set bench.plot= ||
    fail "bench with k = 5 failed"
[ "$(ls truth/truth-*.distance.afm | wc -l)" -eq 2 ] || fail "k = 5 did not get its own truth"
awk -F, 'NR == 2 && $11 != "1.000000" { exit 1 }' out/k5.csv || fail "k = 5 not exact"

# ---- a peer's curve from RESULT lines (bench/annoy_bench.cc's format) ----
cat >annoy.log <<'LOG'
RESULT tool=annoy phase=build threads=1 trees=6 add_seconds=0.01 tree_seconds=0.1 seconds=0.11
RESULT tool=annoy phase=query search_k=10 queries=200 recall=0.4000 qps=90000.0
RESULT tool=annoy phase=query search_k=1000 queries=200 recall=0.9900 qps=20000.0
RESULT tool=faiss phase=exact threads=2 queries=200 seconds=0.0100 qps=20000.0
LOG
"$AF_SRC/bench/results-to-csv.sh" -t annoy annoy.log >peer.csv
[ "$(sed -n 2p peer.csv)" = "annoy,6,10,200,0.4000,90000.0" ] || fail "peer CSV: $(cat peer.csv)"
"$AF_SRC/bench/results-to-csv.sh" -t faiss annoy.log | grep -qx "faiss-exact-2t,,,200,1,10000.0" ||
    fail "exact RESULT line not converted"
af "$AF_NP" bench --config bench.ini --quiet --set bench.trees=2 --set bench.search_k=10,1000 \
    --set bench.out=out/peer.csv --set bench.plot=out/peer.png --set bench.peer=peer.csv ||
    fail "bench with a peer failed"
[ "$(head -c 8 out/peer.png | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
    fail "out/peer.png is not a PNG"

# ---- errors: one message naming the file, line and key ----
sed 's/^repeat = 2$/repeats = 2/' bench.ini >bad_key.ini
expect_fail "bad_key.ini:15: unknown key 'repeats' in \[bench\] \(known: trees, search_k, shards, repeat," \
    af "$AF_NP" bench --config bad_key.ini
[ "$(grep -c 'annforest:' "$AF_TMP/err.txt")" -eq 1 ] || fail "more than one message"
sed 's/^search_k = .*/search_k = 100,ten/' bench.ini >bad_value.ini
expect_fail "bad_value.ini:14: \[bench\] search_k = '100,ten': 'ten': not an integer" \
    af "$AF_NP" bench --config bad_value.ini
expect_fail "--set bench.trees = '5,0': '0': must be between 1" \
    af "$AF_NP" bench --config bench.ini --set bench.trees=5,0
grep -v '^out = ' bench.ini >no_out.ini
expect_fail "no_out.ini: missing key \[bench\] out, needed for a benchmark sweep" \
    af "$AF_NP" bench --config no_out.ini
printf 'tool,speed\nx,1\n' >bad_peer.csv
expect_fail "\[bench\] peer: bad_peer.csv: the first line must name the columns recall and qps_per_thread" \
    af "$AF_NP" bench --config bench.ini --set bench.peer=bad_peer.csv
[ ! -e out/bench.csv.work/index-s4-t5.ann ] || fail "work started despite a bad config"
echo "bench at $AF_NP ranks: ok"
