/* af_exact: brute-force k nearest neighbours over a block of reference rows.
 *
 * Euclidean, angular and dot: query blocks times reference blocks through sgemm give an
 * approximate ranking key (|q|^2 + |r|^2 - 2 q.r, -cos, -q.r); each query keeps its best
 * 2k + 16 by that key, whose distances are then recomputed with the search kernels, so the
 * reported distances (and their order) are exactly those of af_search. Manhattan and hamming:
 * the kernels directly, query tiles against reference blocks that stay in cache. */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "af_exact.h"
#include "af_topk_heap.h"
#include "af_traits.h"

/* sgemm tiles of 1024 x 1024 (a 4 MiB product per thread): against 256 x 2048 they ran 10-20 %
 * faster at 1 thread on both benchmark sets (784 and 128 columns), the larger query block
 * reusing each reference block's pass more. Fixed sizes: results do not depend on threads. */
#define QUERY_BLOCK 1024
#define REF_BLOCK 1024
#define QUERY_TILE 16

typedef struct exact_job {
    const af_exact_params *p;
    const af_traits *t;
    const af_kernels *k;
    const unsigned char *ref;
    size_t row;
    int64_t n_ref, ref_id_base;
    const unsigned char *skip;
    const unsigned char *queries;
    const int64_t *exclude;
    af_neighbor *out;
    double sign;
} exact_job;

static int usable(const exact_job *j, int64_t q, int64_t r) {
    return !(j->skip && j->skip[r]) && !(j->exclude && j->exclude[q] == j->ref_id_base + r);
}

static double direct_key(const exact_job *j, int64_t q, int64_t r) {
    double d = j->t->distance(j->queries + (size_t)q * j->row, 0.0f, j->ref + (size_t)r * j->row,
                              0.0f, j->p->dim, j->k);
    return j->sign * d;
}

/* ---- manhattan, hamming ---- */

static int exact_direct(const exact_job *j, int64_t n_query, int threads) {
    int k = j->p->k, failed = 0;
    int64_t rb = (int64_t)(256 * 1024 / (j->row ? j->row : 1));
    rb = rb < 64 ? 64 : rb;
#pragma omp parallel num_threads(threads)
    {
        af_keyed *store = malloc((size_t)QUERY_TILE * (size_t)k * sizeof *store);
        af_topk_heap heaps[QUERY_TILE];
        if (!store) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (int64_t q0 = 0; q0 < n_query; q0 += QUERY_TILE) {
            if (!store)
                continue;
            int64_t nq = n_query - q0 < QUERY_TILE ? n_query - q0 : QUERY_TILE;
            for (int64_t i = 0; i < nq; i++)
                af_topk_heap_reset(&heaps[i], store + i * k, k);
            for (int64_t r0 = 0; r0 < j->n_ref; r0 += rb) {
                int64_t r1 = r0 + rb < j->n_ref ? r0 + rb : j->n_ref;
                for (int64_t i = 0; i < nq; i++)
                    for (int64_t r = r0; r < r1; r++)
                        if (usable(j, q0 + i, r))
                            af_topk_heap_push(&heaps[i], direct_key(j, q0 + i, r),
                                              j->ref_id_base + r);
            }
            for (int64_t i = 0; i < nq; i++)
                af_topk_heap_drain(&heaps[i], j->out + (q0 + i) * k, k, j->sign);
        }
        free(store);
    }
    return failed ? -1 : 0;
}

/* ---- euclidean, angular, dot ---- */

static float *squared_norms(const exact_job *j, const unsigned char *rows, int64_t n, int threads) {
    float *sq = malloc((size_t)(n ? n : 1) * sizeof *sq);
    if (!sq)
        return NULL;
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int64_t i = 0; i < n; i++) {
        const float *v = (const float *)(rows + (size_t)i * j->row);
        sq[i] = j->k->dot(v, v, j->p->dim);
    }
    return sq;
}

static double gemm_key(af_metric m, float dot, float q_sq, float r_sq) {
    switch (m) {
    case AF_EUCLIDEAN:
        return (double)q_sq + (double)r_sq - 2.0 * (double)dot;
    case AF_ANGULAR: {
        double qr = (double)q_sq * (double)r_sq;
        return qr > 0 ? -(double)dot / sqrt(qr) : 0.0;
    }
    default:
        return -(double)dot;
    }
}

