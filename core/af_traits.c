/* af_traits: the per-metric table (Annoy's Distance structs, as data). */
#include "af_traits.h"

#include <math.h>

static const float *vec_f(const void *node, size_t off) {
    return (const float *)((const unsigned char *)node + off);
}

/* ---- item nodes ---- */

/* Annoy's item: n_descendants 1, the header otherwise zero, the vector. */
static void item_header(const af_traits *t, int dim, const void *vec, void *node) {
    memset(node, 0, t->off_vector);
    af_set_ndesc(t, node, 1);
    memcpy((unsigned char *)node + t->off_vector, vec, (size_t)dim * t->elem_size);
}

static void item_plain(const af_traits *t, int dim, const void *vec, void *node, float dot_max_norm,
                       const af_kernels *k) {
    (void)dot_max_norm, (void)k;
    item_header(t, dim, vec, node);
}

static void item_angular(const af_traits *t, int dim, const void *vec, void *node,
                         float dot_max_norm, const af_kernels *k) {
    (void)dot_max_norm;
    item_header(t, dim, vec, node);
    af_put_f32(node, t->off_scalar, k->dot(vec, vec, dim));
}

/* Annoy's dot preprocessing: the extra coordinate that puts every item on a sphere of radius
 * max_norm (Bachrach et al. 2014). */
static float dot_factor_of(float sq, float max_norm) {
    float norm = sq < 0 ? 0.0f : sqrtf(sq);
    float diff = max_norm * max_norm - norm * norm;
    return diff < 0 ? 0.0f : sqrtf(diff);
}

static void item_dot(const af_traits *t, int dim, const void *vec, void *node, float dot_max_norm,
                     const af_kernels *k) {
    item_header(t, dim, vec, node);
    af_put_f32(node, t->off_scalar, dot_factor_of(k->dot(vec, vec, dim), dot_max_norm));
}

/* ---- planes: margin, side ---- */

typedef enum { BIAS_MINKOWSKI, BIAS_ANGULAR, BIAS_DOT } plane_bias;

/* The margin from the plane's dot product with the query: the plane's offset added. */
static inline float biased(const af_traits *t, plane_bias b, const void *node, float dot) {
    switch (b) {
    case BIAS_MINKOWSKI:
        return af_get_f32(node, t->off_scalar) + dot;
    case BIAS_DOT: {
        float f = af_get_f32(node, t->off_scalar);
        return dot + f * f;
    }
    case BIAS_ANGULAR:
        break;
    }
    return dot;
}

static float margin_minkowski(const af_traits *t, const void *node, const void *q, int dim,
                              const af_kernels *k) {
    return biased(t, BIAS_MINKOWSKI, node, k->dot(vec_f(node, t->off_vector), q, dim));
}

static float margin_angular(const af_traits *t, const void *node, const void *q, int dim,
                            const af_kernels *k) {
    return biased(t, BIAS_ANGULAR, node, k->dot(vec_f(node, t->off_vector), q, dim));
}

static float margin_dot(const af_traits *t, const void *node, const void *q, int dim,
                        const af_kernels *k) {
    return biased(t, BIAS_DOT, node, k->dot(vec_f(node, t->off_vector), q, dim));
}

/* Hamming planes are one bit: v[0] is its position, counted from the top of each word. */
static float margin_hamming(const af_traits *t, const void *node, const void *q, int dim,
                            const af_kernels *k) {
    (void)k;
    uint64_t bit;
    memcpy(&bit, (const unsigned char *)node + t->off_vector, sizeof bit);
    if (bit >= (uint64_t)dim * 64) /* a damaged file: never read outside the query's words */
        return 0.0f;
    const uint64_t *y = q;
    return (y[bit / 64] >> (63 - bit % 64)) & 1 ? 1.0f : 0.0f;
}

static int side_by_margin(float m, af_kiss64 *rng) {
    return m != 0 ? m > 0 : af_kiss64_flip(rng);
}

static int side_minkowski(const af_traits *t, const af_build_data *d, const void *node,
                          const void *v, af_kiss64 *rng) {
    return side_by_margin(margin_minkowski(t, node, v, d->dim, d->k), rng);
}
static int side_angular(const af_traits *t, const af_build_data *d, const void *node, const void *v,
                        af_kiss64 *rng) {
    return side_by_margin(margin_angular(t, node, v, d->dim, d->k), rng);
}
static int side_dot(const af_traits *t, const af_build_data *d, const void *node, const void *v,
                    af_kiss64 *rng) {
    return side_by_margin(margin_dot(t, node, v, d->dim, d->k), rng);
}
static int side_hamming(const af_traits *t, const af_build_data *d, const void *node, const void *v,
                        af_kiss64 *rng) {
    (void)rng;
    return margin_hamming(t, node, v, d->dim, d->k) != 0;
}

