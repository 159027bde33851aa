#!/usr/bin/env python3
"""The scaling model of docs/scaling.md: memory per rank, bytes per query batch, I/O volume.

    scaling_model.py check RESULTS.json   predictions next to measurements (bench/run-scaling.sh)
    scaling_model.py project              a 1e9 x 128 float reference at 64 and 1024 ranks

Sizes follow the index layout (docs/formats.md): an euclidean node is a 16-byte header and the
vector (4 bytes per dimension); a leaf holds up to K = (node_size - 12) / 4 ids; a tree over
n rows has about c * n / K nodes, c measured from a built index (about 2.9: leaves are ~2/3 full
and every leaf has a split above it).
"""
import json
import sys

MiB = 1 << 20
GiB = 1 << 30
BASE_RSS = 25 * MiB  # an annforest rank with MPI and its libraries, before any data (measured)


def node_size(d):
    return 16 + 4 * d


def leaf_cap(d):
    return (node_size(d) - 12) // 4


def index_nodes(n, d, trees_per_shard, shards, c):
    """Item nodes, tree nodes (every shard's trees cover its n / shards rows), root copies."""
    return n + trees_per_shard * c * n / leaf_cap(d) + shards * trees_per_shard


def index_bytes(n, d, trees_per_shard, shards, c):
    return index_nodes(n, d, trees_per_shard, shards, c) * node_size(d)


def build_rank_bytes(n, d, ranks, shards, trees, threads, elem_bytes, c):
    """Peak of a building rank (while its trees are built): its rows converted to float, its
    shards' tree nodes, the batch builder's per-row arrays, staging, and the process itself. The
    input itself is read through a sliding mapped window, unmapped by then."""
    shards_here = -(-shards // ranks)  # the busiest rank: shards go to ranks in blocks
    n_shard = n / shards
    rows = shards_here * n_shard if shards >= ranks else n_shard
    trees_here = shards_here * trees
    tree_bytes = trees_here * c * n_shard / leaf_cap(d) * node_size(d)
    batch = min(32, -(-trees // threads))  # af_build.c auto batch, before the 512 MiB cap
    batch_bytes = min((9 * batch + 4) * n_shard * threads, 512 * MiB)
    return BASE_RSS + rows * d * 4 + rows + tree_bytes + batch_bytes + 8 * MiB


def query_rank_bytes(n, d, ranks, shards, trees, batch, k, threads, c, nq, elem_bytes):
    """Peak of a querying rank: the pages of its shards it touches (at most all of them), a
    piece of a batch's query vectors (query_pipeline.c: ceil(batch / ranks) rows, at least 256),
    partial and merged top-k lists, per-thread scratch, one read tile of its query rows mapped
    (the reader unmaps each 16-column x 8192-row tile after use)."""
    shards_here = -(-shards // ranks)
    n_shard = n / shards
    shard_bytes = (n_shard + c * n_shard / leaf_cap(d) * trees + trees) * node_size(d)
    piece = max(-(-batch // ranks), min(batch, 256))
    batch_bytes = piece * d * 4 + batch * k * 16 * 3
    scratch = threads * (n_shard / 8 + 16 * 20000)
    tile = min(nq / ranks, 8192) * min(d, 16) * elem_bytes
    return BASE_RSS + shards_here * shard_bytes + batch_bytes + scratch + tile


def batch_comm_bytes(batch, d, k, ranks):
    """Bytes every rank receives per query batch: the batch's vectors (allgather) and, from the
    reduce-scatter with the top-k merge, about one batch of partial lists; and the output rows
    it writes (ids int32 + distances double)."""
    return {
        "allgather_in": batch * d * 4 * (ranks - 1) / ranks,
        "reduce_scatter_in": batch * k * 16 * (ranks - 1) / ranks,
        "written": batch * k * 12 / ranks,
    }


def io_bytes(n, d, trees_per_shard, shards, c, elem_bytes, nq, k):
    idx = index_bytes(n, d, trees_per_shard, shards, c)
    return {
        "build_read_reference": n * d * elem_bytes,
        "build_write_index": idx,
        "build_checksums_read": idx + n * d * elem_bytes,  # in parallel, all ranks
        "build_md5_hashed": idx,  # from memory, by the ranks in turn: sequential in total
        "query_read_queries": nq * d * elem_bytes,
        "query_write_outputs": nq * k * 12,
    }


def check(path):
    res = json.load(open(path))
    c = res["c"]
    n, d, shards, trees, threads = res["n"], res["d"], res["shards"], res["trees"], res["threads"]
    elem = res["elem_bytes"]
    print("| ranks | build peak RSS/rank, model MiB | measured MiB (max rank) | query peak RSS/rank, model MiB | measured MiB |")
    print("|---|---|---|---|---|")
    for p in res["points"]:
        r = p["ranks"]
        mb = build_rank_bytes(n, d, r, shards, trees, threads, elem, c) / MiB
        mq = query_rank_bytes(n, d, r, shards, trees, res["batch"], res["k"], threads, c,
                              res["nq"], elem) / MiB
        print(f"| {r} | {mb:.0f} | {p['build_rss_max'] / MiB:.0f} | {mq:.0f} | {p['query_rss_max'] / MiB:.0f} |")
    print()
    print(f"index file: model {index_bytes(n, d, trees, shards, c) / MiB:.1f} MiB, "
          f"measured {res['index_bytes'] / MiB:.1f} MiB (c = {c:.2f})")


def project():
    n, d, elem, k, batch, threads, nq = 10**9, 128, 4, 10, 4096, 8, 10**8
    c, trees_per_shard = 2.9, 40
    print("| ranks | shards | index size GiB | build peak/rank GiB | query peak/rank GiB | "
          "per batch in, MiB (allgather + merge) | MD5 chain at 0.7 GB/s, s |")
    print("|---|---|---|---|---|---|---|")
    for ranks in (64, 1024):
        shards = ranks
        idx = index_bytes(n, d, trees_per_shard, shards, c)
        b = build_rank_bytes(n, d, ranks, shards, trees_per_shard, threads, elem, c)
        q = query_rank_bytes(n, d, ranks, shards, trees_per_shard, batch, k, threads, c, nq, elem)
        comm = batch_comm_bytes(batch, d, k, ranks)
        print(f"| {ranks} | {shards} | {idx / GiB:.0f} | {b / GiB:.2f} | {q / GiB:.2f} | "
              f"{(comm['allgather_in'] + comm['reduce_scatter_in']) / MiB:.2f} | {idx / 0.7e9:.0f} |")
    nodes = index_nodes(n, d, trees_per_shard, 1024, c)
    print()
    print(f"node ids needed with {trees_per_shard} trees per shard: {nodes / 1e9:.2f}e9 "
          f"(int32 allows 2.15e9)")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "check":
        check(sys.argv[2])
    elif len(sys.argv) == 2 and sys.argv[1] == "project":
        project()
    else:
        sys.exit(__doc__)
