/* Search and exact kNN: recall against brute force, exactness at full budget, missing entries,
 * excluded ids, sharded views, loader errors, damaged files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <omp.h>

#include <cmocka.h>

#include "af_compact.h"
#include "af_exact.h"
#include "af_traits.h"
#include "core_fixtures.h"

static af_build_params params(af_metric m, int dim, int trees) {
    af_build_params p = {0};
    p.metric = m;
    p.dim = dim;
    p.n_trees = trees;
    p.seed = 7;
    p.threads = 2;
    return p;
}

static int dim_of(af_metric m) {
    return m == AF_HAMMING ? 4 : 24;
}

/* Exact agrees with the double-precision brute force (allowing float rounding among near ties). */
static void exact_matches_reference(void **state) {
    (void)state;
    for (int m = 0; m < AF_METRIC_COUNT; m++) {
        int dim = dim_of((af_metric)m), k = 10;
        int64_t n = 1500, nq = 40;
        void *ref = fx_data((af_metric)m, n, dim, 8, 100 + m);
        void *q = fx_data((af_metric)m, nq, dim, 8, 200 + m);
        af_neighbor *got = malloc((size_t)nq * k * sizeof *got),
                    *want = malloc((size_t)nq * k * sizeof *want);
        af_exact_params ep = {(af_metric)m, dim, k, 2};
        af_error err = {0};
        assert_int_equal(af_exact_knn(&ep, ref, n, 0, NULL, q, nq, NULL, got, &err), 0);
        fx_brute((af_metric)m, dim, ref, n, q, nq, k, want);
        for (int64_t i = 0; i < nq * k; i++) {
            double tol = 1e-4 * (1 + fabs(want[i].dist));
            if (fabs(got[i].dist - want[i].dist) > tol)
                fail_msg("%s: query %lld rank %lld: %g vs %g", af_metric_name((af_metric)m),
                         (long long)(i / k), (long long)(i % k), got[i].dist, want[i].dist);
            if (got[i].id != want[i].id && fabs(got[i].dist - want[i].dist) > tol / 10 &&
                m == AF_HAMMING)
                fail_msg("hamming: ids differ at %lld", (long long)i);
            /* reported distances are exactly the search kernels' */
            size_t row = fx_row_bytes((af_metric)m, dim);
            assert_true(got[i].dist == af_distance((af_metric)m, dim, (char *)q + (i / k) * row,
                                                   (char *)ref + got[i].id * row));
        }
        free(ref);
        free(q);
        free(got);
        free(want);
    }
}

static void exact_blocks_skip_exclude_and_ties(void **state) {
    (void)state;
    /* 5 rows, two pairs of duplicates: ties go to the smaller id */
    float ref[5 * 2] = {0, 0, 1, 0, 1, 0, 5, 5, 0, 0};
    float q[2 * 2] = {0.1f, 0, 1, 0};
    unsigned char skip[5] = {0, 0, 0, 1, 0};
    int64_t exclude[2] = {-1, 101};
    af_neighbor out[2 * 7];
    af_exact_params ep = {AF_EUCLIDEAN, 2, 7, 1};
    af_error err = {0};
    assert_int_equal(af_exact_knn(&ep, ref, 5, 100, skip, q, 2, exclude, out, &err), 0);
    int64_t want0[4] = {100, 104, 101, 102};
    for (int i = 0; i < 4; i++)
        assert_int_equal(out[i].id, want0[i]);
    for (int i = 4; i < 7; i++) { /* 4 usable rows only */
        assert_int_equal(out[i].id, AF_NO_NEIGHBOR);
        assert_true(isnan(out[i].dist));
    }
    assert_int_equal(out[7].id, 102); /* 101 excluded, 102 the remaining exact match */
    assert_true(out[7].dist == 0.0);
    ep.k = 0;
    assert_int_equal(af_exact_knn(&ep, ref, 5, 0, NULL, q, 2, NULL, out, &err), -1);
    assert_non_null(strstr(err.msg, "k must"));
}

/* The brute force of exact_on_byte_rows: rows marked in skip and the excluded id left out. */
static void brute_with_holes(af_metric m, int dim, const float *ref, int64_t n,
                             const unsigned char *skip, const float *q, int64_t nq,
                             const int64_t *exclude, int k, af_neighbor *out) {
    int lf = af_metric_larger_first(m);
    for (int64_t i = 0; i < nq; i++) {
        af_neighbor *o = out + i * k;
        int have = 0;
        for (int64_t r = 0; r < n; r++) {
            if (skip[r] || exclude[i] == r)
                continue;
            af_neighbor c = {r, fx_ref_distance(m, dim, q + i * dim, ref + r * dim)};
            int at = have < k ? have++ : k;
            while (at > 0 && af_neighbor_before(&c, &o[at - 1], lf)) {
                if (at < k)
                    o[at] = o[at - 1];
                at--;
            }
            if (at < k)
                o[at] = c;
        }
    }
}

/* 8-bit data stored as floats (what images are) take exact k-NN's integer path, and a value off
 * the byte grid takes it back to sgemm: both answer as the double-precision brute force, with the
 * many ties of few distinct values settled by id, NA rows (NaN here) and excluded ids left out.
 * Shapes that are not whole 48-row or 8-query groups, at 1 and 3 threads. */