/* The worst key a full heap keeps (+inf while it fills): a row whose key is above it can be
 * passed over without the heap's exact (key, id) test. */
static inline double pool_bound(const af_topk_heap *h) {
    return h->size < h->cap ? INFINITY : h->e[0].key;
}

/* Offer rows [a, b) of one query's sgemm row to its pool, one at a time. */
static void pool_rows(const exact_job *j, af_metric m, const float *ci, int a, int b, int64_t q,
                      int64_t r0, float q_sq, const float *r_sq, af_topk_heap *h, double *bound) {
    for (int r = a; r < b; r++) {
        double key = gemm_key(m, ci[r], q_sq, r_sq[r]);
        if (key > *bound || !usable(j, q, r0 + r))
            continue;
        if (af_topk_heap_accepts(h, key, j->ref_id_base + r0 + r)) {
            af_topk_heap_push(h, key, j->ref_id_base + r0 + r);
            *bound = pool_bound(h);
        }
    }
}

/* Whether any row of [a, b) has a key at or below bound: a loop the compiler vectorises, with
 * the same arithmetic as gemm_key so that it never passes over a row the pool would take. */
static int any_at_most(af_metric m, const float *ci, int a, int b, float q_sq, const float *r_sq,
                       double bound) {
    int hit = 0;
    if (m == AF_EUCLIDEAN) {
        for (int r = a; r < b; r++)
            hit |= (double)q_sq + (double)r_sq[r] - 2.0 * (double)ci[r] <= bound;
    } else if (m == AF_DOT) {
        for (int r = a; r < b; r++)
            hit |= -(double)ci[r] <= bound;
    } else {
        hit = 1; /* angular: a square root per row; let pool_rows decide */
    }
    return hit;
}

/* One query's row of the sgemm tile into its pool. Once the pool is full, most rows of a large
 * reference lose to its worst key: chunks of rows are tested for that at once, and only a chunk
 * with a possible winner goes through the heap's exact (key, id) test, NA rows and the excluded
 * row. The pool is the one a row-by-row scan makes. */
static void pool_block(const exact_job *j, af_metric m, const float *ci, int nr, int64_t q,
                       int64_t r0, float q_sq, const float *r_sq, af_topk_heap *h) {
    enum { CHUNK = 64 };
    double bound = pool_bound(h);
    for (int a = 0; a < nr; a += CHUNK) {
        int b = a + CHUNK < nr ? a + CHUNK : nr;
        if (bound == INFINITY || any_at_most(m, ci, a, b, q_sq, r_sq, bound))
            pool_rows(j, m, ci, a, b, q, r0, q_sq, r_sq, h, &bound);
    }
}

/* One thread's buffers for one query block: the sgemm tile, the candidate pools, the heaps. */
typedef struct gemm_scratch {
    float *c;
    af_keyed *store, *final_store;
    af_topk_heap *heaps;
} gemm_scratch;

static int gemm_scratch_alloc(gemm_scratch *s, int pool, int k) {
    s->c = malloc((size_t)QUERY_BLOCK * REF_BLOCK * sizeof *s->c);
    s->store = malloc((size_t)QUERY_BLOCK * (size_t)pool * sizeof *s->store);
    s->heaps = malloc(QUERY_BLOCK * sizeof *s->heaps);
    s->final_store = malloc((size_t)QUERY_BLOCK * (size_t)k * sizeof *s->final_store);
    return s->c && s->store && s->heaps && s->final_store ? 0 : -1;
}

static void gemm_scratch_free(gemm_scratch *s) {
    free(s->c);
    free(s->store);
    free(s->heaps);
    free(s->final_store);
}

