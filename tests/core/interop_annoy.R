# Interop with real Annoy (RcppAnnoy), for every metric the R binding offers (euclidean,
# angular, manhattan, hamming; RcppAnnoy 0.0.20 has no dot):
#  (a) an index built by annforest's core, in three shards, loads in RcppAnnoy, which answers
#      with global row ids at annforest's recall (within 0.01 at equal search_k) and with the
#      same neighbours when search_k covers every row;
#  (b) an index built and saved by RcppAnnoy loads in annforest's core with the same answers.
# Usage: Rscript interop_annoy.R AF_CORE_TOOL WORKDIR
args <- commandArgs(TRUE)
tool <- args[1]
setwd(args[2])
suppressMessages(library(RcppAnnoy))
set.seed(20240611)

fail <- function(...) {
  cat("FAIL:", ..., "\n", file = stderr())
  quit(status = 1)
}
run <- function(...) {
  out <- suppressWarnings(system2(tool, c(...), stdout = TRUE, stderr = TRUE))
  if (!is.null(attr(out, "status"))) fail("af_core_tool", ..., ":", out)
  out
}
read_results <- function(path, k) {
  m <- as.matrix(read.table(path))
  list(ids = m[, 1:k, drop = FALSE], dist = m[, (k + 1):(2 * k), drop = FALSE])
}
recall <- function(ids, truth) {
  hits <- sapply(seq_len(nrow(truth)), function(i) length(intersect(ids[i, ], truth[i, ])))
  sum(hits) / length(truth)
}

N <- 2000
NQ <- 100
K <- 10
TREES <- 10
SHARDS <- 3
PARTIAL <- 150
classes <- list(euclidean = AnnoyEuclidean, angular = AnnoyAngular,
                manhattan = AnnoyManhattan, hamming = AnnoyHamming)

for (metric in names(classes)) {
  hamming <- metric == "hamming"
  dim <- if (hamming) 2 else 16
  # clustered rows; hamming: 31-bit words (R numerics convert exactly to RcppAnnoy's uint64)
  if (hamming) {
    centres <- matrix(floor(runif(20 * dim) * 2^31), 20)
    noise <- function(n) matrix(bitwAnd(bitwAnd(floor(runif(n * dim) * 2^31), floor(runif(n * dim) * 2^31)),
                                        floor(runif(n * dim) * 2^31)), n)
    gen <- function(n) {
      c <- centres[sample(20, n, TRUE), , drop = FALSE]
      matrix(bitwXor(c, noise(n)), n)
    }
  } else {
    centres <- matrix(rnorm(20 * dim, sd = 4), 20)
    gen <- function(n) centres[sample(20, n, TRUE), , drop = FALSE] + matrix(rnorm(n * dim), n)
  }
  X <- gen(N)
  Q <- gen(NQ)
  write_rows <- function(M, path) {
    con <- file(path, "wb")
    if (hamming) writeBin(as.integer(rbind(as.vector(t(M)), 0)), con, size = 4)
    else writeBin(as.vector(t(M)), con, size = 4)
    close(con)
  }
  write_rows(X, "ref.bin")
  write_rows(Q, "q.bin")
  run("exact", metric, dim, "ref.bin", N, "q.bin", NQ, K, "truth.txt")
  truth <- read_results("truth.txt", K)$ids
  full <- N * SHARDS * TREES * 2

  annoy_search <- function(a, sk) {
    res <- lapply(seq_len(NQ), function(i) a$getNNsByVectorList(Q[i, ], K, sk, TRUE))
    list(ids = t(sapply(res, `[[`, "item")), dist = t(sapply(res, `[[`, "distance")))
  }
  ours_search <- function(index, sk) {
    info <- run("search", metric, dim, index, "q.bin", NQ, K, sk, "ours.txt")
    c(read_results("ours.txt", K), list(info = info))
  }
  compare <- function(what, a, index) {
    for (sk in c(PARTIAL, full)) {
      theirs <- annoy_search(a, sk)
      ours <- ours_search(index, sk)
      r_theirs <- recall(theirs$ids, truth)
      r_ours <- recall(ours$ids, truth)
      cat(sprintf("%-9s %s search_k %6d: recall annoy %.3f annforest %.3f\n",
                  metric, what, sk, r_theirs, r_ours))
      if (abs(r_theirs - r_ours) > 0.01) fail(metric, what, "recall differs at search_k", sk)
      if (sk == full) {
        if (!identical(unname(theirs$ids + 0), unname(ours$ids + 0)))
          fail(metric, what, "neighbours differ at full search_k")
        if (max(abs(theirs$dist - ours$dist) / (1 + abs(ours$dist))) > 1e-4)
          fail(metric, what, "distances differ at full search_k")
        if (r_ours < 0.999) fail(metric, what, "full search_k is not exact:", r_ours)
      }
    }
  }

  # (a) annforest's sharded index in Annoy
  run("build", metric, dim, "ref.bin", N, SHARDS, TREES, 42, "af.ann")
  a <- new(classes[[metric]], dim)
  a$load("af.ann")
  if (a$getNItems() != N) fail(metric, "Annoy sees", a$getNItems(), "items, not", N)
  if (a$getNTrees() != SHARDS * TREES) fail(metric, "Annoy sees", a$getNTrees(), "trees")
  # item vectors come back as written (global row order)
  if (!hamming && max(abs(a$getItemsVector(N - 1) - X[N, ])) > 1e-5) fail(metric, "item vector differs")
  compare("annforest-built", a, "af.ann")
  a$unload()

  # (b) Annoy's index in annforest
  b <- new(classes[[metric]], dim)
  b$setSeed(7)
  for (i in seq_len(N)) b$addItem(i - 1, X[i, ])
  b$build(TREES)
  b$save("annoy.ann")
  info <- ours_search("annoy.ann", PARTIAL)$info
  if (!identical(info, sprintf("items %d roots %d", N, TREES))) fail(metric, "annforest loads", info)
  compare("annoy-built    ", b, "annoy.ann")
  b$unload()
}
cat("interop with RcppAnnoy: ok\n")