static void exact_on_byte_rows(void **state) {
    (void)state;
    enum { dim = 37, k = 10 };
    int64_t n = 1100, nq = 21;
    float *ref = malloc((size_t)n * dim * sizeof *ref), *q = malloc((size_t)nq * dim * sizeof *q);
    unsigned char *skip = calloc((size_t)n, 1);
    int64_t exclude[21];
    uint64_t s = 9;
    for (int64_t i = 0; i < n * dim; i++)
        ref[i] = (float)(fx_next(&s) % 4);
    for (int64_t i = 0; i < nq * dim; i++)
        q[i] = (float)(fx_next(&s) % 4);
    for (int64_t r = 5; r < n; r += 7)
        skip[r] = 1;
    ref[5 * dim + 3] = NAN; /* an NA row does not stop the 8-bit path */
    for (int64_t i = 0; i < nq; i++)
        exclude[i] = i % 2 ? -1 : i * 3;
    af_neighbor *got = malloc((size_t)nq * k * sizeof *got), *want = malloc(sizeof *want * nq * k);
    static const af_metric metrics[] = {AF_EUCLIDEAN, AF_DOT, AF_ANGULAR};
    for (int off_grid = 0; off_grid < 2; off_grid++) {
        q[dim + 4] = off_grid ? 2.5f : 2.0f;
        for (size_t mi = 0; mi < sizeof metrics / sizeof metrics[0]; mi++) {
            af_metric m = metrics[mi];
            brute_with_holes(m, dim, ref, n, skip, q, nq, exclude, k, want);
            for (int threads = 1; threads <= 3; threads += 2) {
                af_exact_params ep = {m, dim, k, threads};
                af_error err = {0};
                assert_int_equal(af_exact_knn(&ep, ref, n, 0, skip, q, nq, exclude, got, &err), 0);
                for (int64_t i = 0; i < nq * k; i++) {
                    double tol = 1e-5 * (1 + fabs(want[i].dist));
                    /* angular's float cosines may order true ties either way */
                    if ((m != AF_ANGULAR && got[i].id != want[i].id) ||
                        fabs(got[i].dist - want[i].dist) > tol)
                        fail_msg("%s, %s, %d threads: query %lld rank %lld: %lld (%g), not %lld "
                                 "(%g)",
                                 af_metric_name(m), off_grid ? "sgemm" : "8-bit", threads,
                                 (long long)(i / k), (long long)(i % k), (long long)got[i].id,
                                 got[i].dist, (long long)want[i].id, want[i].dist);
                }
            }
        }
    }
    free(ref);
    free(q);
    free(skip);
    free(got);
    free(want);
}

static double search_recall(const af_index_view *v, const void *q, int64_t nq, int k,
                            int64_t search_k, const af_neighbor *truth) {
    af_neighbor *got = malloc((size_t)nq * k * sizeof *got);
    af_search_params sp = {k, search_k, 0};
    af_error err = {0};
    if (af_search(v, q, nq, &sp, NULL, 2, got, &err) < 0)
        fail_msg("%s", err.msg);
    double r = fx_recall(got, truth, nq, k);
    free(got);
    return r;
}

/* Recall rises with search_k and is near perfect at a generous budget, for every metric,
 * with the index in one shard or three. */
static void recall_against_exact(void **state) {
    (void)state;
    for (int m = 0; m < AF_METRIC_COUNT; m++) {
        int dim = dim_of((af_metric)m), k = 10;
        int64_t n = 4000, nq = 100;
        void *ref = fx_data((af_metric)m, n, dim, 20, 300 + m);
        void *q = fx_data((af_metric)m, nq, dim, 20, 300 + m); /* same centres */
        af_neighbor *truth = malloc((size_t)nq * k * sizeof *truth);
        af_exact_params ep = {(af_metric)m, dim, k, 2};
        af_error err = {0};
        assert_int_equal(af_exact_knn(&ep, ref, n, 0, NULL, q, nq, NULL, truth, &err), 0);
        for (int shards = 1; shards <= 3; shards += 2) {
            fx_index ix;
            af_build_params p = params((af_metric)m, dim, 10);
            assert_int_equal(fx_build_index(&p, ref, n, shards, &ix, &err), 0);
            af_index_view v;
            assert_int_equal(af_index_load_annoy(&v, (af_metric)m, AF_NODES_NARROW, dim, ix.bytes,
                                                 ix.size, &err),
                             0);
            double low = search_recall(&v, q, nq, k, 100, truth);
            double mid = search_recall(&v, q, nq, k, 1000, truth);
            double high = search_recall(&v, q, nq, k, 4000, truth);
            printf("%-9s shards %d: recall %.3f / %.3f / %.3f at search_k 100 / 1000 / 4000\n",
                   af_metric_name((af_metric)m), shards, low, mid, high);
            assert_true(low <= mid + 0.02 && mid <= high + 0.02);
            assert_true(high > 0.95);
            af_index_view_free(&v);
            fx_index_free(&ix);
        }
        free(ref);
        free(q);
        free(truth);
    }
}