/* ---- sides of many rows: one plane against four rows per dot4 call ---- */

/* Rows ahead of use whose first cache lines are requested early (they are scattered). */
#define SIDES_PREFETCH 8

static int64_t sides_by_plane(const af_traits *t, const af_build_data *d, const void *node,
                              plane_bias bias, const int32_t *idx, int64_t count, af_kiss64 *rng,
                              unsigned char *side) {
    const float *plane = vec_f(node, t->off_vector);
    int64_t ones = 0;
    for (int64_t i = 0; i < count; i += 4) {
        int m = count - i < 4 ? (int)(count - i) : 4;
        for (int j = 0; j < 4 && i + SIDES_PREFETCH + j < count; j++)
            __builtin_prefetch(af_row(d, idx[i + SIDES_PREFETCH + j]));
        const float *rows[4];
        for (int j = 0; j < 4; j++)
            rows[j] = af_row(d, idx[i + (j < m ? j : 0)]);
        float dots[4];
        d->k->dot4(plane, rows, d->dim, dots);
        for (int j = 0; j < m; j++) {
            unsigned char s = (unsigned char)side_by_margin(biased(t, bias, node, dots[j]), rng);
            side[idx[i + j]] = s;
            ones += s;
        }
    }
    return ones;
}

/* One row against up to four planes (the unused slots repeat the first). */
static void side4_by_plane(const af_traits *t, const af_build_data *d, const void *const node[4],
                           af_kiss64 *const rng[4], int m, const void *vec, plane_bias bias,
                           unsigned char out[4]) {
    const float *planes[4];
    for (int j = 0; j < 4; j++)
        planes[j] = vec_f(node[j < m ? j : 0], t->off_vector);
    float dots[4];
    d->k->dot4(vec, planes, d->dim, dots);
    for (int j = 0; j < m; j++)
        out[j] = (unsigned char)side_by_margin(biased(t, bias, node[j], dots[j]), rng[j]);
}

static void side4_minkowski(const af_traits *t, const af_build_data *d, const void *const node[4],
                            af_kiss64 *const rng[4], int m, const void *vec, unsigned char out[4]) {
    side4_by_plane(t, d, node, rng, m, vec, BIAS_MINKOWSKI, out);
}
static void side4_angular(const af_traits *t, const af_build_data *d, const void *const node[4],
                          af_kiss64 *const rng[4], int m, const void *vec, unsigned char out[4]) {
    side4_by_plane(t, d, node, rng, m, vec, BIAS_ANGULAR, out);
}
static void side4_dot(const af_traits *t, const af_build_data *d, const void *const node[4],
                      af_kiss64 *const rng[4], int m, const void *vec, unsigned char out[4]) {
    side4_by_plane(t, d, node, rng, m, vec, BIAS_DOT, out);
}
static void side4_hamming(const af_traits *t, const af_build_data *d, const void *const node[4],
                          af_kiss64 *const rng[4], int m, const void *vec, unsigned char out[4]) {
    for (int j = 0; j < m; j++)
        out[j] = (unsigned char)side_hamming(t, d, node[j], vec, rng[j]);
}

static int64_t sides_minkowski(const af_traits *t, const af_build_data *d, const void *node,
                               const int32_t *idx, int64_t count, af_kiss64 *rng,
                               unsigned char *side) {
    return sides_by_plane(t, d, node, BIAS_MINKOWSKI, idx, count, rng, side);
}
static int64_t sides_angular(const af_traits *t, const af_build_data *d, const void *node,
                             const int32_t *idx, int64_t count, af_kiss64 *rng,
                             unsigned char *side) {
    return sides_by_plane(t, d, node, BIAS_ANGULAR, idx, count, rng, side);
}
static int64_t sides_dot(const af_traits *t, const af_build_data *d, const void *node,
                         const int32_t *idx, int64_t count, af_kiss64 *rng, unsigned char *side) {
    return sides_by_plane(t, d, node, BIAS_DOT, idx, count, rng, side);
}
static int64_t sides_hamming(const af_traits *t, const af_build_data *d, const void *node,
                             const int32_t *idx, int64_t count, af_kiss64 *rng,
                             unsigned char *side) {
    int64_t ones = 0;
    for (int64_t i = 0; i < count; i++) {
        side[idx[i]] = (unsigned char)side_hamming(t, d, node, af_row(d, idx[i]), rng);
        ones += side[idx[i]];
    }
    return ones;
}

