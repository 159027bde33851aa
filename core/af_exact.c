/* af_exact: brute-force k nearest neighbours over a block of reference rows.
 *
 * Euclidean, angular and dot: query blocks times reference blocks give a ranking key
 * (|q|^2 + |r|^2 - 2 q.r, -cos, -q.r); each query keeps its best 2k + 16 by that key, whose
 * distances are then recomputed with the search kernels, so the reported distances (and their
 * order) are exactly those of af_search. The products come from sgemm, or, when every value is
 * a whole number 0..255 (8-bit images stored as floats), exactly from 8-bit integer products
 * (af_gemm_u8.h), 2-3 times faster. Manhattan and hamming: the kernels directly, query tiles
 * against reference blocks that stay in cache. */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "af_exact.h"
#include "af_gemm_u8.h"
#include "af_topk_heap.h"
#include "af_traits.h"

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

/* ---- euclidean, angular, dot: the ranking keys ---- */

/* The key loops are plain C that the compiler vectorises; built without -march, they get an
 * AVX-512 copy too, picked at load time (the 8-bit path runs only where AVX-512 is). The same
 * comparisons and conversions either way, so the same pools. */
#define AF_EXACT_AVX512 __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw")))
#define AF_EXACT_CLONES __attribute__((target_clones("avx512f", "default")))

/* A row of sgemm products -> keys: |q|^2 + |r|^2 - 2 q.r, -cos, -q.r (in double: the float
 * terms enter exactly, so equal products give equal keys whatever the row's place). */
AF_EXACT_CLONES static void float_keys(af_metric m, const float *dots, int nr, float q_sq,
                                       const float *r_sq, double *key) {
    if (m == AF_EUCLIDEAN) {
        for (int r = 0; r < nr; r++)
            key[r] = (double)q_sq + (double)r_sq[r] - 2.0 * (double)dots[r];
    } else if (m == AF_ANGULAR) {
        for (int r = 0; r < nr; r++) {
            double qr = (double)q_sq * (double)r_sq[r];
            key[r] = qr > 0 ? -(double)dots[r] / sqrt(qr) : 0.0;
        }
    } else {
        for (int r = 0; r < nr; r++)
            key[r] = -(double)dots[r];
    }
}

/* The same from the 8-bit path's exact integer products and norms: these keys are the true
 * squared distances (euclidean) and dot products, not roundings of them. */
AF_EXACT_AVX512 static void byte_keys(af_metric m, const int32_t *dots, int nr, int64_t q_sq,
                                      const int64_t *r_sq, double *key) {
    if (m == AF_EUCLIDEAN) {
        for (int r = 0; r < nr; r++)
            key[r] = (double)(q_sq + r_sq[r] - 2 * (int64_t)dots[r]);
    } else if (m == AF_ANGULAR) {
        for (int r = 0; r < nr; r++) {
            double qr = (double)q_sq * (double)r_sq[r];
            key[r] = qr > 0 ? -(double)dots[r] / sqrt(qr) : 0.0;
        }
    } else {
        for (int r = 0; r < nr; r++)
            key[r] = -(double)dots[r];
    }
}

/* The worst key a full heap keeps (+inf while it fills): a row whose key is above it can be
 * passed over without the heap's exact (key, id) test. */
static inline double pool_bound(const af_topk_heap *h) {
    return h->size < h->cap ? INFINITY : h->e[0].key;
}

/* One query's keys for reference rows [r0, r0 + nr) into its pool. Once the pool is full, most
 * rows of a large reference lose to its worst key: chunks of rows are tested for that at once
 * (a loop the compiler vectorises), and only a chunk with a possible winner goes row by row
 * through the heap's exact (key, id) test, NA rows and the excluded row. The pool is the one a
 * row-by-row scan makes. */
AF_EXACT_CLONES static void pool_keys(const exact_job *j, const double *key, int nr, int64_t q,
                                      int64_t r0, af_topk_heap *h) {
    enum { CHUNK = 64 };
    double bound = pool_bound(h);
    for (int a = 0; a < nr; a += CHUNK) {
        int b = a + CHUNK < nr ? a + CHUNK : nr;
        if (bound != INFINITY) {
            int hit = 0;
            for (int r = a; r < b; r++)
                hit |= key[r] <= bound;
            if (!hit)
                continue;
        }
        for (int r = a; r < b; r++) {
            if (key[r] > bound || !usable(j, q, r0 + r))
                continue;
            if (af_topk_heap_accepts(h, key[r], j->ref_id_base + r0 + r)) {
                af_topk_heap_push(h, key[r], j->ref_id_base + r0 + r);
                bound = pool_bound(h);
            }
        }
    }
}