/* The wide format (int64 node ids) answers exactly like the narrow one: with the same leaf size
 * the trees make the same splits, so every query gets the same ids and distances, in 1 and 3
 * shards, for every metric. Its nodes are laid out as annoylib.h's with S = int64_t. */
static void wide_answers_like_narrow(void **state) {
    (void)state;
    for (int m = 0; m < AF_METRIC_COUNT; m++) {
        int dim = dim_of((af_metric)m), k = 10;
        int64_t n = 3000, nq = 60;
        void *ref = fx_data((af_metric)m, n, dim, 20, 500 + m);
        void *q = fx_data((af_metric)m, nq, dim, 20, 500 + m);
        /* a leaf size both formats hold (wide nodes fit fewer ids) */
        int leaf = af_leaf_capacity((af_metric)m, AF_NODES_WIDE, dim);
        assert_true(leaf < af_leaf_capacity((af_metric)m, AF_NODES_NARROW, dim));
        for (int shards = 1; shards <= 3; shards += 2) {
            af_neighbor *got[2];
            size_t node_size[2];
            for (int f = 0; f < 2; f++) {
                fx_index ix;
                af_error err = {0};
                af_build_params p = params((af_metric)m, dim, 8);
                p.node_format = (af_node_format)f;
                p.leaf_size = leaf;
                assert_int_equal(fx_build_index(&p, ref, n, shards, &ix, &err), 0);
                af_index_view v;
                assert_int_equal(af_index_load_annoy(&v, (af_metric)m, (af_node_format)f, dim,
                                                     ix.bytes, ix.size, &err),
                                 0);
                node_size[f] = v.node_size;
                got[f] = malloc((size_t)nq * k * sizeof *got[f]);
                af_search_params sp = {k, 600, 0};
                assert_int_equal(af_search(&v, q, nq, &sp, NULL, 2, got[f], &err), 0);
                af_index_view_free(&v);
                fx_index_free(&ix);
            }
            /* annoylib.h, S = int64_t: n_descendants and both children 8 bytes each */
            assert_int_equal(node_size[1] - node_size[0], m == AF_EUCLIDEAN || m == AF_MANHATTAN
                                                              ? 16
                                                              : 12 - 4 * (m == AF_HAMMING));
            for (int64_t i = 0; i < nq * k; i++)
                if (got[0][i].id != got[1][i].id || got[0][i].dist != got[1][i].dist)
                    fail_msg("%s, %d shards, query %lld rank %lld: narrow %lld (%g), wide %lld "
                             "(%g)",
                             af_metric_name((af_metric)m), shards, (long long)(i / k),
                             (long long)(i % k), (long long)got[0][i].id, got[0][i].dist,
                             (long long)got[1][i].id, got[1][i].dist);
            free(got[0]);
            free(got[1]);
        }
        free(ref);
        free(q);
    }
}

static void search_with(const af_index_view *v, const void *q, int64_t nq, int k, int64_t sk,
                        int64_t rerank, const int64_t *exclude, int threads, af_neighbor *out) {
    af_search_params sp = {k, sk, rerank};
    af_error err = {0};
    if (af_search(v, q, nq, &sp, exclude, threads, out, &err) != 0)
        fail_msg("%s", err.msg);
}

/* rerank: the compact copy's descent (8-bit planes), then a first pass over 8-bit codes keeps
 * the R nearest candidates for exact distances.
 *   - with a budget covering every row and R at least the rows: exactly the answers without it;
 *   - small R: the same answers for 1 and 3 threads, every distance the exact one, no excluded
 *     or NA row, and at least 0.98 of the answers of the search without it;
 *   - 8-bit data (integers 0..255, as pixels): R = k gives the same answers as any larger R,
 *     since the codes are the values themselves;
 *   - other metrics: refused, naming rerank. */
