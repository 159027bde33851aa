#!/usr/bin/python3
"""Write the benchmark inputs as raw row-major float32 files (what core_bench, annoy_bench and
faiss_exact.py read):

    prepare_data.py OUTDIR FASHION_DIR

  OUTDIR/fmnist-train.f32     60000 x 784   from FASHION_DIR/train.desc + train.bin (the
  OUTDIR/fmnist-test.f32      10000 x 784   bigmemory matrices scripts/fashion-mnist-to-bigmemory.R
                                            writes: column-major float, transposed here)
  OUTDIR/clustered-train.f32 1000000 x 128  synthetic, deterministic (numpy PCG64, seed 20240611):
  OUTDIR/clustered-test.f32   10000 x 128   500 Gaussian clusters, centres N(0, 4^2) per
                                            coordinate, each with its own spread in [0.5, 2];
                                            queries are fresh draws from the same clusters.
Existing outputs of the right size are kept (delete OUTDIR to remake them)."""
import os
import re
import sys

import numpy as np

# issue 8's synthetic set: 1,000,000 x 128 reference rows, 10000 queries
CLUSTERED_ROWS = 1000000
CLUSTERED_QUERIES = 10000


def read_bigmemory_float(desc_path, rows, cols):
    text = open(desc_path).read()
    for key, want in (("totalRows", rows), ("totalCols", cols)):
        m = re.search(key + r"\s*=\s*(\d+)", text)
        if not m or int(m.group(1)) != want:
            sys.exit(f"{desc_path}: expected {key} = {want}")
    if not re.search(r'type\s*=\s*"float"', text):
        sys.exit(f"{desc_path}: expected type = \"float\"")
    fname = re.search(r'filename\s*=\s*"([^"]+)"', text).group(1)
    data = np.fromfile(os.path.join(os.path.dirname(desc_path), fname), dtype="<f4")
    if data.size != rows * cols:
        sys.exit(f"{desc_path}: backing file holds {data.size} values, not {rows * cols}")
    return np.ascontiguousarray(data.reshape(cols, rows).T)  # column-major -> row-major


def clustered(rng, centres, spreads, n):
    which = rng.integers(0, len(centres), size=n)
    noise = rng.standard_normal((n, centres.shape[1]), dtype=np.float32)
    return (centres[which] + noise * spreads[which, None]).astype(np.float32)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    out, fashion = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    for name, rows in (("train", 60000), ("test", 10000)):
        path = os.path.join(out, f"fmnist-{name}.f32")
        if not os.path.exists(path):
            read_bigmemory_float(os.path.join(fashion, f"{name}.desc"), rows, 784).tofile(path)
    train_path = os.path.join(out, "clustered-train.f32")
    test_path = os.path.join(out, "clustered-test.f32")
    sizes = ((train_path, CLUSTERED_ROWS), (test_path, CLUSTERED_QUERIES))
    if not all(os.path.exists(p) and os.path.getsize(p) == rows * 128 * 4 for p, rows in sizes):
        rng = np.random.default_rng(20240611)
        centres = rng.normal(0.0, 4.0, size=(500, 128)).astype(np.float32)
        spreads = rng.uniform(0.5, 2.0, size=500).astype(np.float32)
        clustered(rng, centres, spreads, CLUSTERED_ROWS).tofile(train_path)
        clustered(rng, centres, spreads, CLUSTERED_QUERIES).tofile(test_path)
    for f in sorted(os.listdir(out)):
        if f.endswith(".f32"):
            print(f"  {os.path.join(out, f)}: {os.path.getsize(os.path.join(out, f))} bytes")


if __name__ == "__main__":
    main()
