# Small data every bad-input case starts from (made once per test, without R: plain bytes and
# descriptor text, so that the table runs in seconds).

# bm_desc FILE BACKING TYPE ROWS COLS: a bigmemory descriptor as R's dput(describe(x)) writes it.
bm_desc() {
    cat >"$1" <<D
new("big.matrix.descriptor", description = list(sharedType = "FileBacked", 
    filename = "$2", dirname = "/elsewhere/", totalRows = $4L, 
    totalCols = $5L, rowOffset = c(0, $4), colOffset = c(0, $5), 
    nrow = $4, ncol = $5, rowNames = NULL, colNames = NULL, type = "$3", 
    separated = FALSE))
D
}

# afm FILE BACKING TYPE ROWS COLS [ORDER] [extra lines]: an annforest native descriptor.
afm() {
    local f=$1 file=$2 type=$3 rows=$4 cols=$5 order=${6:-row}
    shift 6 2>/dev/null || shift $#
    printf 'annforest-matrix: 1\nfile: %s\nrows: %s\ncols: %s\ntype: %s\norder: %s\n' \
        "$file" "$rows" "$cols" "$type" "$order" >"$f"
    local line
    for line in "$@"; do
        echo "$line" >>"$f"
    done
}

# values FILE ROWS COLS FMT [NA_ROW]: pseudo-random values (struct format FMT), column-major,
# row NA_ROW (1-based) all NA (NaN for floats).
values() {
    "$AF_PYTHON" - "$@" <<'PY'
import math, random, struct, sys
path, rows, cols, fmt = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
na_row = int(sys.argv[5]) if len(sys.argv) > 5 else 0
random.seed(rows * 31 + cols)
with open(path, "wb") as f:
    for c in range(cols):
        for r in range(rows):
            v = random.gauss(0, 1) if fmt in "fd" else random.randint(-50, 50)
            if r + 1 == na_row:
                v = math.nan if fmt in "fd" else -2147483648
            f.write(struct.pack("<" + fmt, v))
PY
}

# write_case_job FILE DATA_DIR: a job reading DATA_DIR's matrices and index, writing into out/.
write_case_job() {
    cat >"$1" <<INI
[job]
seed = 7
threads = 1
[reference]
path = $2/ref.desc
[index]
path = $2/ref.ann
trees = 3
shards = 2
[query]
path = $2/query.desc
k = 4
[output]
index = out/ids.desc
distance = out/dist.desc
INI
}

# make_fixtures DIR: the matrices, two indexes (euclidean, angular) and an Annoy file.
make_fixtures() {
    local d=$1
    mkdir -p "$d"
    values "$d/ref.bin" 60 4 d && bm_desc "$d/ref.desc" ref.bin double 60 4
    values "$d/query.bin" 9 4 d && bm_desc "$d/query.desc" query.bin double 9 4
    values "$d/wide.bin" 9 7 d && bm_desc "$d/wide.desc" wide.bin double 9 7
    values "$d/na_ref.bin" 60 4 d 17 && bm_desc "$d/na_ref.desc" na_ref.bin double 60 4
    values "$d/na_int.bin" 60 4 i 33 && bm_desc "$d/na_int.desc" na_int.bin integer 60 4
    values "$d/nan_f32.bin" 60 4 f 41 && afm "$d/nan_f32.afm" nan_f32.bin single 60 4 column
    "$AF_PYTHON" -c "import sys; open(sys.argv[1], 'wb').write(b'\0\0\xc0\x7f' * 240)" \
        "$d/all_nan.bin" && afm "$d/all_nan.afm" all_nan.bin single 60 4 column
    # destinations for existing = into: wrong shape (9 x 3) and wrong type (char)
    values "$d/small.bin" 9 3 i && bm_desc "$d/small.desc" small.bin integer 9 3
    head -c 36 /dev/zero >"$d/chars.bin" && bm_desc "$d/chars.desc" chars.bin char 9 4
    (
        cd "$d"
        write_case_job job.ini "$d"
        "$ANNFOREST" build --config job.ini --quiet --set index.path="$d/ref.ann"
        "$ANNFOREST" build --config job.ini --quiet --set index.path="$d/angular.ann" \
            --set index.metric=angular
        # a plain Annoy file (no .meta), as Annoy itself writes one
        cp ref.ann annoy.ann
    ) || fail "could not make the fixtures"
    chmod -R a+rX "$d"
}
