# R's bigmemory writes matrices of every type (with NAs, separated = TRUE, sub.big.matrix views);
# annforest info/convert reads them, and R checks the converted values with identical(). Then
# annforest writes bigmemory matrices of every type that R attaches and compares, and whose
# descriptor text is what R's own dput(describe()) writes.
. "$AF_SRC/tests/lib.sh"
require_r_package bigmemory r-cran-bigmemory

cat >make.R <<'R'
suppressMessages(library(bigmemory))
options(bigmemory.typecast.warning = FALSE)
d <- getwd(); nr <- 41; nc <- 5
vals <- function(type) {
  v <- switch(type,
    char = ((seq_len(nr * nc) * 7) %% 255) - 127,
    short = ((seq_len(nr * nc) * 997) %% 65535) - 32767,
    integer = as.integer(seq_len(nr * nc) * 104729 - 2e9),
    float = seq_len(nr * nc) / 8 - 20,
    double = seq_len(nr * nc) / 3 - 1e5,
    raw = (seq_len(nr * nc) * 13) %% 256)
  m <- matrix(v, nr, nc)
  if (type != "raw") m[c(2, 50, 77, 205)] <- NA
  if (type == "raw") m <- matrix(as.raw(m), nr, nc)
  if (type == "integer") storage.mode(m) <- "integer"
  m
}
for (t in c("char", "short", "integer", "float", "double", "raw")) {
  for (sep in c(FALSE, TRUE)) {
    name <- sprintf("%s%s", t, if (sep) "_sep" else "")
    x <- filebacked.big.matrix(nr, nc, type = t, backingfile = paste0(name, ".bin"),
                               descriptorfile = paste0(name, ".desc"), backingpath = d,
                               separated = sep)
    x[, ] <- vals(t)
    if (!sep) {
      s <- sub.big.matrix(x, firstRow = 3, lastRow = 30, firstCol = 2, lastCol = 4)
      dput(describe(s), paste0(name, "_sub.desc"))
    }
    flush(x)
  }
}
R
Rscript make.R || fail "R could not write the matrices"

# R checks are gathered in one script (R starts slowly) and run at the points marked run_R.
echo 'suppressMessages(library(bigmemory))' >checks.R
check_R() { printf '%s\n' "$1" >>checks.R; }
run_R() {
    Rscript checks.R || fail "R checks failed (see above)"
    echo 'suppressMessages(library(bigmemory))' >checks.R
}

check_R 'e <- function(x) { v <- x[, , drop = FALSE]; if (is.raw(v)) v <- matrix(as.integer(v), nrow(v)); storage.mode(v) <- "double"; v }'
for t in char short integer float double raw; do
    for name in "$t" "${t}_sep" "${t}_sub"; do
        [ -f "$name.desc" ] || continue
        "$ANNFOREST" info "$name.desc" >"info_$name.txt" || fail "info $name.desc failed"
        grep -q "shape: " "info_$name.txt" || fail "info $name.desc shows no shape"
        "$ANNFOREST" convert "$name.desc" "${name}_d.desc" --type double --quiet ||
            fail "convert $name.desc failed"
        "$ANNFOREST" convert "$name.desc" "${name}_same.desc" --quiet ||
            fail "convert $name.desc (same type) failed"
        check_R "a <- attach.big.matrix('$name.desc'); b <- attach.big.matrix('${name}_d.desc');
          stopifnot(identical(e(a), b[, , drop = FALSE]));
          c <- attach.big.matrix('${name}_same.desc'); stopifnot(identical(typeof(a), typeof(c)));
          stopifnot(identical(a[, , drop = FALSE], c[, , drop = FALSE]))"
    done
done
grep -q "separated" info_double_sep.txt || fail "info does not show the separated layout"
grep -q "view:     rows 3..30, columns 2..4 of a 41 x 5 matrix" info_integer_sub.txt ||
    fail "info does not show the view: $(cat info_integer_sub.txt)"

run_R
# annforest's descriptor text is what bigmemory itself writes
for t in char short integer float double raw; do
    check_R "b <- attach.big.matrix(file.path(getwd(), '${t}_same.desc'));
      mine <- readLines('${t}_same.desc');
      theirs <- capture.output(dput(describe(b)));
      if (!identical(mine, theirs)) { print(mine); print(theirs); stop('descriptor text differs') }"
done

run_R
# the descriptor is found beside its .bin even after the directory moves (dirname ignored)
mkdir moved && mv double.desc double.bin moved/
"$ANNFOREST" convert moved/double.desc moved_d.desc --quiet || fail "moved descriptor not read"
check_R "stopifnot(identical(attach.big.matrix('moved/double.desc')[,], attach.big.matrix('moved_d.desc')[,]))"

# a native row-major copy back to bigmemory keeps every value
"$ANNFOREST" convert integer.desc int_row.afm --order row --quiet || fail "to native failed"
grep -q "order: row" int_row.afm || fail "native copy is not row-major"
"$ANNFOREST" convert int_row.afm int_back.desc --quiet || fail "native to bigmemory failed"
check_R "stopifnot(identical(attach.big.matrix('integer.desc')[,], attach.big.matrix('int_back.desc')[,]))"

run_R
# values that do not fit are errors naming the cell; the destination does not appear
expect_fail "row 1, column 1: the value -120 does not fit type 'raw'" \
    "$ANNFOREST" convert char.desc bad.desc --type raw --quiet
expect_fail "row 1, column 1: the value .* is not a whole number" \
    "$ANNFOREST" convert moved/double.desc bad.desc --type integer --quiet
[ ! -e bad.desc ] && [ ! -e bad.bin ] || fail "a failed convert left its output"
ls -a | grep -q '\.tmp\.' && fail "a failed convert left a temporary file"
expect_fail "already exists" "$ANNFOREST" convert integer.desc int_back.desc --quiet
"$ANNFOREST" convert char.desc int_back.desc --existing overwrite --quiet || fail "overwrite failed"
check_R "stopifnot(typeof(attach.big.matrix('int_back.desc')) == 'char')"
run_R
echo "interop_bigmemory: ok"
