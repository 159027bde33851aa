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

/* One two-means run, resumable step by step so that several runs can take turns: each step
 * waits on its row (scattered over the shard) and on the update of the step before it, and the
 * steps of another split fill that wait. The draws, and their order within each run, are
 * Annoy's. */
typedef struct tm_run {
    tm_kind kind;
    const af_build_data *d;
    const int32_t *idx;
    af_kiss64 *rng;
    int64_t count;
    centroid p, q;
    int ic, jc;
    /* Each step's draw is made DRAW_AHEAD steps early and its idx entry fetched, and its row is
     * fetched PREFETCH_AHEAD steps early (the same draws in the same order, and no more of
     * them), so that both are on the way while the steps before it run. */
    int64_t drawn_at[DRAW_AHEAD];
    int drawn;
} tm_run;

static void tm_start(tm_run *r) {
    const af_build_data *d = r->d;
    uint64_t i = af_kiss64_index(r->rng, (uint64_t)r->count);
    uint64_t j = af_kiss64_index(r->rng, (uint64_t)r->count - 1);
    j += (j >= i);
    seed_centroid(r->kind, d, &r->p, r->idx[i]);
    seed_centroid(r->kind, d, &r->q, r->idx[j]);
    if (r->kind == TM_ANGULAR || r->kind == TM_DOT) {
        normalize(r->kind, d, &r->p);
        normalize(r->kind, d, &r->q);
    }
    refresh(r->kind, d, &r->p);
    refresh(r->kind, d, &r->q);
    r->ic = r->jc = 1;
    for (r->drawn = 0; r->drawn < DRAW_AHEAD && r->drawn < TWO_MEANS_STEPS; r->drawn++) {
        r->drawn_at[r->drawn] = (int64_t)af_kiss64_index(r->rng, (uint64_t)r->count);
        __builtin_prefetch(r->idx + r->drawn_at[r->drawn]);
    }
    for (int step = 0; step < PREFETCH_AHEAD && step < TWO_MEANS_STEPS; step++)
        prefetch_row(d, r->idx[r->drawn_at[step]]);
}

static inline void tm_step(tm_run *r, int step) {
    const af_build_data *d = r->d;
    int64_t row = r->idx[r->drawn_at[step % DRAW_AHEAD]];
    if (step + PREFETCH_AHEAD < r->drawn)
        prefetch_row(d, r->idx[r->drawn_at[(step + PREFETCH_AHEAD) % DRAW_AHEAD]]);
    if (r->drawn < TWO_MEANS_STEPS) { /* the slot of this step is free again */
        r->drawn_at[r->drawn % DRAW_AHEAD] = (int64_t)af_kiss64_index(r->rng, (uint64_t)r->count);
        __builtin_prefetch(r->idx + r->drawn_at[r->drawn % DRAW_AHEAD]);
        r->drawn++;
    }
    float di = (float)r->ic * centroid_distance(r->kind, d, &r->p, row);
    float dj = (float)r->jc * centroid_distance(r->kind, d, &r->q, row);
    int cosine = r->kind == TM_ANGULAR || r->kind == TM_DOT;
    float norm = cosine ? sqrtf(d->sqnorm[row]) : 1.0f;
    if (!(norm > 0))
        return;
    if (di < dj) {
        d->k->pull(r->p.v, af_row(d, row), norm, d->dim, r->ic++);
        refresh(r->kind, d, &r->p);
    } else if (dj < di) {
        d->k->pull(r->q.v, af_row(d, row), norm, d->dim, r->jc++);
        refresh(r->kind, d, &r->q);
    }
}

/* The plane of a split from its two centroids, into its node (n: dim floats of scratch). */
typedef void (*plane_fn)(tm_kind kind, const af_traits *t, const af_build_data *d,
                         const centroid *p, const centroid *q, float *n, void *node);

/* The normal n = p - q at unit length: what angular and the Minkowski metrics share. */
static void unit_normal(const af_build_data *d, const centroid *p, const centroid *q, float *n) {
    int dim = d->dim;
    for (int z = 0; z < dim; z++)
        n[z] = p->v[z] - q->v[z];
    float norm = sqrtf(d->k->dot(n, n, dim));
    if (norm > 0)
        scale(n, dim, norm);
}

