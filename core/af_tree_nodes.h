/* af_tree_nodes (internal): what both tree builders share - the one-tree-at-a-time depth-first
 * builder (af_tree_dfs.c) and the many-trees-per-pass builder (af_tree_batch.c). They make the
 * same decisions with the same random draws (every node has its own stream, af_child_seed), so
 * they produce the same bytes; only the order in which rows are read differs.
 *
 * Node order inside a tree: post-order, the smaller side of a split first, the root last (see
 * af_forest.h for the layout rules these helpers implement). */
#ifndef AF_TREE_NODES_H
#define AF_TREE_NODES_H

#include "af_forest.h"
#include "af_traits.h"

/* What every tree of a shard shares. Ids: the shard's rows 0..n-1, tree nodes n + j. */
typedef struct af_tree_ctx {
    const af_traits *t;
    const af_build_data *d;
    int64_t n;      /* rows of the shard (item ids below n) */
    int64_t N;      /* rows of the whole index (a root's n_descendants) */
    int K;          /* leaf capacity of the metric */
    int leaf_cap;   /* leaf_size, or K */
    size_t s;       /* node bytes */
    int64_t id_max; /* the largest node id of the format */
} af_tree_ctx;

/* Tree nodes as they are appended. */
typedef struct af_node_buf {
    unsigned char *nodes; /* room for cap nodes, on pages of its own (af_pages_alloc) */
    int64_t count, cap;
    int failed; /* out of memory, or of int32 ids */
} af_node_buf;

/* The per-row arrays of a batch of trees: a row list (idx) and, by row id, the pending split
 * holding the row (owner) and its side, for each tree; partition scratch (tmp) for the batch.
 * A thread keeps them from one batch to the next: on fresh pages the first writes cost more than
 * the work done with them. A tree's share is given back once its nodes are made (its pages
 * then serve the nodes of the trees after it). */
typedef struct af_tree_arrays {
    int32_t *idx;        /* trees x n_rows */
    int32_t *owner;      /* trees x n */
    unsigned char *side; /* trees x n */
    int32_t *tmp;        /* n_rows */
    int trees;           /* trees they have room for */
    int64_t n_rows, n;
} af_tree_arrays;

/* Room for `trees` trees over n_rows rows (kept when there is enough); -1 when out of memory. */
int af_tree_arrays_reserve(af_tree_arrays *a, const af_tree_ctx *c, int64_t n_rows, int trees);
/* Give back tree k's share (it reads as zeros afterwards). */
void af_tree_arrays_release(af_tree_arrays *a, int k);
void af_tree_arrays_free(af_tree_arrays *a);

/* What a segment of `count` rows becomes (make_tree's cases, in order). */
typedef enum af_seg_kind {
    AF_SEG_ITEM,      /* one row below the root: the item itself */
    AF_SEG_ROOT_LEAF, /* a root when N <= K: a leaf of N slots */
    AF_SEG_LEAF,      /* at most leaf_cap rows */
    AF_SEG_LONE_ROOT, /* a root over one row when N > K */
    AF_SEG_SPLIT      /* a split node */
} af_seg_kind;

void af_tree_ctx_init(af_tree_ctx *c, const af_build_params *p, const af_build_data *d, int64_t n);
af_seg_kind af_seg_classify(const af_tree_ctx *c, int64_t count, int is_root);

/* Append the node for a segment that is not a split (rows: its row ids). Returns its id (the row
 * itself for an item), or -1 with buf->failed set. */
int64_t af_nodes_terminal(const af_tree_ctx *c, af_node_buf *buf, af_seg_kind kind,
                          const int32_t *rows, int64_t count);

/* Complete split node m over `count` rows whose children are child[0] (side 0) and child[1],
 * and append it. flip: the side built first was side 1 (it was the smaller). A root whose later
 * child is a lone item gets that item wrapped in a one-item leaf first, so that the node before
 * a root is never another root. Returns its id or -1. */
int64_t af_nodes_split(const af_tree_ctx *c, af_node_buf *buf, unsigned char *m, int is_root,
                       int64_t count, int64_t child[2], int flip);

/* The sides of the rows idx[0..count) for split node m: Annoy's rules, up to three planes until
 * the split is no worse than 95/5, then coin flips while it is worse than 99/1. side[] is indexed
 * by row id. `done` planes were already tried, the last giving `ones` rows on side 1 (a batch
 * pass tries the first); returns the final count on side 1. */
int64_t af_choose_sides(const af_tree_ctx *c, const int32_t *idx, int64_t count, af_kiss64 *rng,
                        unsigned char *m, float *scratch, unsigned char *side, int done,
                        int64_t ones);

/* Stable partition of idx[0..count) by side (indexed by row id): side 0 first. */
void af_partition_rows(int32_t *idx, int32_t *tmp, int64_t count, int64_t zeros,
                       const unsigned char *side);

/* A subtree below the root over idx[0..count), depth first, appended to buf (tmp: partition
 * scratch of count rows; side indexed by row id). Returns its id or -1. */
int64_t af_tree_dfs_subtree(const af_tree_ctx *c, af_node_buf *buf, int32_t *idx, int32_t *tmp,
                            unsigned char *side, float *scratch, int64_t count, uint64_t seed);

/* The builders: trees [tree0, tree0 + count) of the shard. rows: the shard's indexed rows
 * (increasing), n_rows of them. The trees' nodes are appended to buf one tree after the other,
 * numbered as if they were the shard's only tree nodes (id n + their place in buf), so that one
 * batch needs no join; roots[0..count) get the trees' root ids, -1 for a tree that failed (out
 * of memory or of node ids; buf->failed is set then). */
void af_build_trees_dfs(const af_build_params *p, const af_tree_ctx *c, const int32_t *rows,
                        int64_t n_rows, int tree0, int count, af_tree_arrays *a, af_node_buf *buf,
                        int64_t *roots);
void af_build_trees_batch(const af_build_params *p, const af_tree_ctx *c, const int32_t *rows,
                          int64_t n_rows, int tree0, int count, af_tree_arrays *a, af_node_buf *buf,
                          int64_t *roots);
#endif
