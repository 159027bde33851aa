# R's ff writes matrices in the vmodes double, integer, single, short, byte, ubyte, nibble, quad,
# boolean and logical (with NAs where the vmode has them), in both dimorders; annforest reads
# each ff file through a native descriptor pointing at it, converts it to a bigmemory double
# matrix, and R checks every value against ff's own reading with identical().
. "$AF_SRC/tests/lib.sh"
require_r_package ff r-cran-ff
require_r_package bigmemory r-cran-bigmemory

cat >make.R <<'R'
suppressMessages(library(ff))
d <- getwd(); nr <- 45; nc <- 7; n <- nr * nc; i <- seq_len(n)
vals <- list(
  double = i / 7 - 30, integer = as.integer(i * 7919 - 1e6), single = i / 4 - 10,
  short = as.integer((i * 211) %% 65535 - 32767), byte = as.integer((i * 3) %% 255 - 127),
  ubyte = as.integer((i * 5) %% 256), nibble = as.integer(i %% 16), quad = as.integer(i %% 4),
  boolean = (i %% 3) == 0, logical = (i %% 3) == 0)
has_na <- c("double", "integer", "single", "short", "byte", "logical")
for (vm in names(vals)) {
  v <- vals[[vm]]
  if (vm %in% has_na) v[c(1, 40, 200)] <- NA
  for (o in 1:2) {
    name <- sprintf("%s_%s", vm, c("col", "row")[o])
    x <- ff(v, dim = c(nr, nc), vmode = vm, dimorder = list(c(1, 2), c(2, 1))[[o]],
            filename = file.path(d, paste0(name, ".ff")), finalizer = "close", overwrite = TRUE)
    e <- x[, ]
    storage.mode(e) <- "double"
    attributes(e) <- list(dim = dim(e)) # ff adds vmode/Csingle attributes
    saveRDS(e, paste0(name, ".rds"))
    close(x)
    writeLines(c("annforest-matrix: 1", paste0("file: ", name, ".ff"), paste0("rows: ", nr),
                 paste0("cols: ", nc), paste0("type: ", vm),
                 paste0("order: ", c("column", "row")[o]), "na: r"), paste0(name, ".afm"))
  }
}
R
Rscript make.R || fail "R could not write the ff files"

echo 'suppressMessages(library(bigmemory))' >checks.R
for vm in double integer single short byte ubyte nibble quad boolean logical; do
    for o in col row; do
        name=${vm}_$o
        "$ANNFOREST" info "$name.afm" >"info_$name.txt" || fail "info $name.afm failed"
        "$ANNFOREST" convert "$name.afm" "${name}_d.desc" --type double --quiet ||
            fail "convert $name.afm failed"
        echo "b <- attach.big.matrix('${name}_d.desc')[, ]; e <- readRDS('$name.rds');
          if (!identical(b, e)) { print(which(b != e | is.na(b) != is.na(e))); stop('$name differs') }" >>checks.R
    done
done
Rscript checks.R || fail "values read through native descriptors differ from ff's"
grep -q "row-major" info_nibble_row.txt || fail "info does not show row-major"
grep -q "type:     logical" info_logical_col.txt || fail "info does not show the vmode"
echo "interop_ff: ok"
