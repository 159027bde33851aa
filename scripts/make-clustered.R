#!/usr/bin/env Rscript
# Make a clustered reference matrix and a query matrix as file-backed bigmemory matrices:
#   Rscript scripts/make-clustered.R DIR [n_ref] [n_query] [dim] [clusters] [seed] [type]
# writes DIR/ref.desc + DIR/ref.bin and DIR/query.desc + DIR/query.bin (column-major, as R
# always stores them). Queries are fresh points from the same clusters.
suppressPackageStartupMessages(library(bigmemory))
args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 1) stop("usage: make-clustered.R DIR [n_ref] [n_query] [dim] [clusters] [seed] [type]")
dir <- args[1]
n_ref <- if (length(args) >= 2) as.integer(args[2]) else 20000L
n_query <- if (length(args) >= 3) as.integer(args[3]) else 1000L
dim <- if (length(args) >= 4) as.integer(args[4]) else 32L
clusters <- if (length(args) >= 5) as.integer(args[5]) else 50L
seed <- if (length(args) >= 6) as.integer(args[6]) else 1L
type <- if (length(args) >= 7) args[7] else "double"
dir.create(dir, showWarnings = FALSE, recursive = TRUE)
dir <- normalizePath(dir)
set.seed(seed)
centres <- matrix(rnorm(clusters * dim, sd = 10), clusters, dim)
draw <- function(n) centres[sample.int(clusters, n, replace = TRUE), , drop = FALSE] +
  matrix(rnorm(n * dim), n, dim)
write_fb <- function(values, name) {
  for (f in file.path(dir, paste0(name, c(".bin", ".desc")))) if (file.exists(f)) file.remove(f)
  m <- filebacked.big.matrix(nrow(values), ncol(values), type = type, backingpath = dir,
                             backingfile = paste0(name, ".bin"),
                             descriptorfile = paste0(name, ".desc"))
  m[, ] <- values
  flush(m)
  invisible(m)
}
write_fb(draw(n_ref), "ref")
write_fb(draw(n_query), "query")
cat(sprintf("wrote %s/ref.desc (%d x %d) and %s/query.desc (%d x %d), type %s\n",
            dir, n_ref, dim, dir, n_query, dim, type))
