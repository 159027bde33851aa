#!/usr/bin/env bash
# The query sweeps in RESULT lines (bench/annoy_bench.cc, bench/core_bench.c, run-core.sh's
# log) as a CSV that `annforest bench` draws as a peer curve ([bench] peer = FILE):
#   bench/results-to-csv.sh [-t TOOL] [-d DATA] [LOG ...] > peer.csv
# Columns: label (the tool, and the data set when the lines name one), trees (of the tool's
# last build line before the sweep), search_k, queries, recall, qps_per_thread. The drivers
# search one query at a time on one thread, so their qps is already per thread. An exact
# search (faiss_exact.py, core_bench exact) becomes one point at recall 1 with its qps divided
# by its threads, labelled TOOL-exact-Nt.
set -euo pipefail

tool='' data=''
while getopts 't:d:' opt; do
    case $opt in
    t) tool=$OPTARG ;;
    d) data=$OPTARG ;;
    *)
        echo "usage: $0 [-t TOOL] [-d DATA] [LOG ...]" >&2
        exit 2
        ;;
    esac
done
shift $((OPTIND - 1))

awk -v want_tool="$tool" -v want_data="$data" '
function field(name,    i, kv) {
    for (i = 2; i <= NF; i++) {
        split($i, kv, "=")
        if (kv[1] == name)
            return substr($i, length(name) + 2)
    }
    return ""
}
BEGIN { print "label,trees,search_k,queries,recall,qps_per_thread" }
$1 == "RESULT" {
    t = field("tool"); d = field("data")
    if ((want_tool != "" && t != want_tool) || (want_data != "" && d != want_data))
        next
    label = d == "" ? t : t "-" d
    if (field("phase") == "build")
        trees[label] = field("trees")
    else if (field("phase") == "query") {
        rows++
        print label "," trees[label] "," field("search_k") "," field("queries") "," \
              field("recall") "," field("qps")
    } else if (field("phase") == "exact" && field("variant") == "") {
        rows++
        n = field("threads") + 0
        printf "%s-exact-%dt,,,%s,1,%.1f\n", label, n, field("queries"), field("qps") / (n ? n : 1)
    }
}
END { if (!rows) { print "results-to-csv.sh: no query RESULT lines" > "/dev/stderr"; exit 1 } }
' "$@"