static void rerank_first_pass(void **state) {
    (void)state;
    const af_metric metrics[2] = {AF_EUCLIDEAN, AF_MANHATTAN};
    for (int mi = 0; mi < 2; mi++) {
        af_metric m = metrics[mi];
        int dim = 24, k = 10;
        int64_t n = 3000, nq = 80, sk = 800;
        float *ref = fx_data(m, n, dim, 20, 700 + mi), *q = fx_data(m, nq, dim, 20, 700 + mi);
        for (int pass = 0; pass < 2; pass++) {
            if (pass == 1) /* 8-bit data */
                for (int64_t i = 0; i < n * dim; i++)
                    ref[i] = (float)((int)fabsf(ref[i] * 20) % 256), q[i % (nq * dim)] = ref[i];
            unsigned char *skip = calloc((size_t)n, 1);
            for (int64_t i = 0; i < n; i += 13)
                skip[i] = 1;
            af_build_params p = params(m, dim, 8);
            p.n_items_total = n;
            af_shard_trees t;
            af_error err = {0};
            assert_int_equal(af_shard_build(&p, ref, n, skip, &t, &err), 0);
            size_t s = t.node_size;
            unsigned char *file = calloc((size_t)(n + t.n_nodes), s);
            af_item_nodes_fill(m, AF_NODES_NARROW, dim, ref, n, skip, file, 0);
            memcpy(file + (size_t)n * s, t.nodes, (size_t)t.n_nodes * s);
            af_index_view v;
            assert_int_equal(af_index_view_init(&v, m, AF_NODES_NARROW, dim, n, &err), 0);
            assert_int_equal(af_index_view_set_items(&v, 0, n, file, &err), 0);
            assert_int_equal(af_index_view_add_trees(&v, n, t.n_nodes, file + (size_t)n * s, &err),
                             0);
            assert_int_equal(af_index_view_set_roots(&v, t.roots, t.n_trees, &err), 0);
            int64_t *exclude = malloc((size_t)nq * sizeof *exclude);
            for (int64_t i = 0; i < nq; i++)
                exclude[i] = i % 3 ? -1 : i * 11;
            size_t bytes = (size_t)nq * k * sizeof(af_neighbor);
            af_neighbor *plain = malloc(bytes), *all = malloc(bytes), *r1 = malloc(bytes),
                        *r3 = malloc(bytes);
            int64_t every = n * p.n_trees;
            search_with(&v, q, nq, k, every, 0, exclude, 2, plain);
            search_with(&v, q, nq, k, every, 1000000, exclude, 2, all);
            assert_memory_equal(plain, all, bytes);
            search_with(&v, q, nq, k, sk, 0, exclude, 2, plain);
            search_with(&v, q, nq, k, sk, 1000000, exclude, 2, all);
            int64_t small = pass == 1 ? k : 30;
            search_with(&v, q, nq, k, sk, small, exclude, 1, r1);
            search_with(&v, q, nq, k, sk, small, exclude, 3, r3);
            assert_memory_equal(r1, r3, bytes);
            if (pass == 1)
                assert_memory_equal(all, r1, bytes);
            int64_t same = 0;
            for (int64_t i = 0; i < nq * k; i++) {
                int64_t id = r1[i].id;
                assert_true(id >= 0 && !skip[id] && id != exclude[i / k]);
                assert_true(r1[i].dist == af_distance(m, dim, q + (i / k) * dim, ref + id * dim));
                for (int j = 0; j < k; j++)
                    same += plain[(i / k) * k + j].id == id;
            }
            double overlap = (double)same / (double)(nq * k);
            printf("%s%s: rerank %lld keeps %.3f of the answers\n", af_metric_name(m),
                   pass ? " (8-bit data)" : "", (long long)small, overlap);
            assert_true(overlap >= 0.98);
            free(plain), free(all), free(r1), free(r3), free(exclude), free(skip), free(file);
            af_index_view_free(&v);
            af_shard_trees_free(&t);
        }
        free(ref);
        free(q);
    }
    /* angular has no 8-bit pass */
    fx_index ix;
    af_error err = {0};
    float *ref = fx_data(AF_ANGULAR, 200, 8, 4, 9);
    af_build_params p = params(AF_ANGULAR, 8, 2);
    assert_int_equal(fx_build_index(&p, ref, 200, 1, &ix, &err), 0);
    af_index_view v;
    assert_int_equal(
        af_index_load_annoy(&v, AF_ANGULAR, AF_NODES_NARROW, 8, ix.bytes, ix.size, &err), 0);
    af_neighbor out[10];
    af_search_params sp = {10, -1, 20};
    assert_int_equal(af_search(&v, ref, 1, &sp, NULL, 1, out, &err), -1);
    assert_non_null(strstr(err.msg, "rerank"));
    af_index_view_free(&v);
    fx_index_free(&ix);
    free(ref);
}

/* One shard's index over `ref` with the rows `skip` marks left out, in node format f. */
typedef struct holed_index {
    af_shard_trees t;
    unsigned char *file;
    af_index_view v;
} holed_index;

static void holed_index_build(af_metric m, af_node_format f, int dim, const void *ref, int64_t n,
                              const unsigned char *skip, holed_index *h) {
    af_build_params p = params(m, dim, 6);
    p.node_format = f;
    p.n_items_total = n;
    if (m == AF_DOT)
        p.dot_max_norm = af_block_max_norm(m, dim, ref, n);
    af_error err = {0};
    assert_int_equal(af_shard_build(&p, ref, n, skip, &h->t, &err), 0);
    size_t s = h->t.node_size;
    h->file = calloc((size_t)(n + h->t.n_nodes), s);
    af_item_nodes_fill(m, f, dim, ref, n, skip, h->file, p.dot_max_norm);
    memcpy(h->file + (size_t)n * s, h->t.nodes, (size_t)h->t.n_nodes * s);
    assert_int_equal(af_index_view_init(&h->v, m, f, dim, n, &err), 0);
    assert_int_equal(af_index_view_set_items(&h->v, 0, n, h->file, &err), 0);
    assert_int_equal(af_index_view_add_trees(&h->v, n, h->t.n_nodes, h->file + (size_t)n * s, &err),
                     0);
    assert_int_equal(af_index_view_set_roots(&h->v, h->t.roots, h->t.n_trees, &err), 0);
}

static void holed_index_free(holed_index *h) {
    af_index_view_free(&h->v);
    af_shard_trees_free(&h->t);
    free(h->file);
}

