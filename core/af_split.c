/* af_split: Annoy's split planes. Two-means for the float metrics (a heuristic: two centroids
 * seeded with random rows, each pulled towards the rows nearer to it, weighted by how many it
 * has taken), a random informative bit for hamming. Same random draws, in the same order, as
 * annoylib.h, so the quality of the trees is Annoy's. */
#include <math.h>

#include "af_traits.h"

#define TWO_MEANS_STEPS 200
#define HAMMING_RANDOM_TRIES 20
#define PREFETCH_AHEAD 8 /* two-means rows fetched ahead of use */
#define DRAW_AHEAD 16    /* two-means draws made ahead of use (their idx entries fetched) */

typedef enum { TM_EUCLIDEAN, TM_MANHATTAN, TM_ANGULAR, TM_DOT } tm_kind;

/* A centroid: the vector and its extra field (angular: dot(v, v); dot: the dot factor). */
typedef struct centroid {
    float *v;
    float extra;
} centroid;

static inline void prefetch_row(const af_build_data *d, int64_t row) {
    const char *p = af_row(d, row);
    for (size_t off = 0; off < d->row_bytes; off += 64)
        __builtin_prefetch(p + off);
}

static float centroid_distance(tm_kind kind, const af_build_data *d, const centroid *c,
                               int64_t row) {
    const float *y = af_row(d, row);
    switch (kind) {
    case TM_EUCLIDEAN:
        return d->k->l2sq(c->v, y, d->dim);
    case TM_MANHATTAN:
        return d->k->l1(c->v, y, d->dim);
    case TM_DOT:
        return -d->k->dot(c->v, y, d->dim);
    case TM_ANGULAR:
        break;
    }
    float pp = c->extra != 0 ? c->extra : d->k->dot(c->v, c->v, d->dim);
    float qq = d->sqnorm[row] != 0 ? d->sqnorm[row] : d->k->dot(y, y, d->dim);
    return af_angular_sq(pp, qq, d->k->dot(c->v, y, d->dim));
}

static void scale(float *v, int dim, float by) {
    for (int z = 0; z < dim; z++)
        v[z] /= by;
}

/* Annoy's normalize: unit length (with the dot factor as one more coordinate for dot). */
static void normalize(tm_kind kind, const af_build_data *d, centroid *c) {
    if (kind == TM_DOT) {
        float norm = (float)sqrt((double)d->k->dot(c->v, c->v, d->dim) +
                                 (double)c->extra * (double)c->extra);
        if (norm > 0) {
            scale(c->v, d->dim, norm);
            c->extra /= norm;
        }
        return;
    }
    float norm = sqrtf(d->k->dot(c->v, c->v, d->dim));
    if (norm > 0)
        scale(c->v, d->dim, norm);
}

static void refresh(tm_kind kind, const af_build_data *d, centroid *c) {
    if (kind == TM_ANGULAR)
        c->extra = d->k->dot(c->v, c->v, d->dim);
}

static void seed_centroid(tm_kind kind, const af_build_data *d, centroid *c, int64_t row) {
    memcpy(c->v, af_row(d, row), (size_t)d->dim * sizeof(float));
    c->extra = kind == TM_DOT ? d->dot_factor[row] : 0.0f;
}

static void two_means(tm_kind kind, const af_build_data *d, const int32_t *idx, int64_t count,
                      af_kiss64 *rng, centroid *p, centroid *q) {
    int cosine = kind == TM_ANGULAR || kind == TM_DOT;
    uint64_t i = af_kiss64_index(rng, (uint64_t)count);
    uint64_t j = af_kiss64_index(rng, (uint64_t)count - 1);
    j += (j >= i);
    seed_centroid(kind, d, p, idx[i]);
    seed_centroid(kind, d, q, idx[j]);
    if (cosine) {
        normalize(kind, d, p);
        normalize(kind, d, q);
    }
    refresh(kind, d, p);
    refresh(kind, d, q);
    int ic = 1, jc = 1;
    /* The steps' rows are scattered over the shard, and so are their positions in idx: each
     * step's draw is made DRAW_AHEAD steps early and its idx entry fetched, and its row is fetched
     * PREFETCH_AHEAD steps early (the same draws in the same order, and no more of them), so that
     * both are on the way while the steps before it run. */
    int64_t drawn_at[DRAW_AHEAD];
    int drawn = 0;
    for (; drawn < DRAW_AHEAD && drawn < TWO_MEANS_STEPS; drawn++) {
        drawn_at[drawn] = (int64_t)af_kiss64_index(rng, (uint64_t)count);
        __builtin_prefetch(idx + drawn_at[drawn]);
    }
    for (int step = 0; step < PREFETCH_AHEAD && step < TWO_MEANS_STEPS; step++)
        prefetch_row(d, idx[drawn_at[step]]);
    for (int step = 0; step < TWO_MEANS_STEPS; step++) {
        int64_t row = idx[drawn_at[step % DRAW_AHEAD]];
        if (step + PREFETCH_AHEAD < drawn)
            prefetch_row(d, idx[drawn_at[(step + PREFETCH_AHEAD) % DRAW_AHEAD]]);
        if (drawn < TWO_MEANS_STEPS) { /* the slot of this step is free again */
            drawn_at[drawn % DRAW_AHEAD] = (int64_t)af_kiss64_index(rng, (uint64_t)count);
            __builtin_prefetch(idx + drawn_at[drawn % DRAW_AHEAD]);
            drawn++;
        }
        float di = (float)ic * centroid_distance(kind, d, p, row);
        float dj = (float)jc * centroid_distance(kind, d, q, row);
        float norm = cosine ? sqrtf(d->sqnorm[row]) : 1.0f;
        if (!(norm > 0))
            continue;
        if (di < dj) {
            d->k->pull(p->v, af_row(d, row), norm, d->dim, ic++);
            refresh(kind, d, p);
        } else if (dj < di) {
            d->k->pull(q->v, af_row(d, row), norm, d->dim, jc++);
            refresh(kind, d, q);
        }
    }
}

