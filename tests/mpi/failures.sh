# Failures end every rank promptly with one message naming the file, key or row, and publish
# nothing - including a failure that only one rank sees.
. "$AF_SRC/tests/mpi/common.sh"
make_data 1200 30 6
write_job job.ini

# NA in the LAST reference row: only the last rank reads it.
Rscript -e 'suppressMessages(library(bigmemory)); x <- attach.big.matrix("data/ref.desc"); x[1200, 3] <- NA; flush(x)'
expect_fail "ref.desc: row 1200 holds NA" af "$AF_NP" build --config job.ini
[ ! -e out/ref.ann ] && [ ! -e out/ref.ann.meta ] || fail "a failed build published an index"
[ -z "$(ls -A out)" ] || fail "a failed build left files: $(ls -A out)"
# na = skip leaves the row out: the build succeeds and row 1200 is never a neighbour.
af "$AF_NP" build --config job.ini --quiet --set reference.na=skip
grep -q "^rows_skipped: 1$" out/ref.ann.meta || fail "meta does not count the skipped row"
af "$AF_NP" query --config job.ini --quiet --set query.path=self --set query.search_k=20000
Rscript -e 'suppressMessages(library(bigmemory)); a <- attach.big.matrix("out/ids.desc")[, ];
  stopifnot(!any(a == 1200, na.rm = TRUE), all(is.na(a[1200, ])))' ||
    fail "skipped row 1200 appears as a neighbour, or its own row is not NA"
grep -q . out/ids.desc

# A truncated query backing file: named, nothing published.
cp data/query.bin data/query.full
truncate -s 100 data/query.bin
expect_fail "query.bin" af "$AF_NP" query --config job.ini --set output.index=out/t.desc \
    --set output.distance=out/td.desc
[ ! -e out/t.desc ] && [ ! -e out/t.bin ] && [ ! -e out/td.bin ] || fail "outputs published after a failure"
mv data/query.full data/query.bin

# Bad config values and mismatched shapes, named.
expect_fail "k.*'0'" af "$AF_NP" query --config job.ini --set query.k=0
expect_fail "bad.ini:8: \[index\] trees = .many.: not an integer" sh -c "sed 's/^trees = 8/trees = many/' job.ini > bad.ini && \
    OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 timeout 60 mpirun --oversubscribe -np $AF_NP $ANNFOREST build --config bad.ini"
Rscript -e 'suppressMessages(library(bigmemory)); m <- filebacked.big.matrix(5, 7, type = "double",
  backingpath = normalizePath("data"), backingfile = "wide.bin", descriptorfile = "wide.desc", init = 1)' >/dev/null
expect_fail "wide.desc has 7 columns but index out/ref.ann has 6" af "$AF_NP" query --config job.ini \
    --set query.path=data/wide.desc --set output.index=out/w.desc
expect_fail "does not exist|No such file" af "$AF_NP" query --config job.ini \
    --set index.path=out/missing.ann --set output.index=out/m.desc
[ ! -e out/w.desc ] && [ ! -e out/m.desc ] || fail "outputs published after a failure"
# Exactly one message, from one rank.
n=$(grep -c "^annforest: " "$AF_TMP/err.txt")
[ "$n" -eq 1 ] || fail "expected one error line, got $n: $(cat "$AF_TMP/err.txt")"
echo "failures at $AF_NP ranks: ok"