/* Each query in a call of its own, through one searcher (its rerank copy built once). */
static void one_at_a_time(const af_index_view *v, const void *q, int64_t nq, size_t row, int k,
                          int64_t sk, int64_t rerank, const int64_t *exclude, af_neighbor *out) {
    af_error err = {0};
    af_searcher *s = af_searcher_create(v, 1, &err);
    assert_non_null(s);
    af_search_params sp = {k, sk, rerank};
    for (int64_t i = 0; i < nq; i++)
        if (af_searcher_run(s, (const char *)q + (size_t)i * row, 1, &sp, exclude + i, out + i * k,
                            &err) != 0)
            fail_msg("%s", err.msg);
    af_searcher_free(s);
}

/* A run of 32 queries or more is ranked in blocks (af_search.c: queries ordered by their path
 * down the first tree, pairs sorted by tile of rows or of codes, distances four pairs per
 * kernel call; with rerank, the 8-bit pass and its ties at the limit per query). Every answer
 * equals the one-query-at-a-time search to the bit: every metric, both node formats, rows left
 * out of the index, excluded ids, k beyond the candidates, rerank (euclidean, manhattan), 1 and
 * 3 threads. Short rows hold coarse values (many equal distances, in floats and in codes); long
 * rows make several blocks per run, many candidates several rounds per block. */
static void blocks_answer_like_one_at_a_time(void **state) {
    (void)state;
    for (int m = 0; m < AF_METRIC_COUNT; m++)
        for (int wide_rows = 0; wide_rows < 2; wide_rows++) {
            /* long rows: 4000 bytes, 262 queries per block (a leaf holds up to 1000 items) */
            int dim = wide_rows ? (m == AF_HAMMING ? 500 : 1000) : dim_of((af_metric)m);
            int64_t n = wide_rows ? 3000 : 2500, nq = wide_rows ? 300 : 120;
            size_t row = fx_row_bytes((af_metric)m, dim);
            void *ref = fx_data((af_metric)m, n, dim, 12, 900 + m);
            void *q = fx_data((af_metric)m, nq, dim, 12, 900 + m);
            if (!wide_rows && m != AF_HAMMING)
                for (int64_t i = 0; i < n * dim; i++) {
                    float *r = ref, *x = q;
                    r[i] = roundf(r[i] * 2);
                    if (i < nq * dim)
                        x[i] = roundf(x[i] * 2);
                }
            unsigned char *skip = calloc((size_t)n, 1);
            for (int64_t i = 5; i < n; i += 17)
                skip[i] = 1;
            int64_t *exclude = malloc((size_t)nq * sizeof *exclude);
            for (int64_t i = 0; i < nq; i++)
                exclude[i] = i % 4 ? -1 : (i * 7) % n;
            for (int f = 0; f < 2 - wide_rows; f++) { /* long rows: narrow nodes only */
                holed_index h;
                holed_index_build((af_metric)m, (af_node_format)f, dim, ref, n, skip, &h);
                const int ks[2] = {10, 40};
                /* many candidates; fewer than k */
                const int64_t budgets[2] = {wide_rows ? 600 : 2000, 12};
                int reranks = m == AF_EUCLIDEAN || m == AF_MANHATTAN ? 2 : 1;
                for (int c = 0; c < 2 * reranks; c++) {
                    int k = ks[c % 2];
                    int64_t rerank = c < 2 ? 0 : 7 + 20 * (c % 2);
                    size_t bytes = (size_t)nq * k * sizeof(af_neighbor);
                    af_neighbor *one = malloc(bytes), *t1 = malloc(bytes), *t3 = malloc(bytes);
                    one_at_a_time(&h.v, q, nq, row, k, budgets[c % 2], rerank, exclude, one);
                    search_with(&h.v, q, nq, k, budgets[c % 2], rerank, exclude, 1, t1);
                    search_with(&h.v, q, nq, k, budgets[c % 2], rerank, exclude, 3, t3);
                    for (int64_t i = 0; i < nq * k; i++)
                        if (memcmp(&one[i], &t1[i], sizeof one[i]) ||
                            memcmp(&one[i], &t3[i], sizeof one[i]))
                            fail_msg("%s dim %d %s k %d rerank %lld: query %lld rank %lld: alone "
                                     "%lld (%g), blocks %lld (%g) / %lld (%g)",
                                     af_metric_name((af_metric)m), dim, f ? "wide" : "narrow", k,
                                     (long long)rerank, (long long)(i / k), (long long)(i % k),
                                     (long long)one[i].id, one[i].dist, (long long)t1[i].id,
                                     t1[i].dist, (long long)t3[i].id, t3[i].dist);
                    /* the answers are real: found, not excluded, not left out */
                    int64_t found = 0;
                    for (int64_t i = 0; i < nq * k; i++)
                        if (one[i].id >= 0) {
                            found++;
                            assert_true(!skip[one[i].id] && one[i].id != exclude[i / k]);
                        }
                    if (c == 0)
                        assert_int_equal(found, nq * k);
                    else if (c == 1 && !wide_rows) /* some lists run short of k */
                        assert_true(found >= nq && found < nq * k);
                    free(one), free(t1), free(t3);
                }
                holed_index_free(&h);
            }
            free(ref), free(q), free(skip), free(exclude);
        }
}

/* Walk the file's tree from `id` and the compact copy's from `ref` together: same shape, the
 * 8-bit planes within half a step of the float ones, the same offsets, leaves holding the same
 * items (by slot) in the same order, and every split followed by its first child (depth first).
 * Returns the leaves' items met, for the slot order check. */
