/* af_forest: building one shard's random-projection trees (Annoy's method and node bytes).
 *
 * A shard is the contiguous rows [row_base, row_base + n) of an index of N rows. Its trees are
 * built on its own rows only, in LOCAL numbering (item i of the shard is id i, tree node j is
 * id n + j, nodes of tree t before those of tree t + 1, each tree in post-order with its root
 * last), then af_shard_relocate() moves them to global ids. The index file is
 *     item nodes of all N rows (id = row) | shard 0's tree nodes | shard 1's | ... |
 *     a copy of every root (shard order, tree order)
 * and loads in Annoy itself, which finds the roots by scanning back from the end for nodes
 * with equal n_descendants (all roots hold N, Annoy's convention).
 *
 * Rules that keep that file valid for any shard size (n = the shard's indexed rows, K =
 * af_leaf_capacity):
 *   - N <= K: every root is a leaf listing N ids (Annoy reads N of them): the shard's n ids,
 *     repeated cyclically to fill N slots (searches drop the duplicates).
 *   - N > K: every root is a split node, even when n <= K (Annoy's forced root split); n == 1
 *     gets a split node with a zero plane whose children are the item and a one-item leaf.
 *   - When both children of a root would be single items (n <= 2), the second is stored as a
 *     one-item leaf node, so that the node before the last root is never another root (Annoy's
 *     loader would otherwise take it for one).
 *   - leaf_size < K: a split node over at most K rows stores n_descendants K + 1 (K + 2 when
 *     K + 1 == N) so that Annoy, which tells leaves from splits by n_descendants > K, still
 *     reads it as a split.
 *   - n == 0 (a shard with no indexed rows) is an error.
 * The bytes depend only on the vectors and the parameters, never on the thread count. */
#ifndef AF_FOREST_H
#define AF_FOREST_H

#include <stddef.h>
#include <stdint.h>

#include "af_error.h"
#include "af_metric.h"

typedef struct af_build_params {
    af_metric metric;
    af_node_format node_format; /* narrow (Annoy's int32 ids, the default: 0) or wide */
    int dim;                    /* floats per row; uint64 words for hamming */
    int n_trees;                /* trees of this shard, >= 1 */
    int leaf_size;              /* 0 = K; otherwise 1..K */
    uint64_t seed;              /* job seed */
    int64_t shard;              /* shard number (seeds its trees) */
    int64_t n_items_total;      /* N of the whole index (every root's n_descendants) */
    double dot_max_norm;        /* dot: af_block_max_norm reduced over all indexed rows */
    int threads;                /* OpenMP threads; 0 = OpenMP's default */
    int tree_batch;             /* trees built together in one pass over the rows per level; 0 = the
                                 * default, 1 = one at a time depth first (Annoy's order). The bytes
                                 * are the same either way. */
    size_t depth_first_bytes;   /* batched builds: a split over rows of at most this many bytes
                                 * (and at least four leaves' worth of rows) is finished depth
                                 * first, its rows gathered in cache; 0 = the default
                                 * (AF_DEPTH_FIRST_BYTES), 1 = never. Bytes unchanged. */
} af_build_params;

/* Twice this machine's L2 (2 MiB): the clustered 1,000,000 x 128 build (25 trees, 1 thread) took
 * 13.5-13.8 s at 1 MiB, 12.0-13.1 s at 4 MiB, and no less at 6, 8, 16 or 32 MiB. */
#define AF_DEPTH_FIRST_BYTES ((size_t)4 << 20)

typedef struct af_shard_trees {
    af_metric metric;
    af_node_format node_format;
    int dim;
    size_t node_size;
    int64_t n_items;      /* rows of the shard (n) */
    int64_t n_nodes;      /* tree nodes */
    unsigned char *nodes; /* n_nodes * node_size bytes, tree order */
    int n_trees;
    int64_t *roots;    /* root id of each tree (local, or global after relocation) */
    int64_t item_base; /* id of the shard's item 0: 0 when local */
    int64_t node_base; /* id of nodes[0]: n when local */
} af_shard_trees;

/* Build p->n_trees trees over the n row-major rows `vectors` (rows with skip[i] != 0 are left
 * out; skip may be NULL). Tree t is seeded with af_tree_seed(seed, shard, t). Fills *out (free
 * with af_shard_trees_free) with local ids. */
int af_shard_build(const af_build_params *p, const void *vectors, int64_t n,
                   const unsigned char *skip, af_shard_trees *out, af_error *err);

/* Rewrite every id to global numbering: item i -> row_base + i, tree node n + j ->
 * tree_node_base + j (roots too). May be called again to move them elsewhere. Fails when an
 * id would not fit the format's node ids. */
int af_shard_relocate(af_shard_trees *t, int64_t row_base, int64_t tree_node_base, af_error *err);

/* The bytes of tree t's root node (to write the root copies at the end of the file). */
const void *af_shard_root_node(const af_shard_trees *t, int tree);

void af_shard_trees_free(af_shard_trees *t);

#endif
