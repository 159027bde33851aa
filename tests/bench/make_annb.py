"""A small file in the ann-benchmarks HDF5 layout (train, test, neighbors, distances, and the
`distance` attribute), written by h5py: clustered float32 data, the true neighbours by numpy
brute force in float64, in ann-benchmarks' units (euclidean: L2; angular: 1 - cos).
Usage: make_annb.py OUT.hdf5 N_TRAIN N_TEST DIM N_NEIGHBORS [euclidean|angular]"""
import sys

import h5py
import numpy as np

out, n_train, n_test, dim, n_nb = sys.argv[1], *map(int, sys.argv[2:6])
metric = sys.argv[6] if len(sys.argv) > 6 else "euclidean"
rng = np.random.default_rng(5)
centres = rng.normal(0, 3, size=(12, dim))


def clustered(n):
    return (centres[rng.integers(0, 12, n)] + rng.normal(0, 1, size=(n, dim))).astype("<f4")


train, test = clustered(n_train), clustered(n_test)
t64, q64 = train.astype(np.float64), test.astype(np.float64)
if metric == "angular":
    cos = (q64 @ t64.T) / np.linalg.norm(q64, axis=1)[:, None] / np.linalg.norm(t64, axis=1)[None, :]
    d = 1 - cos
else:
    d2 = (q64 ** 2).sum(1)[:, None] - 2 * q64 @ t64.T + (t64 ** 2).sum(1)[None, :]
    d = np.sqrt(np.maximum(d2, 0))
order = np.argsort(d, axis=1, kind="stable")[:, :n_nb]
dist = np.take_along_axis(d, order, axis=1)
with h5py.File(out, "w") as f:
    f.attrs["distance"] = metric
    f.attrs["point_type"] = "float"
    f.attrs["dimension"] = dim
    f.create_dataset("train", data=train)
    f.create_dataset("test", data=test)
    f.create_dataset("neighbors", data=order.astype("<i4"))
    f.create_dataset("distances", data=dist.astype("<f4"))
