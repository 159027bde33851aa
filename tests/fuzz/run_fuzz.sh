# Fuzz one libFuzzer target for a bounded time: run_fuzz.sh BINARY SECONDS CORPUS_DIR...
# The seed corpus is copied (the run may add inputs to its working corpus, never to the
# source tree); a crash, leak, sanitizer report or timeout fails the test and leaves the
# input that caused it in $AF_TMP (artifact prefix) for tests/fuzz/regressions/.
set -euo pipefail
bin=$(readlink -f "$1")
seconds=$2
shift 2
work=${AF_TMP:?}/corpus
rm -rf "$AF_TMP" && mkdir -p "$work"
for dir in "$@"; do
    cp -r "$dir"/. "$work"/
done
cd "$AF_TMP"
"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$AF_TMP/" "$work" 2>fuzz.log || {
    tail -40 fuzz.log >&2
    echo "FAIL: $(basename "$bin") found a crash; its input is in $AF_TMP" >&2
    exit 1
}
grep -E "stat::number_of_executed_units|stat::peak_rss_mb" fuzz.log