/* ---- search priorities ---- */

static float pq_plane(float parent, float margin, int child) {
    if (child == 0)
        margin = -margin;
    return parent < margin ? parent : margin;
}

static float pq_hamming(float parent, float margin, int child) {
    return parent - (float)(margin != (float)child);
}

/* ---- reported distances ---- */

/* A squared distance as reported: its root, never of a negative rounding. */
static double root_of(float sq) {
    return sqrt(sq > 0 ? (double)sq : 0.0);
}

static double nonnegative(float d) {
    return d > 0 ? (double)d : 0.0;
}

static double dist_euclidean(const void *a, float sa, const void *b, float sb, int dim,
                             const af_kernels *k) {
    (void)sa, (void)sb;
    return root_of(k->l2sq(a, b, dim));
}

static double dist_manhattan(const void *a, float sa, const void *b, float sb, int dim,
                             const af_kernels *k) {
    (void)sa, (void)sb;
    return nonnegative(k->l1(a, b, dim));
}

/* Annoy's angular: (a/|a| - b/|b|)^2 = 2 - 2cos, 2 when either is zero; reported as its root. */
static double dist_angular(const void *a, float sa, const void *b, float sb, int dim,
                           const af_kernels *k) {
    float pp = sa != 0 ? sa : k->dot(a, a, dim);
    float qq = sb != 0 ? sb : k->dot(b, b, dim);
    return root_of(af_angular_sq(pp, qq, k->dot(a, b, dim)));
}

static double dist_dot(const void *a, float sa, const void *b, float sb, int dim,
                       const af_kernels *k) {
    (void)sa, (void)sb;
    return (double)k->dot(a, b, dim);
}

static double dist_hamming(const void *a, float sa, const void *b, float sb, int dim,
                           const af_kernels *k) {
    (void)sa, (void)sb;
    return (double)k->hamming(a, b, dim);
}

/* ---- four pairs at once: one 4-way kernel call, then each as distance() finishes it ---- */

static void dist4_euclidean(const void *const a[4], const float sa[4], const void *const b[4],
                            const float sb[4], int dim, const af_kernels *k, double out[4]) {
    (void)sa, (void)sb;
    float d[4];
    k->l2sq_pairs4((const float *const *)a, (const float *const *)b, dim, d);
    for (int j = 0; j < 4; j++)
        out[j] = root_of(d[j]);
}

static void dist4_manhattan(const void *const a[4], const float sa[4], const void *const b[4],
                            const float sb[4], int dim, const af_kernels *k, double out[4]) {
    (void)sa, (void)sb;
    float d[4];
    k->l1_pairs4((const float *const *)a, (const float *const *)b, dim, d);
    for (int j = 0; j < 4; j++)
        out[j] = nonnegative(d[j]);
}

static void dist4_angular(const void *const a[4], const float sa[4], const void *const b[4],
                          const float sb[4], int dim, const af_kernels *k, double out[4]) {
    float pq[4];
    k->dot_pairs4((const float *const *)a, (const float *const *)b, dim, pq);
    for (int j = 0; j < 4; j++) {
        float pp = sa[j] != 0 ? sa[j] : k->dot(a[j], a[j], dim);
        float qq = sb[j] != 0 ? sb[j] : k->dot(b[j], b[j], dim);
        out[j] = root_of(af_angular_sq(pp, qq, pq[j]));
    }
}

static void dist4_dot(const void *const a[4], const float sa[4], const void *const b[4],
                      const float sb[4], int dim, const af_kernels *k, double out[4]) {
    (void)sa, (void)sb;
    float d[4];
    k->dot_pairs4((const float *const *)a, (const float *const *)b, dim, d);
    for (int j = 0; j < 4; j++)
        out[j] = (double)d[j];
}