/* The two-means centroids p and q of the rows, and the plane normal n = p - q at unit length:
 * the part of the split that angular and the Minkowski metrics share. */
static void two_means_normal(tm_kind kind, const af_build_data *d, const int32_t *idx,
                             int64_t count, af_kiss64 *rng, centroid *p, centroid *q, float *n) {
    int dim = d->dim;
    two_means(kind, d, idx, count, rng, p, q);
    for (int z = 0; z < dim; z++)
        n[z] = p->v[z] - q->v[z];
    float norm = sqrtf(d->k->dot(n, n, dim));
    if (norm > 0)
        scale(n, dim, norm);
}

/* Minkowski planes pass through the midpoint of the two centroids. */
static void minkowski_split(tm_kind kind, const af_traits *t, const af_build_data *d,
                            const int32_t *idx, int64_t count, af_kiss64 *rng, void *node,
                            float *scratch) {
    int dim = d->dim;
    centroid p = {scratch, 0}, q = {scratch + dim, 0};
    float *n = scratch + 2 * dim;
    two_means_normal(kind, d, idx, count, rng, &p, &q, n);
    float a = 0.0f;
    for (int z = 0; z < dim; z++)
        a += -n[z] * (p.v[z] + q.v[z]) / 2;
    af_put_f32(node, t->off_scalar, a);
    memcpy((unsigned char *)node + t->off_vector, n, (size_t)dim * sizeof(float));
}

void af_split_euclidean(const af_traits *t, const af_build_data *d, const int32_t *idx,
                        int64_t count, af_kiss64 *rng, void *node, float *scratch) {
    minkowski_split(TM_EUCLIDEAN, t, d, idx, count, rng, node, scratch);
}

void af_split_manhattan(const af_traits *t, const af_build_data *d, const int32_t *idx,
                        int64_t count, af_kiss64 *rng, void *node, float *scratch) {
    minkowski_split(TM_MANHATTAN, t, d, idx, count, rng, node, scratch);
}

void af_split_angular(const af_traits *t, const af_build_data *d, const int32_t *idx, int64_t count,
                      af_kiss64 *rng, void *node, float *scratch) {
    int dim = d->dim;
    centroid p = {scratch, 0}, q = {scratch + dim, 0};
    float *n = scratch + 2 * dim;
    two_means_normal(TM_ANGULAR, d, idx, count, rng, &p, &q, n);
    memcpy((unsigned char *)node + t->off_vector, n, (size_t)dim * sizeof(float));
}

void af_split_dot(const af_traits *t, const af_build_data *d, const int32_t *idx, int64_t count,
                  af_kiss64 *rng, void *node, float *scratch) {
    int dim = d->dim;
    centroid p = {scratch, 0}, q = {scratch + dim, 0};
    centroid n = {scratch + 2 * dim, 0};
    two_means(TM_DOT, d, idx, count, rng, &p, &q);
    for (int z = 0; z < dim; z++)
        n.v[z] = p.v[z] - q.v[z];
    n.extra = p.extra - q.extra;
    normalize(TM_DOT, d, &n);
    af_put_f32(node, t->off_scalar, n.extra);
    memcpy((unsigned char *)node + t->off_vector, n.v, (size_t)dim * sizeof(float));
}

/* Rows among idx whose bit `bit` is set. */
static int64_t rows_with_bit(const af_build_data *d, const int32_t *idx, int64_t count,
                             uint64_t bit) {
    int64_t set = 0;
    for (int64_t i = 0; i < count; i++) {
        const uint64_t *y = af_row(d, idx[i]);
        set += (y[bit / 64] >> (63 - bit % 64)) & 1;
    }
    return set;
}

/* A bit that some rows have and others lack: a few random tries, then every bit in turn
 * (the last one when none splits). */
void af_split_hamming(const af_traits *t, const af_build_data *d, const int32_t *idx, int64_t count,
                      af_kiss64 *rng, void *node, float *scratch) {
    (void)scratch;
    uint64_t bits = (uint64_t)d->dim * 64, bit = 0;
    int found = 0;
    for (int t = 0; t < HAMMING_RANDOM_TRIES && !found; t++) {
        bit = af_kiss64_index(rng, bits);
        int64_t set = rows_with_bit(d, idx, count, bit);
        found = set > 0 && set < count;
    }
    for (uint64_t b = 0; b < bits && !found; b++) {
        bit = b;
        int64_t set = rows_with_bit(d, idx, count, bit);
        found = set > 0 && set < count;
    }
    memcpy((unsigned char *)node + t->off_vector, &bit, sizeof bit);
}
