#!/usr/bin/python3
"""The exact-kNN peer: FAISS IndexFlatL2 (python3-faiss), k = 10, on raw float32 files.

    faiss_exact.py TRAIN N TEST NQ DIM THREADS OUT.i32

Times index.search over all NQ queries with THREADS OpenMP threads (FAISS's own loops; its
BLAS calls follow OPENBLAS_NUM_THREADS, which the caller sets to the same number), writes the
ids (int32, NQ x 10) and prints a RESULT line like core_bench's."""
import sys
import time

import faiss
import numpy as np


def main():
    if len(sys.argv) != 8:
        sys.exit(__doc__)
    train_path, n, test_path, nq, dim, threads, out = sys.argv[1:]
    n, nq, dim, threads = int(n), int(nq), int(dim), int(threads)
    xb = np.fromfile(train_path, dtype=np.float32, count=n * dim).reshape(n, dim)
    xq = np.fromfile(test_path, dtype=np.float32, count=nq * dim).reshape(nq, dim)
    faiss.omp_set_num_threads(threads)
    index = faiss.IndexFlatL2(dim)
    index.add(xb)
    t0 = time.perf_counter()
    _, ids = index.search(xq, 10)
    secs = time.perf_counter() - t0
    ids.astype(np.int32).tofile(out)
    print(f"RESULT tool=faiss phase=exact threads={threads} queries={nq} seconds={secs:.4f} "
          f"qps={nq / secs:.1f}")


if __name__ == "__main__":
    main()
