/* af_traits (internal): what the tree code needs to know about a metric, as one table per
 * metric. The build, search and exact code are written once against this table. */
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

typedef struct af_traits {
    af_metric metric;
    const char *name;
    int larger_first;
    size_t elem_size;    /* bytes of a vector element */
    size_t off_children; /* byte offset of children[] */
    size_t off_vector;   /* byte offset of v[] */
    float pq_initial;    /* priority of a root in the search queue */

    /* Item node bytes (node_out is node_size bytes). */
    void (*item_init)(int dim, const void *vec, void *node, float dot_max_norm,
                      const af_kernels *k);
    /* Fill a split node's plane (not n_descendants / children) from rows idx[0..count). */
    void (*create_split)(const af_build_data *d, const int32_t *idx, int64_t count, af_kiss64 *rng,
                         void *node, float *scratch);
    /* Which child a row goes to (1 or 0), Annoy's side(): ties broken by a coin flip. */
    int (*side)(const af_build_data *d, const void *node, const void *vec, af_kiss64 *rng);
    /* side() of every row idx[0..count), in order (the same coin flips), into side[] indexed by
     * row id; returns the rows on side 1. The float metrics take four rows per kernel call. */
    int64_t (*sides)(const af_build_data *d, const void *node, const int32_t *idx, int64_t count,
                     af_kiss64 *rng, unsigned char *side);
    /* side() of one row against the planes of m <= 4 nodes (each with its own stream), in
     * order, into out[0..m): a level pass of the batched builder. */
    void (*side4)(const af_build_data *d, const void *const node[4], af_kiss64 *const rng[4], int m,
                  const void *vec, unsigned char out[4]);
    /* Annoy's last resort: zero the plane vector before splitting at random. */
    void (*zero_plane)(void *node, int dim);
    /* Signed distance of a query from a split node's plane. */
    float (*margin)(const void *node, const void *query, int dim, const af_kernels *k);
    /* Priority of child `child` given the parent's priority and the margin. */
    float (*pq_distance)(float parent, float margin, int child);
    /* Reported distance between vectors a and b; sq_a / sq_b: dot(v, v) when known (angular),
     * else 0 (then computed). */
    double (*distance)(const void *a, float sq_a, const void *b, float sq_b, int dim,
                       const af_kernels *k);
    /* distance() of a against four vectors b[0..4) at once (sq_b as above), each to the bit of
     * distance(): the float metrics take one 4-way kernel call. */
    void (*distance4)(const void *a, float sq_a, const void *const b[4], const float sq_b[4],
                      int dim, const af_kernels *k, double out[4]);
} af_traits;

const af_traits *af_traits_of(af_metric m);

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

/* Offsets shared by the layouts. */
#define AF_OFF_NDESC 0
#define AF_OFF_MINKOWSKI_A 4
#define AF_OFF_ANGULAR_NORM 4
#define AF_OFF_DOT_FACTOR 12

/* Split functions (af_split.c). */
void af_split_euclidean(const af_build_data *d, const int32_t *idx, int64_t count, af_kiss64 *rng,
                        void *node, float *scratch);
void af_split_manhattan(const af_build_data *d, const int32_t *idx, int64_t count, af_kiss64 *rng,
                        void *node, float *scratch);
void af_split_angular(const af_build_data *d, const int32_t *idx, int64_t count, af_kiss64 *rng,
                      void *node, float *scratch);
void af_split_dot(const af_build_data *d, const int32_t *idx, int64_t count, af_kiss64 *rng,
                  void *node, float *scratch);
void af_split_hamming(const af_build_data *d, const int32_t *idx, int64_t count, af_kiss64 *rng,
                      void *node, float *scratch);

#endif
