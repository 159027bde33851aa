/* af_metric: the five distance metrics, their Annoy node layouts and item nodes.
 *
 * Node layouts, narrow format (int32 node ids, little-endian, exactly as Annoy 1.17 stores them;
 * dim = floats, or uint64 words for hamming):
 *   euclidean, manhattan: int32 n_descendants | float a | int32 children[2] | float v[dim]
 *   angular:              int32 n_descendants | int32 children[2] (item: float norm=|v|^2 in
 *                         children[0]'s place) | float v[dim]
 *   dot:                  int32 n_descendants | int32 children[2] | float dot_factor | float v[dim]
 *   hamming:              int32 n_descendants | int32 children[2] | 4 zero bytes | uint64 v[dim]
 * The wide format (annforest's own, for indexes beyond int32 node ids) is the same with int64
 * ids, laid out as annoylib.h's Node structs are with S = int64_t (C alignment rules):
 *   euclidean, manhattan: int64 n_descendants | float a | 4 zero bytes | int64 children[2] |
 *                         float v[dim]
 *   angular:              int64 n_descendants | int64 children[2] (item: the norm in
 *                         children[0]'s first 4 bytes) | float v[dim]
 *   dot:                  int64 n_descendants | int64 children[2] | float dot_factor | float v[dim]
 *   hamming:              int64 n_descendants | int64 children[2] | uint64 v[dim]
 * A node with n_descendants == 1 and id < n_items is an item; other nodes with
 * n_descendants <= K are leaves listing n_descendants item ids from `children` on; nodes with
 * n_descendants > K are splits. K (af_leaf_capacity) = how many ids fit from `children` to the
 * end of the node. */
#ifndef AF_METRIC_H
#define AF_METRIC_H

#include <stddef.h>
#include <stdint.h>

typedef enum af_metric {
    AF_EUCLIDEAN = 0,
    AF_ANGULAR = 1,
    AF_MANHATTAN = 2,
    AF_DOT = 3,
    AF_HAMMING = 4
} af_metric;

#define AF_METRIC_COUNT 5

/* How node ids are stored: narrow = int32 (Annoy's own files), wide = int64. */
typedef enum af_node_format { AF_NODES_NARROW = 0, AF_NODES_WIDE = 1 } af_node_format;

/* Node ids are int32 in a narrow file: N + all tree nodes + roots must stay below this. */
#define AF_NODE_ID_MAX INT32_MAX

/* The largest node id a format holds. */
int64_t af_node_id_max(af_node_format f);
/* "annoy-int32" (narrow) or "annoy-int64" (wide): the metadata's node_format. */
const char *af_node_format_name(af_node_format f);
/* The reverse of af_node_format_name; -1 for anything else. */
int af_node_format_parse(const char *name, af_node_format *out);

/* "euclidean", "angular", "manhattan", "dot", "hamming" -> 0; anything else -> -1. */
int af_metric_parse(const char *name, af_metric *out);
/* The name above, or "unknown". */
const char *af_metric_name(af_metric m);

/* 1 for dot (a larger inner product is nearer), 0 for the others. */
int af_metric_larger_first(af_metric m);
/* Bytes of one vector element: 4 (float) or 8 (uint64 word, hamming). */
size_t af_metric_elem_size(af_metric m);
/* Bytes of one node and Annoy's K for vectors of `dim` elements. */
size_t af_node_size(af_metric m, af_node_format f, int dim);
int af_leaf_capacity(af_metric m, af_node_format f, int dim);

/* Node field access (node = start of a node of this metric and format). */
int64_t af_node_n_descendants(af_metric m, af_node_format f, const void *node);
int64_t af_node_child(af_metric m, af_node_format f, const void *node, int i);
const void *af_node_vector(af_metric m, af_node_format f, const void *node);

/* The largest Euclidean norm over n row-major vectors, computed the way the item nodes' dot
 * factors are (float). Only dot needs it: reduce it over all rows of the index (max) and
 * pass the result to af_item_node_init. Returns 0 for n == 0. */
double af_block_max_norm(af_metric m, int dim, const void *vectors, int64_t n);

/* The bytes Annoy holds for an item after build: n_descendants 1, children 0, the vector,
 * angular's norm, dot's factor sqrt(max_norm^2 - |v|^2) (dot_max_norm ignored otherwise).
 * A row left out of the index (NA) gets an all-zero node instead, as Annoy leaves an id that
 * was never added. */
void af_item_node_init(af_metric m, af_node_format f, int dim, const void *vec, void *node_out,
                       double dot_max_norm);
/* The same for n contiguous rows into n contiguous nodes, by OpenMP's threads; rows with
 * skip[i] != 0 (skip may be NULL) get all-zero nodes. */
void af_item_nodes_fill(af_metric m, af_node_format f, int dim, const void *vectors, int64_t n,
                        const unsigned char *skip, void *nodes_out, double dot_max_norm);

/* The distance reported for two raw vectors (euclidean L2, angular sqrt(2 - 2cos), manhattan L1,
 * dot the inner product, hamming the bit count), computed by the same kernels as search and
 * exact, so all three agree to the bit. */
double af_distance(af_metric m, int dim, const void *a, const void *b);

#endif
