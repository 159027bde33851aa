/* af_index: a read-only view over Annoy-format nodes, and searching it.
 *
 * The nodes may sit in separate mappings: the item nodes of a range of rows, and one or more
 * ranges of tree nodes, each at its own base pointer (a rank maps only its shards' bytes), plus
 * the list of root ids to search from. af_index_load_annoy() makes a view over a whole Annoy
 * file held in memory. Views do not own the node bytes. */
#ifndef AF_INDEX_H
#define AF_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "af_error.h"
#include "af_metric.h"
#include "af_neighbor.h"

#define AF_VIEW_MAX_TREE_RANGES 4

typedef struct af_node_range {
    int64_t first;    /* id of the first node */
    int64_t count;    /* nodes */
    const void *base; /* bytes of node `first` (4-byte aligned; 8 for hamming) */
} af_node_range;

/* The offset of node `id` in a range starting at `first`, wrapped to unsigned: ids below `first`
 * come out huge, so one compare against the count tests both ends. Computed in unsigned
 * arithmetic because a damaged file may hold any id, INT64_MIN included, where the signed
 * difference would overflow. */
static inline uint64_t af_node_offset(int64_t id, int64_t first) {
    return (uint64_t)id - (uint64_t)first;
}

typedef struct af_index_view {
    af_metric metric;
    af_node_format format;
    int dim;
    size_t node_size;
    int leaf_capacity; /* K */
    int64_t n_items;   /* N: ids below it are items */
    af_node_range items;
    int n_tree_ranges;
    af_node_range trees[AF_VIEW_MAX_TREE_RANGES];
    int64_t n_roots;
    int64_t *roots; /* owned by the view */
} af_index_view;

/* An empty view (no nodes, no roots) for an index of n_items rows. */
int af_index_view_init(af_index_view *v, af_metric m, af_node_format f, int dim, int64_t n_items,
                       af_error *err);
/* The item nodes of ids [first, first + count) at base. */
int af_index_view_set_items(af_index_view *v, int64_t first, int64_t count, const void *base,
                            af_error *err);
/* Add tree nodes of ids [first, first + count) at base (at most AF_VIEW_MAX_TREE_RANGES). */
int af_index_view_add_trees(af_index_view *v, int64_t first, int64_t count, const void *base,
                            af_error *err);
/* Copy the root ids (each must be a mapped node: a tree node, or a root copy when the copies
 * are mapped as a tree range). */
int af_index_view_set_roots(af_index_view *v, const int64_t *roots, int64_t n_roots, af_error *err);
void af_index_view_free(af_index_view *v);

/* The node with this id, or NULL when it is not mapped. */
const void *af_index_node(const af_index_view *v, int64_t id);

/* The two faults a walk down a view's trees can meet (the search, rerank's compact copy), as one
 * message each: node `from` points to `id`, which is not mapped; a node (`id`) is reached more
 * often than a sound forest allows, so the trees loop. Both return -1 (af_fail). */
int af_index_fail_missing(af_error *err, int64_t from, int64_t id);
int af_index_fail_loop(af_error *err, int64_t id);

/* A view over a whole Annoy index file (size bytes at `bytes`; wide: the same rules with int64
 * ids); metric, node format and dim come from the
 * caller because the file holds neither. Annoy's loader rules: the size must be a non-zero
 * multiple of the node size; the roots are the trailing nodes with equal n_descendants (minus
 * the last tree's root when it precedes the root copies); n_items is that n_descendants. */
int af_index_load_annoy(af_index_view *v, af_metric m, af_node_format f, int dim, const void *bytes,
                        size_t size, af_error *err);

typedef struct af_search_params {
    int k;            /* neighbours per query, >= 1 */
    int64_t search_k; /* candidates to collect per query; <= 0: n_roots * k (Annoy's default) */
    int64_t rerank;   /* 0: every candidate gets its exact distance. R > 0 (euclidean and
                       * manhattan): the candidates are first compared on 8-bit copies of the
                       * vectors (af_codes.h) and only the R nearest get exact distances; the
                       * others are dropped. Fewer bytes read per candidate; results still carry
                       * exact distances. */
} af_search_params;

/* Reusable per-thread scratch for searching one view (which must outlive it). */
typedef struct af_searcher af_searcher;

af_searcher *af_searcher_create(const af_index_view *v, int threads, af_error *err);
void af_searcher_free(af_searcher *s);

/* Search n_query row-major query vectors in parallel; out gets k entries per query (see
 * af_neighbor.h for the order and missing entries). exclude (may be NULL) holds one id per
 * query that must not be returned (e.g. the query row itself; -1 = none). Fails when the view
 * is damaged (a child id outside the mapped nodes). The first run with p->rerank > 0 builds the
 * view's 8-bit codes (kept by the searcher): calls on one searcher must not overlap. */
int af_searcher_run(af_searcher *s, const void *queries, int64_t n_query, const af_search_params *p,
                    const int64_t *exclude, af_neighbor *out, af_error *err);

/* One-shot: create, run, free. */
int af_search(const af_index_view *v, const void *queries, int64_t n_query,
              const af_search_params *p, const int64_t *exclude, int threads, af_neighbor *out,
              af_error *err);

#endif
