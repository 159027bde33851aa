/* af_traits (internal): what the tree code needs to know about a metric and a node format, as
 * one table per metric and format (narrow: int32 ids, wide: int64; af_metric.h has the layouts).
 * The build, search and exact code are written once against this table; the functions that
 * read or write node fields take the table, for its offsets. */
#ifndef AF_TRAITS_H
#define AF_TRAITS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "af_kernels.h"
#include "af_kiss.h"
#include "af_metric.h"

/* The rows a shard is built from, with the per-row values the splits need. */
typedef struct af_build_data {
    int dim;
    const af_kernels *k;
    const unsigned char *rows; /* row-major vectors */
    size_t row_bytes;
    const float *sqnorm;     /* angular, dot: dot(v, v) of each row; else NULL */
    const float *dot_factor; /* dot: each row's item-node dot factor; else NULL */
} af_build_data;

static inline const void *af_row(const af_build_data *d, int64_t i) {
    return d->rows + (size_t)i * d->row_bytes;
}

typedef struct af_traits af_traits;

struct af_traits {
    af_metric metric;
    const char *name;
    int larger_first;
    size_t elem_size; /* bytes of a vector element */
    af_node_format format;
    size_t id_size;      /* bytes of a node id: 4 (narrow) or 8 (wide) */
    size_t off_children; /* byte offset of children[] */
    size_t off_vector;   /* byte offset of v[] */
    size_t off_scalar;   /* the metric's float: minkowski's a, an angular item's norm, dot's
                          * factor (0: none, hamming) */
    float pq_initial;    /* priority of a root in the search queue */

    /* Item node bytes (node_out is node_size bytes). */
    void (*item_init)(const af_traits *t, int dim, const void *vec, void *node, float dot_max_norm,
                      const af_kernels *k);
    /* Fill a split node's plane (not n_descendants / children) from rows idx[0..count). */
    void (*create_split)(const af_traits *t, const af_build_data *d, const int32_t *idx,
                         int64_t count, af_kiss64 *rng, void *node, float *scratch);
    /* Which child a row goes to (1 or 0), Annoy's side(): ties broken by a coin flip. */
    int (*side)(const af_traits *t, const af_build_data *d, const void *node, const void *vec,
                af_kiss64 *rng);
    /* side() of every row idx[0..count), in order (the same coin flips), into side[] indexed by
     * row id; returns the rows on side 1. The float metrics take four rows per kernel call. */
    int64_t (*sides)(const af_traits *t, const af_build_data *d, const void *node,
                     const int32_t *idx, int64_t count, af_kiss64 *rng, unsigned char *side);
    /* side() of one row against the planes of m <= 4 nodes (each with its own stream), in
     * order, into out[0..m): a level pass of the batched builder. */
    void (*side4)(const af_traits *t, const af_build_data *d, const void *const node[4],
                  af_kiss64 *const rng[4], int m, const void *vec, unsigned char out[4]);
    /* Signed distance of a query from a split node's plane. */
    float (*margin)(const af_traits *t, const void *node, const void *query, int dim,
                    const af_kernels *k);
    /* Priority of child `child` given the parent's priority and the margin. */
    float (*pq_distance)(float parent, float margin, int child);
    /* Reported distance between vectors a and b; sq_a / sq_b: dot(v, v) when known (angular),
     * else 0 (then computed). */
    double (*distance)(const void *a, float sq_a, const void *b, float sq_b, int dim,
                       const af_kernels *k);
    /* distance(a[j], sq_a[j], b[j], sq_b[j]) of four pairs at once, each to the bit of
     * distance(): the float metrics take one 4-way kernel call. */
    void (*distance4)(const void *const a[4], const float sq_a[4], const void *const b[4],
                      const float sq_b[4], int dim, const af_kernels *k, double out[4]);
};

/* The narrow table of a metric (for what does not depend on the format: name, element size,
 * distances), or NULL for an unknown metric. */
const af_traits *af_traits_of(af_metric m);
/* The table of a metric in a node format, or NULL. */
const af_traits *af_traits_get(af_metric m, af_node_format f);

