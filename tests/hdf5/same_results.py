"""same_results.py H5FILE IDS_DATASET DIST_DATASET IDS_DESC DIST_DESC K METRIC
h5py reads annforest's HDF5 outputs and compares them, value for value, with the bigmemory
outputs (column-major .bin beside each .desc) of the same job; checks the attributes too."""
import sys

import h5py
import numpy as np

h5file, ids_name, dist_name, ids_desc, dist_desc, k, metric = sys.argv[1:8]
k = int(k)


def bigmemory(desc, dtype, shape):
    data = np.fromfile(desc[: -len(".desc")] + ".bin", dtype=dtype)
    return data.reshape(shape[1], shape[0]).T  # column-major, as R lays it out


with h5py.File(h5file, "r") as f:
    ids, dist = f[ids_name], f[dist_name]
    assert ids.dtype == np.dtype("<i4"), ids.dtype
    assert dist.dtype == np.dtype("<f8"), dist.dtype
    assert ids.shape == dist.shape and ids.shape[1] == k, (ids.shape, dist.shape)
    want_ids = bigmemory(ids_desc, "<i4", ids.shape)
    want_dist = bigmemory(dist_desc, "<f8", dist.shape)
    got_ids, got_dist = ids[()], dist[()]
    assert np.array_equal(got_ids, want_ids), "neighbour ids differ from the bigmemory path"
    assert np.array_equal(got_dist.view("<u8"), want_dist.view("<u8")), "distances differ"
    for d in (ids, dist):
        a = d.attrs
        assert int(a["k"]) == k and a["metric"] == metric and int(a["id_base"]) == 1, dict(a)
        assert a["annforest_version"], dict(a)
    assert ids.attrs["na"] == -(2**31), dict(ids.attrs)
    assert np.isnan(dist.attrs["na"]), dict(dist.attrs)
    assert (got_ids >= 1).all() and (got_ids <= 300).all(), "ids out of range"
print(f"{h5file}: {ids.shape[0]} x {k} ids and distances identical to the bigmemory path")
