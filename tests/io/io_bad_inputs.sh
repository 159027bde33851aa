# Bad inputs to info and convert: each exits non-zero with one message naming the file and the
# problem; under mpirun every rank exits with the same status and none hangs.
. "$AF_SRC/tests/lib.sh"

desc() { # NAME FILE TYPE ROWS COLS
    cat >"$1" <<D
new("big.matrix.descriptor", description = list(sharedType = "FileBacked", 
    filename = "$2", dirname = "/elsewhere/", totalRows = $4, 
    totalCols = $5, rowOffset = c(0, $4), colOffset = c(0, $5), 
    nrow = $4, ncol = $5, rowNames = NULL, colNames = NULL, type = "$3", 
    separated = FALSE))
D
}

desc missing.desc missing.bin double 3L 2L
expect_fail "missing.desc: cannot open backing file .*missing.bin" "$ANNFOREST" info missing.desc
[ "$(wc -l <err.txt)" -eq 1 ] || fail "more than one message: $(cat err.txt)"

desc short.desc short.bin double 3L 2L
head -c 40 /dev/zero >short.bin
expect_fail "short.desc: backing file .*short.bin is truncated: 40 bytes, but a 3 x 2 double matrix needs 48" \
    "$ANNFOREST" info short.desc
expect_fail "short.desc.*truncated" "$ANNFOREST" convert short.desc out.desc

mkdir adir
expect_fail "adir is a directory" "$ANNFOREST" info adir
desc dirbin.desc adir double 3L 2L
expect_fail "dirbin.desc: backing file .*adir is not a regular file" "$ANNFOREST" info dirbin.desc

desc type.desc x.bin complex 3L 2L
expect_fail "type.desc: unknown bigmemory type 'complex'" "$ANNFOREST" info type.desc
desc nonnum.desc x.bin double '"three"' 2L
expect_fail "nonnum.desc: bigmemory descriptor field 'totalRows' must be a number" \
    "$ANNFOREST" info nonnum.desc
desc neg.desc x.bin double -3L 2L
expect_fail "neg.desc: bigmemory descriptor field 'totalRows' is negative" "$ANNFOREST" info neg.desc
desc huge.desc x.bin double 4e15 4e15
expect_fail "huge.desc: .*overflows 64 bits" "$ANNFOREST" info huge.desc
head -c 20 nonnum.desc >cut.desc
expect_fail "cut.desc:1: malformed R descriptor" "$ANNFOREST" info cut.desc

printf '\037\213\010\000\000\000\000\000' >rds.desc
expect_fail "rds.desc is a gzip-compressed binary R file.*dput\\(describe\\(x\\)" "$ANNFOREST" info rds.desc
printf 'X\n\000\000\000\003' >xdr.desc
expect_fail "xdr.desc is a binary R serialization" "$ANNFOREST" info xdr.desc
cat >shm.desc <<'D'
new("big.matrix.descriptor", description = list(sharedType = "SharedMemory", 
    sharedName = "90825ad9-cbef-4b18-a591-8464dd598e02", totalRows = 2L, 
    totalCols = 2L, rowOffset = c(0, 2), colOffset = c(0, 2), 
    nrow = 2, ncol = 2, rowNames = NULL, colNames = NULL, type = "double", 
    separated = FALSE))
D
expect_fail "shm.desc describes a shared-memory big.matrix.*file-backed" "$ANNFOREST" info shm.desc

printf 'annforest-matrix: 1\nfile: x.bin\nrows: 2\ncols: 2\ntype: double\ncolour: red\n' >bad.afm
expect_fail "bad.afm:6: unknown field 'colour'" "$ANNFOREST" info bad.afm
expect_fail "data.h5(: No such file or directory|: HDF5 dataset /x: this annforest build has no HDF5)" "$ANNFOREST" info data.h5:/x
printf '\005\000\000\000abc' >v.fvecs
expect_fail "v.fvecs: size 7 bytes is not a whole number of rows" "$ANNFOREST" info v.fvecs

# usage errors
expect_fail "SRC and DST are required" "$ANNFOREST" convert short.desc
expect_fail "must end in .desc" "$ANNFOREST" convert short.desc out.txt
expect_fail "unknown --type 'complex'" "$ANNFOREST" convert short.desc o.desc --type complex

# a good matrix: info and convert work and the output reads back
desc good.desc good.bin integer 3L 2L
printf '\001\000\000\000\002\000\000\000\000\000\000\200\004\000\000\000\005\000\000\000\006\000\000\000' >good.bin
"$ANNFOREST" info good.desc >info.txt || fail "info good.desc failed"
grep -q "shape:    3 x 2" info.txt || fail "info shape: $(cat info.txt)"
grep -q "good.bin (24 bytes)" info.txt || fail "info backing: $(cat info.txt)"
"$ANNFOREST" convert good.desc good.afm --order row --quiet || fail "convert failed"
[ "$(od -An -tu4 -w24 good.dat | tr -s ' ')" = " 1 4 2 5 2147483648 6" ] ||
    fail "row-major values: $(od -An -tu4 -w24 good.dat)"

# under mpirun: the same status on every rank, one message, no hang
if command -v mpirun >/dev/null; then
    rc=0
    af_mpirun 2 "$ANNFOREST" info short.desc >mpi_out.txt 2>mpi_err.txt || rc=$?
    [ "$rc" -eq 4 ] || fail "mpirun info on a bad matrix: status $rc, want 4: $(cat mpi_err.txt)"
    [ "$(grep -c '^annforest: ' mpi_err.txt)" -eq 1 ] || fail "not one message: $(cat mpi_err.txt)"
    af_mpirun 2 "$ANNFOREST" convert good.desc good2.desc --quiet || fail "mpirun convert failed"
    cmp good.bin good2.bin || fail "convert under mpirun changed the values"
fi
echo "io_bad_inputs: ok"