static inline size_t af_traits_node_size(const af_traits *t, int dim) {
    return t->off_vector + (size_t)dim * t->elem_size;
}
static inline int af_traits_leaf_capacity(const af_traits *t, int dim) {
    return (int)((af_traits_node_size(t, dim) - t->off_children) / t->id_size);
}

/* Annoy's last resort: zero the plane vector before splitting at random. */
static inline void af_zero_plane(const af_traits *t, void *node, int dim) {
    memset((unsigned char *)node + t->off_vector, 0, (size_t)dim * t->elem_size);
}
/* Floats of scratch create_split needs. */
static inline size_t af_split_scratch_floats(int dim) {
    return 4 * (size_t)dim + 16;
}

/* Annoy's angular distance, squared, from dot(a, a), dot(b, b) and dot(a, b): 2 - 2 cos, and 2
 * when either vector is zero. Two-means and the reported distances share it. */
static inline float af_angular_sq(float pp, float qq, float pq) {
    float ppqq = pp * qq;
    return ppqq > 0 ? (float)(2.0 - 2.0 * (double)pq / (double)sqrtf(ppqq)) : 2.0f;
}

/* Field access without alignment or aliasing assumptions. */
static inline int32_t af_get_i32(const void *node, size_t off) {
    int32_t v;
    memcpy(&v, (const unsigned char *)node + off, sizeof v);
    return v;
}
static inline void af_put_i32(void *node, size_t off, int32_t v) {
    memcpy((unsigned char *)node + off, &v, sizeof v);
}
static inline float af_get_f32(const void *node, size_t off) {
    float v;
    memcpy(&v, (const unsigned char *)node + off, sizeof v);
    return v;
}
static inline void af_put_f32(void *node, size_t off, float v) {
    memcpy((unsigned char *)node + off, &v, sizeof v);
}

/* Node ids at byte offset off, in the table's width. */
static inline int64_t af_get_id(const af_traits *t, const void *node, size_t off) {
    if (t->id_size == 4)
        return af_get_i32(node, off);
    int64_t v;
    memcpy(&v, (const unsigned char *)node + off, sizeof v);
    return v;
}
static inline void af_put_id(const af_traits *t, void *node, size_t off, int64_t id) {
    if (t->id_size == 4) {
        af_put_i32(node, off, (int32_t)id);
        return;
    }
    memcpy((unsigned char *)node + off, &id, sizeof id);
}

/* n_descendants is the first field of every layout. */
static inline int64_t af_node_ndesc(const af_traits *t, const void *node) {
    return af_get_id(t, node, 0);
}
static inline void af_set_ndesc(const af_traits *t, void *node, int64_t n) {
    af_put_id(t, node, 0, n);
}
/* children[i]: a split's two children, or a leaf's i-th item. */
static inline size_t af_child_off(const af_traits *t, int64_t i) {
    return t->off_children + (size_t)i * t->id_size;
}
static inline int64_t af_child_id(const af_traits *t, const void *node, int64_t i) {
    return af_get_id(t, node, af_child_off(t, i));
}
static inline void af_set_child(const af_traits *t, void *node, int64_t i, int64_t id) {
    af_put_id(t, node, af_child_off(t, i), id);
}

/* Split functions (af_split.c): the plane goes to the table's offsets. */
void af_split_euclidean(const af_traits *t, const af_build_data *d, const int32_t *idx,
                        int64_t count, af_kiss64 *rng, void *node, float *scratch);
void af_split_manhattan(const af_traits *t, const af_build_data *d, const int32_t *idx,
                        int64_t count, af_kiss64 *rng, void *node, float *scratch);
void af_split_angular(const af_traits *t, const af_build_data *d, const int32_t *idx, int64_t count,
                      af_kiss64 *rng, void *node, float *scratch);
void af_split_dot(const af_traits *t, const af_build_data *d, const int32_t *idx, int64_t count,
                  af_kiss64 *rng, void *node, float *scratch);
void af_split_hamming(const af_traits *t, const af_build_data *d, const int32_t *idx, int64_t count,
                      af_kiss64 *rng, void *node, float *scratch);

#endif