/* Minkowski planes pass through the midpoint of the two centroids. */
static void minkowski_plane(tm_kind kind, const af_traits *t, const af_build_data *d,
                            const centroid *p, const centroid *q, float *n, void *node) {
    (void)kind;
    int dim = d->dim;
    unit_normal(d, p, q, n);
    float a = 0.0f;
    for (int z = 0; z < dim; z++)
        a += -n[z] * (p->v[z] + q->v[z]) / 2;
    af_put_f32(node, t->off_scalar, a);
    memcpy((unsigned char *)node + t->off_vector, n, (size_t)dim * sizeof(float));
}

static void angular_plane(tm_kind kind, const af_traits *t, const af_build_data *d,
                          const centroid *p, const centroid *q, float *n, void *node) {
    (void)kind;
    unit_normal(d, p, q, n);
    memcpy((unsigned char *)node + t->off_vector, n, (size_t)d->dim * sizeof(float));
}

static void dot_plane(tm_kind kind, const af_traits *t, const af_build_data *d, const centroid *p,
                      const centroid *q, float *n, void *node) {
    int dim = d->dim;
    centroid c = {n, 0};
    for (int z = 0; z < dim; z++)
        c.v[z] = p->v[z] - q->v[z];
    c.extra = p->extra - q->extra;
    normalize(kind, d, &c);
    af_put_f32(node, t->off_scalar, c.extra);
    memcpy((unsigned char *)node + t->off_vector, c.v, (size_t)dim * sizeof(float));
}

/* Up to AF_SPLITS_AT_ONCE two-means runs taking turns, then their planes. Scratch: 3 dim floats
 * per split. */
static void two_means_splits(tm_kind kind, plane_fn plane, const af_traits *t,
                             const af_build_data *d, af_split_job *jobs, int m, float *scratch) {
    int dim = d->dim;
    tm_run run[AF_SPLITS_AT_ONCE];
    for (int j = 0; j < m; j++) {
        float *mine = scratch + (size_t)3 * (size_t)dim * (size_t)j;
        run[j] = (tm_run){.kind = kind,
                          .d = d,
                          .idx = jobs[j].idx,
                          .rng = jobs[j].rng,
                          .count = jobs[j].count,
                          .p = {mine, 0},
                          .q = {mine + dim, 0}};
        tm_start(&run[j]);
    }
    for (int step = 0; step < TWO_MEANS_STEPS; step++)
        for (int j = 0; j < m; j++)
            tm_step(&run[j], step);
    for (int j = 0; j < m; j++)
        plane(kind, t, d, &run[j].p, &run[j].q, run[j].q.v + dim, jobs[j].node);
}

void af_split_euclidean(const af_traits *t, const af_build_data *d, af_split_job *jobs, int m,
                        float *scratch) {
    two_means_splits(TM_EUCLIDEAN, minkowski_plane, t, d, jobs, m, scratch);
}

void af_split_manhattan(const af_traits *t, const af_build_data *d, af_split_job *jobs, int m,
                        float *scratch) {
    two_means_splits(TM_MANHATTAN, minkowski_plane, t, d, jobs, m, scratch);
}

void af_split_angular(const af_traits *t, const af_build_data *d, af_split_job *jobs, int m,
                      float *scratch) {
    two_means_splits(TM_ANGULAR, angular_plane, t, d, jobs, m, scratch);
}

void af_split_dot(const af_traits *t, const af_build_data *d, af_split_job *jobs, int m,
                  float *scratch) {
    two_means_splits(TM_DOT, dot_plane, t, d, jobs, m, scratch);
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
static void hamming_split(const af_traits *t, const af_build_data *d, const af_split_job *job) {
    uint64_t bits = (uint64_t)d->dim * 64, bit = 0;
    int found = 0;
    for (int tries = 0; tries < HAMMING_RANDOM_TRIES && !found; tries++) {
        bit = af_kiss64_index(job->rng, bits);
        int64_t set = rows_with_bit(d, job->idx, job->count, bit);
        found = set > 0 && set < job->count;
    }
    for (uint64_t b = 0; b < bits && !found; b++) {
        bit = b;
        int64_t set = rows_with_bit(d, job->idx, job->count, bit);
        found = set > 0 && set < job->count;
    }
    memcpy((unsigned char *)job->node + t->off_vector, &bit, sizeof bit);
}

void af_split_hamming(const af_traits *t, const af_build_data *d, af_split_job *jobs, int m,
                      float *scratch) {
    (void)scratch;
    for (int j = 0; j < m; j++)
        hamming_split(t, d, &jobs[j]);
}
