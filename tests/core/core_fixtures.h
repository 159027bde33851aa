/* Shared test fixtures for core/: data generators, double-precision reference distances and
 * brute force, and assembling a sharded index file in memory exactly as the MPI layer does. */
#ifndef CORE_FIXTURES_H
#define CORE_FIXTURES_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "af_forest.h"
#include "af_index.h"
#include "af_metric.h"
#include "af_neighbor.h"

static inline uint64_t fx_next(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline double fx_uniform(uint64_t *s) {
    return (double)(fx_next(s) >> 11) / 9007199254740992.0;
}

static inline double fx_normal(uint64_t *s) {
    double u = fx_uniform(s) + 1e-300, v = fx_uniform(s);
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

/* n rows around `clusters` random centres (or uint64 words with clustered bits for hamming). */
static inline void *fx_data(af_metric m, int64_t n, int dim, int clusters, uint64_t seed) {
    uint64_t s = seed;
    if (m == AF_HAMMING) {
        uint64_t *centres = malloc((size_t)clusters * dim * sizeof *centres);
        uint64_t *v = malloc((size_t)n * dim * sizeof *v);
        for (int64_t i = 0; i < (int64_t)clusters * dim; i++)
            centres[i] = fx_next(&s);
        for (int64_t i = 0; i < n; i++) {
            int c = (int)(fx_next(&s) % (uint64_t)clusters);
            for (int d = 0; d < dim; d++) {
                uint64_t noise = fx_next(&s) & fx_next(&s) & fx_next(&s) & fx_next(&s);
                v[i * dim + d] = centres[c * dim + d] ^ noise;
            }
        }
        free(centres);
        return v;
    }
    float *centres = malloc((size_t)clusters * dim * sizeof *centres);
    float *v = malloc((size_t)n * dim * sizeof *v);
    for (int64_t i = 0; i < (int64_t)clusters * dim; i++)
        centres[i] = (float)(fx_normal(&s) * 4.0);
    for (int64_t i = 0; i < n; i++) {
        int c = (int)(fx_next(&s) % (uint64_t)clusters);
        for (int d = 0; d < dim; d++)
            v[i * dim + d] = centres[c * dim + d] + (float)fx_normal(&s);
    }
    free(centres);
    return v;
}

static inline size_t fx_row_bytes(af_metric m, int dim) {
    return (size_t)dim * af_metric_elem_size(m);
}

/* Reported distance in double precision. */
static inline double fx_ref_distance(af_metric m, int dim, const void *a, const void *b) {
    if (m == AF_HAMMING) {
        const uint64_t *x = a, *y = b;
        double bits = 0;
        for (int i = 0; i < dim; i++)
            bits += __builtin_popcountll(x[i] ^ y[i]);
        return bits;
    }
    const float *x = a, *y = b;
    double s = 0, xx = 0, yy = 0;
    for (int i = 0; i < dim; i++) {
        double dx = (double)x[i] - y[i];
        switch (m) {
        case AF_EUCLIDEAN:
            s += dx * dx;
            break;
        case AF_MANHATTAN:
            s += fabs(dx);
            break;
        default:
            s += (double)x[i] * y[i];
            xx += (double)x[i] * x[i];
            yy += (double)y[i] * y[i];
        }
    }
    if (m == AF_EUCLIDEAN)
        return sqrt(s);
    if (m == AF_ANGULAR)
        return xx * yy > 0 ? sqrt(fmax(0, 2 - 2 * s / sqrt(xx * yy))) : sqrt(2.0);
    return s;
}

/* Brute force in double: out[q * k ..] best first, ties by id. */
static inline void fx_brute(af_metric m, int dim, const void *ref, int64_t n, const void *q,
                            int64_t nq, int k, af_neighbor *out) {
    size_t row = fx_row_bytes(m, dim);
    int lf = af_metric_larger_first(m);
    af_neighbor *all = malloc((size_t)n * sizeof *all);
    for (int64_t i = 0; i < nq; i++) {
        for (int64_t r = 0; r < n; r++) {
            all[r].id = r;
            all[r].dist =
                fx_ref_distance(m, dim, (const char *)q + i * row, (const char *)ref + r * row);
        }
        for (int j = 0; j < k; j++) { /* selection: k is small */
            int64_t best = -1;
            for (int64_t r = j; r < n; r++)
                if (best < 0 || af_neighbor_before(&all[r], &all[best], lf))
                    best = r;
            if (best >= 0) {
                af_neighbor t = all[j];
                all[j] = all[best];
                all[best] = t;
                out[i * k + j] = all[j];
            } else {
                out[i * k + j].id = AF_NO_NEIGHBOR;
                out[i * k + j].dist = NAN;
            }
        }
    }
    free(all);
}

static inline double fx_recall(const af_neighbor *got, const af_neighbor *truth, int64_t nq,
                               int k) {
    int64_t hit = 0, total = 0;
    for (int64_t q = 0; q < nq; q++)
        for (int i = 0; i < k; i++) {
            if (truth[q * k + i].id < 0)
                continue;
            total++;
            for (int j = 0; j < k; j++)
                if (got[q * k + j].id == truth[q * k + i].id) {
                    hit++;
                    break;
                }
        }
    return total ? (double)hit / total : 1.0;
}

/* A whole index file in memory, built shard by shard as the MPI layer does: item nodes of all
 * rows, each shard's relocated tree nodes, then copies of all roots. Returns bytes (malloc). */
typedef struct fx_index {
    unsigned char *bytes;
    size_t size;
    int64_t n_nodes, n_roots;
    int64_t *roots;       /* original root ids, shard order, tree order */
    int64_t *shard_first; /* per shard: first row, first tree node, node count */
    int64_t *shard_nodes_first, *shard_nodes_count;
} fx_index;

static inline int fx_build_index_at(const af_build_params *base, const void *vectors, int64_t N,
                                    int shards, const int64_t *starts, fx_index *ix,
                                    af_error *err) {
    size_t s = af_node_size(base->metric, base->node_format, base->dim);
    size_t row = fx_row_bytes(base->metric, base->dim);
    af_shard_trees *t = calloc((size_t)shards, sizeof *t);
    memset(ix, 0, sizeof *ix);
    ix->shard_first = calloc((size_t)shards + 1, sizeof(int64_t));
    ix->shard_nodes_first = calloc((size_t)shards, sizeof(int64_t));
    ix->shard_nodes_count = calloc((size_t)shards, sizeof(int64_t));
    af_build_params p = *base;
    p.n_items_total = N;
    if (p.metric == AF_DOT)
        p.dot_max_norm = af_block_max_norm(p.metric, p.dim, vectors, N);
    int64_t next_node = N;
    for (int sh = 0; sh < shards; sh++) {
        int64_t first = starts ? starts[sh] : N * sh / shards;
        int64_t last = starts ? starts[sh + 1] : N * (sh + 1) / shards;
        ix->shard_first[sh] = first;
        p.shard = sh;
        if (af_shard_build(&p, (const char *)vectors + first * row, last - first, NULL, &t[sh],
                           err) < 0)
            return -1;
        if (af_shard_relocate(&t[sh], first, next_node, err) < 0)
            return -1;
        ix->shard_nodes_first[sh] = next_node;
        ix->shard_nodes_count[sh] = t[sh].n_nodes;
        next_node += t[sh].n_nodes;
        ix->n_roots += t[sh].n_trees;
    }
    ix->shard_first[shards] = N;
    ix->n_nodes = next_node + ix->n_roots;
    ix->size = (size_t)ix->n_nodes * s;
    ix->bytes = calloc(1, ix->size);
    ix->roots = malloc((size_t)ix->n_roots * sizeof *ix->roots);
    af_item_nodes_fill(p.metric, p.node_format, p.dim, vectors, N, NULL, ix->bytes, p.dot_max_norm);
    int64_t r = 0;
    for (int sh = 0; sh < shards; sh++) {
        memcpy(ix->bytes + (size_t)ix->shard_nodes_first[sh] * s, t[sh].nodes,
               (size_t)t[sh].n_nodes * s);
        for (int tr = 0; tr < t[sh].n_trees; tr++, r++) {
            memcpy(ix->bytes + (size_t)(next_node + r) * s, af_shard_root_node(&t[sh], tr), s);
            ix->roots[r] = t[sh].roots[tr];
        }
        af_shard_trees_free(&t[sh]);
    }
    free(t);
    return 0;
}

static inline int fx_build_index(const af_build_params *base, const void *vectors, int64_t N,
                                 int shards, fx_index *ix, af_error *err) {
    return fx_build_index_at(base, vectors, N, shards, NULL, ix, err);
}

static inline void fx_index_free(fx_index *ix) {
    free(ix->bytes);
    free(ix->roots);
    free(ix->shard_first);
    free(ix->shard_nodes_first);
    free(ix->shard_nodes_count);
}

#endif
