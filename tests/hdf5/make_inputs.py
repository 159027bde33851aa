"""Inputs for the HDF5 tests, written by h5py: the same matrices as HDF5 datasets of several
types and layouts, and as annforest native descriptors (.afm + row-major .dat written by numpy),
so that the file-backed path and the HDF5 path can be compared."""
import sys

import h5py
import numpy as np

rng = np.random.default_rng(11)
centres = rng.normal(0, 4, size=(6, 8))


def clustered(n):
    return centres[rng.integers(0, 6, n)] + rng.normal(0, 1, size=(n, 8))


ref = clustered(300)
query = clustered(40)
mats = {
    "ref_f32": ref.astype("<f4"),
    "ref_i16": np.round(ref * 100).astype("<i2"),
    "query_f64": query.astype("<f8"),
    "query_i8": np.clip(np.round(query * 10), -127, 127).astype("i1"),
    "query_i32": np.round(query * 1000).astype("<i4"),
}
# name -> (dataset path, h5py create_dataset options)
layout = {
    "ref_f32": ("/ref/f32", {}),
    "ref_i16": ("/ref/i16", {"chunks": (64, 8), "compression": "gzip"}),
    "query_f64": ("/query/f64", {"chunks": (16, 4), "compression": "gzip"}),
    "query_i8": ("/query/i8", {}),
    "query_i32": ("/query/i32", {"chunks": (7, 8), "compression": "gzip", "shuffle": True}),
}
afm_type = {"<f4": "single", "<f8": "double", "<i2": "short", "|i1": "byte", "<i4": "integer"}

with h5py.File("in.h5", "w") as f:
    for name, m in mats.items():
        path, opts = layout[name]
        f.create_dataset(path, data=m, **opts)
        # the same values for the file-backed path (NA: none, like HDF5)
        m.tofile(name + ".dat")
        with open(name + ".afm", "w") as d:
            d.write(
                f"annforest-matrix: 1\nfile: {name}.dat\nrows: {m.shape[0]}\n"
                f"cols: {m.shape[1]}\ntype: {afm_type[m.dtype.str]}\norder: row\nna: none\n"
            )
    # shapes and types annforest refuses, for the error tests
    f["bad/vector"] = np.arange(5.0)
    f["bad/cube"] = np.zeros((2, 3, 4))
    f["bad/strings"] = np.array([[b"ab", b"cd"]])
    f["bad/compound"] = np.zeros((2, 2), dtype=[("a", "<i4"), ("b", "<f8")])
    f.create_dataset("bad/corrupt", data=mats["query_f64"], chunks=(8, 8), compression="gzip")
    f["bad/i64"] = np.arange(12, dtype="<i8").reshape(3, 4)

# A chunk of /bad/corrupt whose compressed bytes are garbage: opening works, reading it fails.
with h5py.File("in.h5", "r") as f:
    info = f["bad/corrupt"].id.get_chunk_info(3)
with open("in.h5", "r+b") as fh:
    fh.seek(info.byte_offset)
    fh.write(b"\xff" * info.size)
print("inputs written", file=sys.stderr)
