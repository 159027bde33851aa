# An Annoy file made by RcppAnnoy (no .meta: metric and dimension from the config and the
# queries) queried through annforest at AF_NP ranks: with search_k covering every item the
# neighbours are RcppAnnoy's own.
. "$AF_SRC/tests/mpi/common.sh"
require_r_package RcppAnnoy r-cran-rcppannoy
make_data 1500 40 12
write_job job.ini
Rscript - <<'R'
suppressMessages({library(bigmemory); library(RcppAnnoy)})
x <- attach.big.matrix("data/ref.desc")[, ]; q <- attach.big.matrix("data/query.desc")[, ]
for (m in c("euclidean", "angular", "manhattan")) {
  a <- switch(m, euclidean = new(AnnoyEuclidean, 12), angular = new(AnnoyAngular, 12),
              manhattan = new(AnnoyManhattan, 12))
  a$setSeed(3)
  for (i in seq_len(nrow(x))) a$addItem(i - 1, x[i, ])
  a$build(5); a$save(file.path("out", paste0(m, ".ann")))
  ids <- t(sapply(seq_len(nrow(q)), function(i) a$getNNsByVectorList(q[i, ], 10, 1500 * 5, FALSE)$item + 1))
  write.table(ids, file.path("out", paste0(m, ".rcpp.txt")), row.names = FALSE, col.names = FALSE)
}
R
for m in euclidean angular manhattan; do
    af "$AF_NP" query --config job.ini --quiet --set index.path=out/$m.ann --set index.metric=$m \
        --set query.search_k=$((1500 * 5)) --set output.index=out/$m.ids.desc --set output.distance=
    Rscript -e "suppressMessages(library(bigmemory)); a <- attach.big.matrix('out/$m.ids.desc')[, ];
      r <- as.matrix(read.table('out/$m.rcpp.txt')); dimnames(r) <- NULL; storage.mode(r) <- 'integer';
      stopifnot(identical(a, r))" || fail "$m: annforest and RcppAnnoy disagree on an Annoy file"
done
# Without .meta the dimension comes from the queries: a mismatch is caught by the file size.
expect_fail "euclidean.ann" af "$AF_NP" query --config job.ini --quiet \
    --set index.path=out/euclidean.ann --set index.metric=dot --set output.index=out/x.desc
echo "foreign Annoy files at $AF_NP ranks: ok"
