#!/usr/bin/env bash
# A small real job, end to end: install what is missing, build, make clustered data as R
# bigmemory file-backed matrices, build the index and query it with 2 MPI ranks, then read the
# results back in R and check them against R's own brute force.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh demo
AF_BUILD_DIR=build scripts/build.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

echo "== making data: demo/ref.desc (20000 x 32) and demo/query.desc (1000 x 32), in R"
rm -rf demo
Rscript scripts/make-clustered.R demo 20000 1000 32 50 1

echo "== annforest info demo/ref.desc"
build/app/annforest info demo/ref.desc

echo "== mpirun -np 2 annforest run --config configs/demo.ini   (build, then query)"
mpirun --oversubscribe -np 2 build/app/annforest run --config configs/demo.ini

echo "== the results, attached in R"
Rscript - <<'R'
suppressMessages(library(bigmemory))
ids <- attach.big.matrix("demo/out/nn_index.desc")
dist <- attach.big.matrix("demo/out/nn_distance.desc")
cat(sprintf("nn_index: %d x %d %s matrix; nn_distance: %d x %d\n", nrow(ids), ncol(ids),
            typeof(ids[1, 1]), nrow(dist), ncol(dist)))
cat("first three query rows, neighbour ids (1-based):\n"); print(ids[1:3, ])
cat("and their distances:\n"); print(round(dist[1:3, ], 3))
x <- attach.big.matrix("demo/ref.desc")[, ]; q <- attach.big.matrix("demo/query.desc")
hits <- sapply(1:50, function(i) {
  truth <- order(colSums((t(x) - q[i, ])^2))[1:ncol(ids)]
  length(intersect(ids[i, ], truth)) / ncol(ids)
})
cat(sprintf("recall@%d against R's brute force on the first 50 queries: %.3f\n", ncol(ids), mean(hits)))
R
