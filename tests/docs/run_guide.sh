# Run the code blocks of a guide in order, as a reader would: ```sh blocks with bash, ```r
# blocks with Rscript, ```python blocks with Debian's python3 (AF_PYTHON), in one scratch
# directory, with annforest on PATH. Any failure fails.
# Usage (CTest): AF_GUIDES="getting-started.md ..." bash run_guide.sh
. "$AF_SRC/tests/lib.sh"
require_r_package bigmemory r-cran-bigmemory
export PATH="$(dirname "$ANNFOREST"):$PATH"
for guide in $AF_GUIDES; do
    n=0
    # Split the guide into numbered block files: NN.sh, NN.r or NN.python
    awk -v dir="$AF_TMP/blocks_${guide%.md}" '
        BEGIN { system("mkdir -p " dir) }
        /^```(sh|r|python)$/ { n++; ext = substr($0, 4); f = sprintf("%s/%03d.%s", dir, n, ext); next }
        /^```$/ { f = ""; next }
        f != "" { print > f }
    ' "$AF_SRC/docs/$guide"
    for block in "$AF_TMP/blocks_${guide%.md}"/*; do
        n=$((n + 1))
        case "$block" in
        *.sh) timeout 300 bash -euo pipefail "$block" >"$AF_TMP/block.out" 2>&1 ;;
        *.r) timeout 300 Rscript "$block" >"$AF_TMP/block.out" 2>&1 ;;
        *.python) timeout 300 "$AF_PYTHON" "$block" >"$AF_TMP/block.out" 2>&1 ;;
        esac || fail "docs/$guide, code block $n failed: $(tail -20 "$AF_TMP/block.out")"
    done
    [ "$n" -gt 0 ] || fail "docs/$guide has no code blocks"
    echo "docs/$guide: $n code blocks ran"
done