static void dist4_hamming(const void *const a[4], const float sa[4], const void *const b[4],
                          const float sb[4], int dim, const af_kernels *k, double out[4]) {
    for (int j = 0; j < 4; j++)
        out[j] = dist_hamming(a[j], sa[j], b[j], sb[j], dim, k);
}

/* Hamming's root priority: large, and exact in float after the few decrements of a descent. */
#define AF_HAMMING_PQ_INITIAL 8388608.0f

/* Each metric's functions, the same in both formats. */
#define EUCLIDEAN_FNS                                                                              \
    item_plain, af_split_euclidean, side_minkowski, sides_minkowski, side4_minkowski,              \
        margin_minkowski, pq_plane, dist_euclidean, dist4_euclidean
#define MANHATTAN_FNS                                                                              \
    item_plain, af_split_manhattan, side_minkowski, sides_minkowski, side4_minkowski,              \
        margin_minkowski, pq_plane, dist_manhattan, dist4_manhattan
#define ANGULAR_FNS                                                                                \
    item_angular, af_split_angular, side_angular, sides_angular, side4_angular, margin_angular,    \
        pq_plane, dist_angular, dist4_angular
#define DOT_FNS                                                                                    \
    item_dot, af_split_dot, side_dot, sides_dot, side4_dot, margin_dot, pq_plane, dist_dot,        \
        dist4_dot
#define HAMMING_FNS                                                                                \
    item_plain, af_split_hamming, side_hamming, sides_hamming, side4_hamming, margin_hamming,      \
        pq_hamming, dist_hamming, dist4_hamming

/* Offsets (af_metric.h): id size, children, vector, scalar. Narrow = Annoy's int32 layout; wide
 * = annoylib.h's structs with S = int64_t (the minkowski `a` padded to the ids' alignment). */
static const af_traits narrow[AF_METRIC_COUNT] = {
    [AF_EUCLIDEAN] = {AF_EUCLIDEAN, "euclidean", 0, sizeof(float), AF_NODES_NARROW, 4, 8, 16, 4,
                      INFINITY, EUCLIDEAN_FNS},
    [AF_ANGULAR] = {AF_ANGULAR, "angular", 0, sizeof(float), AF_NODES_NARROW, 4, 4, 12, 4, INFINITY,
                    ANGULAR_FNS},
    [AF_MANHATTAN] = {AF_MANHATTAN, "manhattan", 0, sizeof(float), AF_NODES_NARROW, 4, 8, 16, 4,
                      INFINITY, MANHATTAN_FNS},
    [AF_DOT] = {AF_DOT, "dot", 1, sizeof(float), AF_NODES_NARROW, 4, 4, 16, 12, INFINITY, DOT_FNS},
    [AF_HAMMING] = {AF_HAMMING, "hamming", 0, sizeof(uint64_t), AF_NODES_NARROW, 4, 4, 16, 0,
                    AF_HAMMING_PQ_INITIAL, HAMMING_FNS},
};

static const af_traits wide[AF_METRIC_COUNT] = {
    [AF_EUCLIDEAN] = {AF_EUCLIDEAN, "euclidean", 0, sizeof(float), AF_NODES_WIDE, 8, 16, 32, 8,
                      INFINITY, EUCLIDEAN_FNS},
    [AF_ANGULAR] = {AF_ANGULAR, "angular", 0, sizeof(float), AF_NODES_WIDE, 8, 8, 24, 8, INFINITY,
                    ANGULAR_FNS},
    [AF_MANHATTAN] = {AF_MANHATTAN, "manhattan", 0, sizeof(float), AF_NODES_WIDE, 8, 16, 32, 8,
                      INFINITY, MANHATTAN_FNS},
    [AF_DOT] = {AF_DOT, "dot", 1, sizeof(float), AF_NODES_WIDE, 8, 8, 28, 24, INFINITY, DOT_FNS},
    [AF_HAMMING] = {AF_HAMMING, "hamming", 0, sizeof(uint64_t), AF_NODES_WIDE, 8, 8, 24, 0,
                    AF_HAMMING_PQ_INITIAL, HAMMING_FNS},
};

const af_traits *af_traits_of(af_metric m) {
    return af_traits_get(m, AF_NODES_NARROW);
}

const af_traits *af_traits_get(af_metric m, af_node_format f) {
    if ((unsigned)m >= AF_METRIC_COUNT)
        return NULL;
    return f == AF_NODES_WIDE ? &wide[m] : f == AF_NODES_NARROW ? &narrow[m] : NULL;
}