static int64_t same_tree(const af_index_view *v, const af_compact *cf, int64_t id,
                         af_compact_ref ref, int64_t *order, int64_t n_order) {
    const af_traits *t = af_traits_get(v->metric, v->format);
    const unsigned char *node = af_index_node(v, id);
    assert_non_null(node);
    int64_t nd = af_node_ndesc(t, node);
    if (nd <= v->leaf_capacity) {
        assert_true(af_compact_is_leaf(ref));
        const af_compact_leaf *leaf = af_compact_at(cf, ref);
        int alone = nd == 1 && id < v->n_items;
        assert_int_equal(leaf->n_slot, alone ? 1 : nd);
        assert_int_equal(leaf->met, leaf->n_slot);
        for (int64_t c = 0; c < leaf->n_slot; c++) {
            int64_t item = alone ? id : af_child_id(t, node, c);
            assert_int_equal(cf->id_of[leaf->slot[c]], item);
            order[n_order++] = leaf->slot[c];
        }
        return n_order;
    }
    assert_false(af_compact_is_leaf(ref));
    const af_compact_split *split = af_compact_at(cf, ref);
    const float *w = (const float *)(node + t->off_vector);
    for (int j = 0; j < v->dim; j++)
        assert_true(fabsf(split->plane[j] * split->scale - w[j]) <= split->scale * 0.5001f);
    assert_true(split->offset == af_get_f32(node, t->off_scalar));
    size_t after = (size_t)((const unsigned char *)split - cf->arena) +
                   ((sizeof *split + (size_t)v->dim + 7) & ~(size_t)7);
    assert_int_equal((size_t)(split->child[0] >> 1) * 8, after);
    for (int c = 0; c < 2; c++)
        n_order = same_tree(v, cf, af_child_id(t, node, c), split->child[c], order, n_order);
    return n_order;
}

/* The compact copy holds the file's trees (two shards' worth, items of both in one view): see
 * same_tree; slots number the items in the order the first tree's leaves meet them, id_of is a
 * permutation of the view's items, the codes sit by slot, and 1 or 3 threads build the same
 * bytes. */
static void compact_copy_is_faithful(void **state) {
    (void)state;
    int dim = 12;
    int64_t n = 700;
    float *ref = fx_data(AF_EUCLIDEAN, n, dim, 6, 31);
    af_build_params p = params(AF_EUCLIDEAN, dim, 3);
    fx_index ix;
    af_error err = {0};
    assert_int_equal(fx_build_index(&p, ref, n, 2, &ix, &err), 0);
    af_index_view v;
    assert_int_equal(
        af_index_load_annoy(&v, AF_EUCLIDEAN, AF_NODES_NARROW, dim, ix.bytes, ix.size, &err), 0);
    af_compact cf;
    assert_int_equal(af_compact_build(&cf, &v, &err), 0);
    assert_int_equal(cf.n_slots, n);
    assert_int_equal(cf.n_roots, v.n_roots);
    unsigned char *hit = calloc((size_t)n, 1);
    for (int64_t i = 0; i < n; i++) {
        assert_true(cf.id_of[i] >= 0 && cf.id_of[i] < n && !hit[cf.id_of[i]]);
        hit[cf.id_of[i]] = 1;
        uint8_t want[12];
        af_codes_encode(&cf.codes, ref + cf.id_of[i] * dim, want);
        assert_memory_equal(af_codes_of(&cf.codes, i), want, (size_t)dim);
    }
    int64_t *order = malloc((size_t)n * sizeof *order);
    for (int64_t r = 0; r < v.n_roots; r++) {
        int64_t met = same_tree(&v, &cf, v.roots[r], cf.root_refs[r], order, 0);
        assert_true(met <= n);
        if (r == 0) /* the first tree hands out the slots in its leaf order */
            for (int64_t i = 0; i < met; i++)
                assert_int_equal(order[i], i);
    }
    /* the same copy, byte for byte, whatever the number of threads that build it */
    for (int threads = 1; threads <= 3; threads += 2) {
        af_compact again;
        omp_set_num_threads(threads);
        assert_int_equal(af_compact_build(&again, &v, &err), 0);
        assert_int_equal(again.arena_size, cf.arena_size);
        assert_memory_equal(again.arena, cf.arena, cf.arena_size);
        assert_memory_equal(again.root_refs, cf.root_refs,
                            (size_t)v.n_roots * sizeof *cf.root_refs);
        assert_memory_equal(again.id_of, cf.id_of, (size_t)n * sizeof *cf.id_of);
        af_compact_free(&again);
    }
    af_compact_free(&cf);
    free(order);
    free(hit);
    af_index_view_free(&v);
    fx_index_free(&ix);
    free(ref);
}

/* With a budget covering every row, search returns exactly what exact does. Also: missing
 * entries when k > rows, excluded ids, and the same answers for 1 and 2 threads. */