/* Queries [q0, q0 + nq) against every reference row, on the calling thread alone. */
static void gemm_block(const exact_job *j, int64_t q0, int nq, const float *q_sq, const float *r_sq,
                       gemm_scratch *s) {
    int k = j->p->k, dim = j->p->dim, pool = 2 * k + 16;
    af_metric m = j->p->metric;
    for (int i = 0; i < nq; i++)
        af_topk_heap_reset(&s->heaps[i], s->store + (size_t)i * pool, pool);
    for (int64_t r0 = 0; r0 < j->n_ref; r0 += REF_BLOCK) {
        int nr = (int)(j->n_ref - r0 < REF_BLOCK ? j->n_ref - r0 : REF_BLOCK);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nq, nr, dim, 1.0f,
                    (const float *)(j->queries + (size_t)q0 * j->row), dim,
                    (const float *)(j->ref + (size_t)r0 * j->row), dim, 0.0f, s->c, nr);
        for (int i = 0; i < nq; i++)
            pool_block(j, m, s->c + (size_t)i * nr, nr, q0 + i, r0, q_sq[q0 + i], r_sq + r0,
                       &s->heaps[i]);
    }
    /* Recompute the pooled candidates with the search kernels and keep the best k. */
    for (int i = 0; i < nq; i++) {
        af_topk_heap best;
        af_topk_heap_reset(&best, s->final_store + (size_t)i * k, k);
        for (int e = 0; e < s->heaps[i].size; e++) {
            int64_t r = s->heaps[i].e[e].id - j->ref_id_base;
            af_topk_heap_push(&best, direct_key(j, q0 + i, r), s->heaps[i].e[e].id);
        }
        af_topk_heap_drain(&best, j->out + (q0 + i) * k, k, j->sign);
    }
}

/* Each OpenMP thread takes whole query blocks and runs a single-threaded sgemm on them. Letting
 * OpenBLAS's own thread pool run the multiply between OpenMP regions made the two pools take
 * turns on the cores (OpenMP's idle workers spin), so two threads ran slower than one; it also
 * let `threads` be exceeded. The blocks are fixed by QUERY_BLOCK, so results do not depend on
 * the thread count. */
static int exact_gemm(const exact_job *j, int64_t n_query, int threads) {
    int k = j->p->k, pool = 2 * k + 16;
    float *r_sq = squared_norms(j, j->ref, j->n_ref, threads);
    float *q_sq = squared_norms(j, j->queries, n_query, threads);
    int failed = !r_sq || !q_sq;
    int64_t n_blocks = (n_query + QUERY_BLOCK - 1) / QUERY_BLOCK;
    int blas_threads = openblas_get_num_threads();
    openblas_set_num_threads(1);
#pragma omp parallel num_threads(threads) reduction(| : failed) if (!failed)
    {
        gemm_scratch s;
        int ok = gemm_scratch_alloc(&s, pool, k) == 0;
        failed |= !ok;
        /* Every thread reaches the loop, even one without buffers; it just takes no block. */
#pragma omp for schedule(dynamic, 1)
        for (int64_t b = 0; b < n_blocks; b++) {
            if (!ok)
                continue;
            int64_t q0 = b * QUERY_BLOCK;
            int nq = (int)(n_query - q0 < QUERY_BLOCK ? n_query - q0 : QUERY_BLOCK);
            gemm_block(j, q0, nq, q_sq, r_sq, &s);
        }
        gemm_scratch_free(&s);
    }
    openblas_set_num_threads(blas_threads);
    free(r_sq);
    free(q_sq);
    return failed ? -1 : 0;
}

int af_exact_knn(const af_exact_params *p, const void *ref, int64_t n_ref, int64_t ref_id_base,
                 const unsigned char *ref_skip, const void *queries, int64_t n_query,
                 const int64_t *exclude, af_neighbor *out, af_error *err) {
    const af_traits *t = af_traits_of(p->metric);
    if (!t)
        return af_fail(err, AF_E_INTERNAL, "exact: unknown metric %d", (int)p->metric);
    if (p->k < 1)
        return af_fail(err, AF_E_CONFIG, "exact: k must be at least 1, not %d", p->k);
    if (p->dim < 1 || n_ref < 0 || n_query < 0)
        return af_fail(err, AF_E_INTERNAL, "exact: bad shape");
    exact_job j = {p,
                   t,
                   af_kernels_best(),
                   ref,
                   (size_t)p->dim * t->elem_size,
                   n_ref,
                   ref_id_base,
                   ref_skip,
                   queries,
                   exclude,
                   out,
                   t->larger_first ? -1.0 : 1.0};
    int threads = p->threads > 0 ? p->threads : omp_get_max_threads();
    int rc = (p->metric == AF_MANHATTAN || p->metric == AF_HAMMING)
                 ? exact_direct(&j, n_query, threads)
                 : exact_gemm(&j, n_query, threads);
    if (rc < 0)
        return af_fail(err, AF_E_INTERNAL, "exact: out of memory");
    return 0;
}
