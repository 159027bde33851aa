#!/usr/bin/python3
"""Do two ground truths agree? (core's af_exact_knn vs FAISS IndexFlatL2)

    compare_gt.py TRAIN N TEST NQ DIM A.i32 B.i32

Both hold NQ x 10 int32 ids. Ids may differ where distances tie, so the check is on
distances recomputed here in float64: for each query, the sorted distance lists of A's and
B's ids must match (relative 1e-6). Where they do not (a near tie at the k-th place that float32
arithmetic resolves differently), the true k-th distance is found by brute force in float64 and
each side is counted wrong when its k-th is farther. Prints one RESULT line; exits 1 when A
(annforest) is wrong anywhere."""
import sys

import numpy as np


def main():
    if len(sys.argv) != 8:
        sys.exit(__doc__)
    train_path, n, test_path, nq, dim, a_path, b_path = sys.argv[1:]
    n, nq, dim = int(n), int(nq), int(dim)
    xb = np.fromfile(train_path, dtype=np.float32, count=n * dim).reshape(n, dim)
    xq = np.fromfile(test_path, dtype=np.float32, count=nq * dim).reshape(nq, dim)
    a = np.fromfile(a_path, dtype=np.int32).reshape(nq, -1)
    b = np.fromfile(b_path, dtype=np.int32).reshape(nq, -1)

    def dists(ids):
        diff = xb[ids].astype(np.float64) - xq[:, None, :].astype(np.float64)
        return np.sort(np.sqrt((diff * diff).sum(axis=2)), axis=1)

    da, db = dists(a), dists(b)
    same_ids = int((np.sort(a, axis=1) == np.sort(b, axis=1)).all(axis=1).sum())
    bad = np.nonzero((np.abs(da - db) > 1e-6 * np.maximum(np.abs(da), 1.0)).any(axis=1))[0]
    wrong_a = wrong_b = 0
    k = a.shape[1]
    for q in bad:
        diff = xb.astype(np.float64) - xq[q].astype(np.float64)
        kth = np.partition(np.sqrt((diff * diff).sum(axis=1)), k - 1)[k - 1]
        wrong_a += da[q, -1] > kth * (1 + 1e-12)
        wrong_b += db[q, -1] > kth * (1 + 1e-12)
    print(f"RESULT tool=check phase=ground_truth queries={nq} same_id_sets={same_ids} "
          f"distance_mismatch_queries={len(bad)} wrong_a={wrong_a} wrong_b={wrong_b}")
    sys.exit(1 if wrong_a else 0)


if __name__ == "__main__":
    main()