static void full_budget_is_exact(void **state) {
    (void)state;
    for (int m = 0; m < AF_METRIC_COUNT; m++) {
        int dim = dim_of((af_metric)m), k = 8;
        int64_t n = 700, nq = 30;
        void *ref = fx_data((af_metric)m, n, dim, 5, 400 + m);
        void *q = fx_data((af_metric)m, nq, dim, 5, 500 + m);
        af_neighbor *a = malloc((size_t)nq * k * sizeof *a),
                    *b = malloc((size_t)nq * k * sizeof *b);
        af_error err = {0};
        fx_index ix;
        af_build_params p = params((af_metric)m, dim, 3);
        assert_int_equal(fx_build_index(&p, ref, n, 2, &ix, &err), 0);
        af_index_view v;
        assert_int_equal(
            af_index_load_annoy(&v, (af_metric)m, AF_NODES_NARROW, dim, ix.bytes, ix.size, &err),
            0);
        af_search_params sp = {k, n * 3, 0};
        int64_t *exclude = malloc((size_t)nq * sizeof *exclude);
        for (int64_t i = 0; i < nq; i++)
            exclude[i] = i % 2 ? -1 : i * 7;
        assert_int_equal(af_search(&v, q, nq, &sp, exclude, 2, a, &err), 0);
        af_exact_params ep = {(af_metric)m, dim, k, 2};
        assert_int_equal(af_exact_knn(&ep, ref, n, 0, NULL, q, nq, exclude, b, &err), 0);
        for (int64_t i = 0; i < nq * k; i++) {
            assert_int_equal(a[i].id, b[i].id);
            assert_true(a[i].dist == b[i].dist);
            assert_true(a[i].id != exclude[i / k]);
        }
        af_search_params one = {k, 200, 0};
        assert_int_equal(af_search(&v, q, nq, &one, NULL, 1, a, &err), 0);
        assert_int_equal(af_search(&v, q, nq, &one, NULL, 2, b, &err), 0);
        assert_memory_equal(a, b, (size_t)nq * k * sizeof *a);
        af_index_view_free(&v);
        fx_index_free(&ix);
        free(exclude);
        free(ref);
        free(q);
        free(a);
        free(b);
    }
}

static void k_beyond_rows_and_tiny_indexes(void **state) {
    (void)state;
    float ref[3 * 2] = {0, 0, 3, 4, 1, 1};
    af_error err = {0};
    for (int64_t N = 1; N <= 3; N++) {
        fx_index ix;
        af_build_params p = params(AF_EUCLIDEAN, 2, 2);
        assert_int_equal(fx_build_index(&p, ref, N, (int)N, &ix, &err), 0);
        af_index_view v;
        assert_int_equal(
            af_index_load_annoy(&v, AF_EUCLIDEAN, AF_NODES_NARROW, 2, ix.bytes, ix.size, &err), 0);
        assert_int_equal(v.n_items, N);
        af_neighbor out[5];
        af_search_params sp = {5, -1, 0};
        assert_int_equal(af_search(&v, ref, 1, &sp, NULL, 1, out, &err), 0);
        assert_int_equal(out[0].id, 0);
        assert_true(out[0].dist == 0.0);
        for (int i = 1; i < 5; i++)
            assert_int_equal(out[i].id, i < N ? (i == 1 && N == 3 ? 2 : 1) : AF_NO_NEIGHBOR);
        af_index_view_free(&v);
        fx_index_free(&ix);
    }
}

/* A rank's view: its shard's item nodes and tree nodes in separate buffers, its roots only.
 * Merging the per-shard answers gives the whole index's exact answer at a full budget. */
static void sharded_views_merge(void **state) {
    (void)state;
    int dim = 6, k = 5, shards = 3;
    int64_t n = 900, nq = 20;
    float *ref = fx_data(AF_ANGULAR, n, dim, 6, 31), *q = fx_data(AF_ANGULAR, nq, dim, 6, 32);
    af_error err = {0};
    fx_index ix;
    af_build_params p = params(AF_ANGULAR, dim, 4);
    assert_int_equal(fx_build_index(&p, ref, n, shards, &ix, &err), 0);
    size_t s = af_node_size(AF_ANGULAR, AF_NODES_NARROW, dim);
    af_neighbor *merged = malloc((size_t)nq * k * sizeof *merged),
                *part = malloc((size_t)nq * k * sizeof *part);
    af_topk_clear(merged, (int)(nq * k));
    for (int sh = 0; sh < shards; sh++) {
        int64_t first = ix.shard_first[sh], count = ix.shard_first[sh + 1] - first;
        unsigned char *items = malloc((size_t)count * s),
                      *trees = malloc((size_t)ix.shard_nodes_count[sh] * s);
        memcpy(items, ix.bytes + (size_t)first * s, (size_t)count * s);
        memcpy(trees, ix.bytes + (size_t)ix.shard_nodes_first[sh] * s,
               (size_t)ix.shard_nodes_count[sh] * s);
        af_index_view v;
        assert_int_equal(af_index_view_init(&v, AF_ANGULAR, AF_NODES_NARROW, dim, n, &err), 0);
        assert_int_equal(af_index_view_set_items(&v, first, count, items, &err), 0);
        assert_int_equal(af_index_view_add_trees(&v, ix.shard_nodes_first[sh],
                                                 ix.shard_nodes_count[sh], trees, &err),
                         0);
        assert_int_equal(af_index_view_set_roots(&v, ix.roots + sh * 4, 4, &err), 0);
        assert_int_equal(af_index_view_set_roots(&v, (int64_t[]){first}, 1, &err),
                         0); /* an item: allowed */
        assert_int_equal(af_index_view_set_roots(&v, (int64_t[]){first + count}, 1, &err), -1);
        assert_int_equal(af_index_view_set_roots(&v, ix.roots + sh * 4, 4, &err), 0);
        af_searcher *se = af_searcher_create(&v, 2, &err);
        assert_non_null(se);
        af_search_params sp = {k, n * 4, 0};
        assert_int_equal(af_searcher_run(se, q, nq, &sp, NULL, part, &err), 0);
        for (int64_t i = 0; i < nq * k; i++)
            assert_true(part[i].id >= first && part[i].id < first + count);
        assert_int_equal(af_topk_merge_rows(part, merged, nq, k, 0), 0);
        af_searcher_free(se);
        af_index_view_free(&v);
        free(items);
        free(trees);
    }
    af_neighbor *truth = malloc((size_t)nq * k * sizeof *truth);
    af_exact_params ep = {AF_ANGULAR, dim, k, 1};
    assert_int_equal(af_exact_knn(&ep, ref, n, 0, NULL, q, nq, NULL, truth, &err), 0);
    for (int64_t i = 0; i < nq * k; i++) {
        assert_int_equal(merged[i].id, truth[i].id);
        assert_true(merged[i].dist == truth[i].dist);
    }
    fx_index_free(&ix);
    free(ref);
    free(q);
    free(merged);
    free(part);
    free(truth);
}