/* How a query block's products are made: sgemm on the floats, or the 8-bit path. */
typedef struct products {
    const float *q_sq, *r_sq; /* sgemm: the rows' squared norms */
    const af_u8_refs *refs;   /* 8-bit: the packed rows (NULL: sgemm) */
    const af_u8_queries *queries;
    int query_block, ref_block;
} products;

/* sgemm tiles of 1024 x 1024 (a 4 MiB product per thread): against 256 x 2048 they ran 10-20 %
 * faster at 1 thread on both benchmark sets (784 and 128 columns), the larger query block
 * reusing each reference block's pass more. The 8-bit path's reference block is a whole number
 * of its 48-row groups. Fixed sizes: results do not depend on threads. */
enum { GEMM_QUERY_BLOCK = 1024, GEMM_REF_BLOCK = 1024 };
enum { BYTE_QUERY_BLOCK = 512, BYTE_REF_BLOCK = 20 * AF_U8_ROW_GROUP };
enum { MAX_QUERY_BLOCK = 1024, MAX_REF_BLOCK = 1024 };

/* One thread's buffers for one query block: the product tile, a row of keys, the candidate
 * pools, the heaps. */
typedef struct gemm_scratch {
    void *c; /* float (sgemm) or int32_t (8-bit) products */
    double *key;
    af_keyed *store, *final_store;
    af_topk_heap *heaps;
} gemm_scratch;

static int gemm_scratch_alloc(gemm_scratch *s, int pool, int k) {
    s->c = malloc((size_t)MAX_QUERY_BLOCK * MAX_REF_BLOCK * sizeof(float));
    s->key = malloc((size_t)MAX_REF_BLOCK * sizeof *s->key);
    s->store = malloc((size_t)MAX_QUERY_BLOCK * (size_t)pool * sizeof *s->store);
    s->heaps = malloc(MAX_QUERY_BLOCK * sizeof *s->heaps);
    s->final_store = malloc((size_t)MAX_QUERY_BLOCK * (size_t)k * sizeof *s->final_store);
    return s->c && s->key && s->store && s->heaps && s->final_store ? 0 : -1;
}

static void gemm_scratch_free(gemm_scratch *s) {
    free(s->c);
    free(s->key);
    free(s->store);
    free(s->heaps);
    free(s->final_store);
}

/* Queries [q0, q0 + nq) against reference rows [r0, r0 + nr) into their pools. */
static void pool_tile(const exact_job *j, const products *pr, int64_t q0, int nq, int64_t r0,
                      int nr, gemm_scratch *s) {
    af_metric m = j->p->metric;
    int dim = j->p->dim;
    if (pr->refs) {
        int32_t *c = s->c;
        af_u8_dots(pr->refs, r0, nr, pr->queries, q0, nq, c, nr);
        for (int i = 0; i < nq; i++) {
            byte_keys(m, c + (size_t)i * nr, nr, pr->queries->sq_norms[q0 + i],
                      pr->refs->sq_norms + r0, s->key);
            pool_keys(j, s->key, nr, q0 + i, r0, &s->heaps[i]);
        }
        return;
    }
    float *c = s->c;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nq, nr, dim, 1.0f,
                (const float *)(j->queries + (size_t)q0 * j->row), dim,
                (const float *)(j->ref + (size_t)r0 * j->row), dim, 0.0f, c, nr);
    for (int i = 0; i < nq; i++) {
        float_keys(m, c + (size_t)i * nr, nr, pr->q_sq[q0 + i], pr->r_sq + r0, s->key);
        pool_keys(j, s->key, nr, q0 + i, r0, &s->heaps[i]);
    }
}

