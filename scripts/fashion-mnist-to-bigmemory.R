#!/usr/bin/env Rscript
# Turn Debian's dataset-fashion-mnist (idx files) into two file-backed bigmemory matrices:
#   Rscript scripts/fashion-mnist-to-bigmemory.R [DIR] [SRC]
# DIR (default data/fashion-mnist) gets train.desc + train.bin (60000 x 784) and
# test.desc + test.bin (10000 x 784), type float, column-major as bigmemory stores them; one
# row per image, pixel values 0..255 as they are in the idx files (no scaling).
# SRC (default /usr/share/datasets/fashion-mnist) holds {train,t10k}-images-idx3-ubyte.gz.
suppressPackageStartupMessages(library(bigmemory))
args <- commandArgs(trailingOnly = TRUE)
dir <- if (length(args) >= 1) args[1] else "data/fashion-mnist"
src <- if (length(args) >= 2) args[2] else "/usr/share/datasets/fashion-mnist"

# An idx3 file: magic 0x00000803, then three big-endian int32 sizes, then unsigned bytes.
read_idx_images <- function(path) {
  if (!file.exists(path)) stop(path, ": not found (apt-get install dataset-fashion-mnist)")
  con <- gzfile(path, "rb")
  on.exit(close(con))
  header <- readBin(con, "integer", n = 4, size = 4, endian = "big")
  if (length(header) != 4 || header[1] != 2051L) stop(path, ": not an idx3 ubyte file")
  n <- header[2]
  d <- header[3] * header[4]
  pixels <- readBin(con, "raw", n = n * d)
  if (length(pixels) != n * d) stop(path, ": truncated (", length(pixels), " of ", n * d, " bytes)")
  # idx is row-major (image after image): fill by row to get one image per matrix row.
  matrix(as.integer(pixels), nrow = n, ncol = d, byrow = TRUE)
}

write_filebacked <- function(values, name) {
  for (f in file.path(dir, paste0(name, c(".bin", ".desc")))) if (file.exists(f)) file.remove(f)
  m <- filebacked.big.matrix(nrow(values), ncol(values), type = "float", backingpath = dir,
                             backingfile = paste0(name, ".bin"),
                             descriptorfile = paste0(name, ".desc"))
  m[, ] <- values
  flush(m)
  cat(sprintf("wrote %s (%d x %d, float)\n", file.path(dir, paste0(name, ".desc")),
              nrow(values), ncol(values)))
}

dir.create(dir, showWarnings = FALSE, recursive = TRUE)
dir <- normalizePath(dir)
write_filebacked(read_idx_images(file.path(src, "train-images-idx3-ubyte.gz")), "train")
write_filebacked(read_idx_images(file.path(src, "t10k-images-idx3-ubyte.gz")), "test")
