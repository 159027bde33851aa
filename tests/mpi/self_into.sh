# kNN graph (query.path = self, exclude_self) and writing into R-made destinations
# (existing = into), at AF_NP ranks.
. "$AF_SRC/tests/mpi/common.sh"
make_data 2000 50 8
write_job job.ini
af "$AF_NP" build --config job.ini --quiet

# Self-search: no row is its own neighbour, and the exact graph agrees with R.
af "$AF_NP" query --config job.ini --quiet --set query.path=self --set query.search_k=3000 \
    --set output.index=out/graph.desc --set output.distance=
af "$AF_NP" exact --config job.ini --quiet --set query.path=self --set output.index=out/graph_true.desc \
    --set output.distance=
Rscript - <<'R' || fail "self-search graph is wrong"
suppressMessages(library(bigmemory))
g <- attach.big.matrix("out/graph.desc")[, ]; t <- attach.big.matrix("out/graph_true.desc")[, ]
stopifnot(nrow(g) == 2000, ncol(g) == 10)
stopifnot(!any(g == seq_len(2000)), !any(t == seq_len(2000)))
x <- attach.big.matrix("data/ref.desc")[, ]
for (i in c(1, 1000, 2000)) {
  dd <- sqrt(colSums((t(x) - x[i, ])^2)); dd[i] <- Inf
  stopifnot(identical(t[i, ], order(dd)[1:10]))
}
r <- mean(sapply(1:2000, function(i) length(intersect(g[i, ], t[i, ])) / 10))
cat("self recall", r, "\n"); stopifnot(r > 0.95)
R

# Smaller batches, searched in pieces of their rows (ceil(batch / ranks), at least 256), answer
# the same: 700 makes 1 to 3 pieces a batch at 1 to 4 ranks, the default 2000 up to 4.
af "$AF_NP" query --config job.ini --quiet --set query.path=self --set query.search_k=3000 \
    --set query.batch=700 --set output.index=out/graph700.desc --set output.distance=
Rscript -e 'suppressMessages(library(bigmemory));
  stopifnot(identical(attach.big.matrix("out/graph.desc")[, ], attach.big.matrix("out/graph700.desc")[, ]))' ||
    fail "the self graph depends on query.batch"

# into: R makes the destinations (double ids are allowed, as in bigANNOY), annforest fills them.
Rscript - <<'R'
suppressMessages(library(bigmemory))
invisible(filebacked.big.matrix(50, 10, type = "double", backingpath = normalizePath("out"),
                      backingfile = "xp_ids.bin", descriptorfile = "xp_ids.desc", init = -1))
invisible(filebacked.big.matrix(50, 10, type = "double", backingpath = normalizePath("out"),
                      backingfile = "xp_dist.bin", descriptorfile = "xp_dist.desc", init = -1))
invisible(filebacked.big.matrix(49, 10, type = "integer", backingpath = normalizePath("out"),
                      backingfile = "short.bin", descriptorfile = "short.desc", init = -1))

R
af "$AF_NP" query --config job.ini --quiet
af "$AF_NP" query --config job.ini --quiet --set output.existing=into \
    --set output.index=out/xp_ids.desc --set output.distance=out/xp_dist.desc
Rscript -e 'suppressMessages(library(bigmemory));
  a <- attach.big.matrix("out/ids.desc")[, ]; b <- attach.big.matrix("out/xp_ids.desc")[, ];
  d <- attach.big.matrix("out/dist.desc")[, ]; e <- attach.big.matrix("out/xp_dist.desc")[, ];
  stopifnot(identical(as.double(a), as.double(b)), identical(d, e))' || fail "into differs"
expect_fail "short.desc.*(shape|rows|49)" af "$AF_NP" query --config job.ini --quiet \
    --set output.existing=into --set output.index=out/short.desc --set output.distance=
# An existing output is refused by default, and left untouched.
before=$(md5sum <out/ids.bin)
expect_fail "ids.desc.*exist" af "$AF_NP" query --config job.ini --quiet
[ "$(md5sum <out/ids.bin)" = "$before" ] || fail "a refused query changed out/ids.bin"
echo "self + into at $AF_NP ranks: ok"