/* Queries [q0, q0 + nq) against every reference row, on the calling thread alone. */
static void gemm_block(const exact_job *j, const products *pr, int64_t q0, int nq,
                       gemm_scratch *s) {
    int k = j->p->k, pool = 2 * k + 16;
    for (int i = 0; i < nq; i++)
        af_topk_heap_reset(&s->heaps[i], s->store + (size_t)i * pool, pool);
    for (int64_t r0 = 0; r0 < j->n_ref; r0 += pr->ref_block) {
        int nr = (int)(j->n_ref - r0 < pr->ref_block ? j->n_ref - r0 : pr->ref_block);
        pool_tile(j, pr, q0, nq, r0, nr, s);
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

/* Each OpenMP thread takes whole query blocks and scores them alone (a single-threaded sgemm).
 * Letting OpenBLAS's own thread pool run the multiply between OpenMP regions made the two pools
 * take turns on the cores (OpenMP's idle workers spin), so two threads ran slower than one; it
 * also let `threads` be exceeded. The blocks are fixed sizes, so results do not depend on the
 * thread count. */
static int run_blocks(const exact_job *j, const products *pr, int64_t n_query, int threads) {
    int k = j->p->k, pool = 2 * k + 16, failed = 0;
    int64_t n_blocks = (n_query + pr->query_block - 1) / pr->query_block;
    int blas_threads = openblas_get_num_threads();
    openblas_set_num_threads(1);
#pragma omp parallel num_threads(threads) reduction(| : failed)
    {
        gemm_scratch s;
        int ok = gemm_scratch_alloc(&s, pool, k) == 0;
        failed |= !ok;
        /* Every thread reaches the loop, even one without buffers; it just takes no block. */
#pragma omp for schedule(dynamic, 1)
        for (int64_t b = 0; b < n_blocks; b++) {
            if (!ok)
                continue;
            int64_t q0 = b * pr->query_block;
            int nq = (int)(n_query - q0 < pr->query_block ? n_query - q0 : pr->query_block);
            gemm_block(j, pr, q0, nq, &s);
        }
        gemm_scratch_free(&s);
    }
    openblas_set_num_threads(blas_threads);
    return failed ? -1 : 0;
}

static int exact_gemm(const exact_job *j, int64_t n_query, int threads) {
    float *r_sq = squared_norms(j, j->ref, j->n_ref, threads);
    float *q_sq = squared_norms(j, j->queries, n_query, threads);
    products pr = {q_sq, r_sq, NULL, NULL, GEMM_QUERY_BLOCK, GEMM_REF_BLOCK};
    int rc = r_sq && q_sq ? run_blocks(j, &pr, n_query, threads) : -1;
    free(r_sq);
    free(q_sq);
    return rc;
}

/* Whether the 8-bit path can score this job: the instructions are there, and the reference rows
 * in use and the queries hold only whole numbers 0..255. */
static int bytes_apply(const exact_job *j, int64_t n_query, int threads) {
    return af_u8_available() &&
           af_u8_rows_fit((const float *)j->ref, j->n_ref, j->p->dim, j->skip, threads) &&
           af_u8_rows_fit((const float *)j->queries, n_query, j->p->dim, NULL, threads);
}

static int exact_bytes(const exact_job *j, int64_t n_query, int threads) {
    af_u8_refs refs;
    af_u8_queries queries;
    int rc = -1;
    if (af_u8_refs_pack(&refs, (const float *)j->ref, j->n_ref, j->p->dim, j->skip, threads) == 0) {
        if (af_u8_queries_pack(&queries, (const float *)j->queries, n_query, j->p->dim, threads) ==
            0) {
            products pr = {NULL, NULL, &refs, &queries, BYTE_QUERY_BLOCK, BYTE_REF_BLOCK};
            rc = run_blocks(j, &pr, n_query, threads);
            af_u8_queries_free(&queries);
        }
        af_u8_refs_free(&refs);
    }
    return rc;
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
    int rc;
    if (p->metric == AF_MANHATTAN || p->metric == AF_HAMMING)
        rc = exact_direct(&j, n_query, threads);
    else if (bytes_apply(&j, n_query, threads))
        rc = exact_bytes(&j, n_query, threads);
    else
        rc = exact_gemm(&j, n_query, threads);
    if (rc < 0)
        return af_fail(err, AF_E_INTERNAL, "exact: out of memory");
    return 0;
}