static void loader_errors_and_damage(void **state) {
    (void)state;
    af_index_view v;
    af_error err = {0};
    unsigned char bytes[200] = {0};
    assert_int_equal(af_index_load_annoy(&v, AF_EUCLIDEAN, AF_NODES_NARROW, 4, bytes, 0, &err), -1);
    assert_non_null(strstr(err.msg, "empty"));
    assert_int_equal(af_index_load_annoy(&v, AF_EUCLIDEAN, AF_NODES_NARROW, 4, bytes, 33, &err),
                     -1);
    assert_non_null(strstr(err.msg, "not a whole number"));
    assert_int_equal(af_index_load_annoy(&v, AF_EUCLIDEAN, AF_NODES_NARROW, 4, bytes, 64, &err),
                     -1); /* n_desc 0 */
    assert_non_null(strstr(err.msg, "not an Annoy index"));

    float *ref = fx_data(AF_EUCLIDEAN, 300, 4, 3, 77);
    fx_index ix;
    af_build_params p = params(AF_EUCLIDEAN, 4, 2);
    assert_int_equal(fx_build_index(&p, ref, 300, 1, &ix, &err), 0);
    size_t s = af_node_size(AF_EUCLIDEAN, AF_NODES_NARROW, 4);
    /* point a child of the last root copy far outside the file */
    int32_t bad = 123456;
    memcpy(ix.bytes + (size_t)(ix.n_nodes - 1) * s + 8, &bad, 4);
    memcpy(ix.bytes + (size_t)(ix.n_nodes - 1) * s + 12, &bad, 4);
    assert_int_equal(
        af_index_load_annoy(&v, AF_EUCLIDEAN, AF_NODES_NARROW, 4, ix.bytes, ix.size, &err), 0);
    af_neighbor out[40 * 3];
    /* the compact copy's walk checks it too, and so does a run of 40 queries (ranked in blocks) */
    for (int run = 0; run < 3; run++) {
        af_search_params sp = {3, -1, run == 1 ? 5 : 0};
        assert_int_equal(af_search(&v, ref, run == 2 ? 40 : 1, &sp, NULL, 2, out, &err), -1);
        assert_non_null(strstr(err.msg, "123456"));
    }
    /* a root copy whose children lead back to itself */
    int32_t self = (int32_t)(ix.n_nodes - 1);
    memcpy(ix.bytes + (size_t)(ix.n_nodes - 1) * s + 8, &self, 4);
    memcpy(ix.bytes + (size_t)(ix.n_nodes - 1) * s + 12, &self, 4);
    for (int run = 0; run < 3; run++) {
        af_search_params sp = {3, 100000, run == 1 ? 5 : 0};
        assert_int_equal(af_search(&v, ref, run == 2 ? 40 : 1, &sp, NULL, 2, out, &err), -1);
        assert_non_null(strstr(err.msg, "loop back"));
    }
    af_index_view_free(&v);
    fx_index_free(&ix);
    free(ref);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exact_matches_reference),
        cmocka_unit_test(exact_blocks_skip_exclude_and_ties),
        cmocka_unit_test(exact_on_byte_rows),
        cmocka_unit_test(recall_against_exact),
        cmocka_unit_test(wide_answers_like_narrow),
        cmocka_unit_test(rerank_first_pass),
        cmocka_unit_test(blocks_answer_like_one_at_a_time),
        cmocka_unit_test(compact_copy_is_faithful),
        cmocka_unit_test(full_budget_is_exact),
        cmocka_unit_test(k_beyond_rows_and_tiny_indexes),
        cmocka_unit_test(sharded_views_merge),
        cmocka_unit_test(loader_errors_and_damage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
