# The distributed pipeline at AF_NP ranks: the index bytes and the outputs are identical to a
# one-rank run, recall against `exact` is high at a generous search_k, and R attaches the
# outputs and finds the neighbours it computes itself.
. "$AF_SRC/tests/mpi/common.sh"
make_data 3000 200 16
write_job job.ini

af 1 build --config job.ini --quiet --set index.path=out/one.ann
af "$AF_NP" build --config job.ini --quiet
cmp out/one.ann out/ref.ann || fail "index built at $AF_NP ranks differs from the 1-rank index"
grep -q "^shards: 4$" out/ref.ann.meta || fail "meta lacks the shard count"
grep -q "^build_ranks: $AF_NP$" out/ref.ann.meta || fail "meta lacks build_ranks"
# The ranks compute file_md5 in turn, from memory (io/md5_chain.h): still the file's MD5.
grep -q "^file_md5: $(md5sum <out/ref.ann | cut -d' ' -f1)$" out/ref.ann.meta ||
    fail "file_md5 in out/ref.ann.meta is not the MD5 of out/ref.ann"

# Same outputs at any rank count (queries here at AF_NP, reference at 1).
af "$AF_NP" query --config job.ini --quiet
af 1 query --config job.ini --quiet --set output.index=out/ids1.desc --set output.distance=out/dist1.desc
cmp out/ids.bin out/ids1.bin || fail "ids differ between $AF_NP ranks and 1"
cmp out/dist.bin out/dist1.bin || fail "distances differ between $AF_NP ranks and 1"

# Recall against exact, at a generous search_k.
af "$AF_NP" exact --config job.ini --quiet --set output.index=out/true.desc --set output.distance=out/true_dist.desc
af "$AF_NP" query --config job.ini --quiet --set query.search_k=4000 --set output.index=out/wide.desc --set output.distance=
r=$(recall_r out/wide.desc out/true.desc)
echo "recall@10 at search_k=4000: $r"
at_least "$r" 0.95 "recall@10 at search_k 4000"
# query.rerank: an 8-bit first pass keeps the 30 nearest candidates for exact distances. The
# same bytes at any rank count (each shard's codes depend on its rows only), about the same
# recall, exact distances.
rr=(--set query.search_k=4000 --set query.rerank=30)
af "$AF_NP" query --config job.ini --quiet "${rr[@]}" --set output.index=out/rr.desc \
    --set output.distance=out/rr_d.desc
af 1 query --config job.ini --quiet "${rr[@]}" --set output.index=out/rr1.desc \
    --set output.distance=out/rr1_d.desc
cmp out/rr.bin out/rr1.bin && cmp out/rr_d.bin out/rr1_d.bin ||
    fail "rerank: outputs differ between $AF_NP ranks and 1"
r2=$(recall_r out/rr.desc out/true.desc)
echo "recall@10 at search_k=4000, rerank 30: $r2"
at_least "$r2" "$(awk -v r="$r" 'BEGIN { print r - 0.01 }')" "recall@10 with rerank 30"
expect_fail "rerank = '5'.*at least query.k = 10" af "$AF_NP" query --config job.ini --quiet \
    --set query.rerank=5 --set output.index=out/rr5.desc
[ ! -e out/wide.bin.tmp ] && [ -z "$(ls -A out | grep '^\.' || true)" ] || fail "temporary files left in out/"

# R attaches the outputs: 1-based ids of the true nearest rows, Euclidean distances.
Rscript - <<'R' || fail "R disagrees with the outputs"
suppressMessages(library(bigmemory))
ids <- attach.big.matrix("out/true.desc"); d <- attach.big.matrix("out/true_dist.desc")
stopifnot(typeof(ids[1, 1]) == "integer", nrow(ids) == 200, ncol(ids) == 10)
x <- attach.big.matrix("data/ref.desc")[, ]; q <- attach.big.matrix("data/query.desc")[, ]
for (i in c(1, 77, 200)) {
  dd <- sqrt(colSums((t(x) - q[i, ])^2))
  o <- order(dd)[1:10]
  stopifnot(identical(ids[i, ], o))
  stopifnot(all(abs(d[i, ] - dd[o]) < 1e-4 * pmax(1, dd[o])))
}
a <- attach.big.matrix("out/ids.desc")
stopifnot(all(a[, ] >= 1 & a[, ] <= 3000))
R
echo "pipeline at $AF_NP ranks: ok"

# Annoy itself (RcppAnnoy) loads the 4-shard file and answers with global row ids.
require_r_package RcppAnnoy r-cran-rcppannoy
Rscript - <<'R' || fail "RcppAnnoy cannot use the 4-shard index"
suppressMessages({library(RcppAnnoy); library(bigmemory)})
a <- new(AnnoyEuclidean, 16); a$load("out/ref.ann")
stopifnot(a$getNItems() == 3000, a$getNTrees() == 32)
q <- attach.big.matrix("data/query.desc")[, ]; e <- attach.big.matrix("out/true.desc")[, ]
got <- t(sapply(1:200, function(i) a$getNNsByVectorList(q[i, ], 10, 3000 * 32, FALSE)$item + 1))
storage.mode(got) <- "integer"
stopifnot(identical(got, e))  # a budget covering every item gives the exact neighbours
R
echo "RcppAnnoy answers on the $AF_NP-rank 4-shard index: ok"
