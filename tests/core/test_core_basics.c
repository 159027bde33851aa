/* Kiss64, metric names and layouts, item nodes, distances, kernels, top-k merging. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "af_gemm_u8.h"
#include "af_kernels.h"
#include "af_kiss.h"
#include "af_memory.h"
#include "af_traits.h"
#include "core_fixtures.h"

/* First outputs of Annoy's Kiss64Random (kissrandom.h, RcppAnnoy 0.0.20), printed by a C++
 * program compiled against that header. */
static void kiss64_matches_annoy(void **state) {
    (void)state;
    static const uint64_t default_seed[5] = {8932985056925012148ULL, 5710300428094272059ULL,
                                             18342510866933518593ULL, 14303636270573868250ULL,
                                             542381058189297533ULL};
    static const uint64_t seed42[3] = {5680804532875375661ULL, 421217147685971266ULL,
                                       15020224898898924438ULL};
    af_kiss64 r;
    af_kiss64_seed(&r, AF_KISS64_DEFAULT_SEED);
    for (int i = 0; i < 5; i++)
        assert_true(af_kiss64_next(&r) == default_seed[i]);
    af_kiss64_seed(&r, 42);
    for (int i = 0; i < 3; i++)
        assert_true(af_kiss64_next(&r) == seed42[i]);
    /* index() then flip(), alternating, from seed 7 */
    static const uint64_t idx[5] = {202, 538, 531, 445, 275};
    static const int flips[5] = {1, 0, 1, 1, 0};
    af_kiss64_seed(&r, 7);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(af_kiss64_index(&r, 1000), idx[i]);
        assert_int_equal(af_kiss64_flip(&r), flips[i]);
    }
}

static void tree_seeds_differ(void **state) {
    (void)state;
    uint64_t a = af_tree_seed(42, 0, 0), b = af_tree_seed(42, 0, 1), c = af_tree_seed(42, 1, 0),
             d = af_tree_seed(43, 0, 0);
    assert_true(a != b && a != c && a != d && b != c);
    assert_true(a == af_tree_seed(42, 0, 0));
    assert_true(af_tree_seed(0, 0, 0) != 0);
}

static void metric_names_and_layouts(void **state) {
    (void)state;
    const char *names[] = {"euclidean", "angular", "manhattan", "dot", "hamming"};
    for (int m = 0; m < AF_METRIC_COUNT; m++) {
        af_metric got;
        assert_int_equal(af_metric_parse(names[m], &got), 0);
        assert_int_equal(got, m);
        assert_string_equal(af_metric_name(got), names[m]);
    }
    af_metric got;
    assert_int_equal(af_metric_parse("cosine", &got), -1);
    /* Annoy: node = offsetof(v) + dim * sizeof(T); K = (node - offsetof(children)) / 4 */
    assert_int_equal(af_node_size(AF_EUCLIDEAN, AF_NODES_NARROW, 10), 16 + 40);
    assert_int_equal(af_leaf_capacity(AF_EUCLIDEAN, AF_NODES_NARROW, 10), 12);
    assert_int_equal(af_node_size(AF_MANHATTAN, AF_NODES_NARROW, 3), 28);
    assert_int_equal(af_leaf_capacity(AF_MANHATTAN, AF_NODES_NARROW, 3), 5);
    assert_int_equal(af_node_size(AF_ANGULAR, AF_NODES_NARROW, 10), 12 + 40);
    assert_int_equal(af_leaf_capacity(AF_ANGULAR, AF_NODES_NARROW, 10), 12);
    assert_int_equal(af_node_size(AF_DOT, AF_NODES_NARROW, 10), 16 + 40);
    assert_int_equal(af_leaf_capacity(AF_DOT, AF_NODES_NARROW, 10), 13);
    assert_int_equal(af_node_size(AF_HAMMING, AF_NODES_NARROW, 2), 16 + 16);
    assert_int_equal(af_leaf_capacity(AF_HAMMING, AF_NODES_NARROW, 2), 7);
    assert_int_equal(af_metric_larger_first(AF_DOT), 1);
    assert_int_equal(af_metric_larger_first(AF_EUCLIDEAN), 0);
}

static void item_nodes_as_annoy(void **state) {
    (void)state;
    float v[3] = {1, 2, 2}; /* |v| = 3 */
    unsigned char node[64];
    int32_t i32;
    float f;
    memset(node, 0xAB, sizeof node);
    af_item_node_init(AF_EUCLIDEAN, AF_NODES_NARROW, 3, v, node, 0);
    memcpy(&i32, node, 4);
    assert_int_equal(i32, 1);
    for (int b = 4; b < 16; b++)
        assert_int_equal(node[b], 0);
    assert_memory_equal(node + 16, v, sizeof v);

    af_item_node_init(AF_ANGULAR, AF_NODES_NARROW, 3, v, node, 0);
    memcpy(&f, node + 4, 4);
    assert_true(f == 9.0f); /* norm field = |v|^2 */
    assert_memory_equal(node + 12, v, sizeof v);

    af_item_node_init(AF_DOT, AF_NODES_NARROW, 3, v, node, 5.0);
    memcpy(&f, node + 12, 4);
    assert_true(fabsf(f - 4.0f) < 1e-6f); /* sqrt(5^2 - 3^2) */
    assert_memory_equal(node + 16, v, sizeof v);
    assert_true(af_block_max_norm(AF_DOT, 3, v, 1) == 3.0);

    uint64_t w[2] = {0xF0F0ULL, 7};
    af_item_node_init(AF_HAMMING, AF_NODES_NARROW, 2, w, node, 0);
    memcpy(&i32, node, 4);
    assert_int_equal(i32, 1);
    assert_memory_equal(node + 16, w, sizeof w);

    unsigned char nodes[2 * 28];
    float two[6] = {1, 1, 1, 2, 2, 2};
    unsigned char skip[2] = {0, 1};
    memset(nodes, 0xAB, sizeof nodes);
    af_item_nodes_fill(AF_EUCLIDEAN, AF_NODES_NARROW, 3, two, 2, skip, nodes, 0);
    for (int b = 28; b < 56; b++)
        assert_int_equal(nodes[b], 0); /* a row left out: Annoy's never-added item */
}

static void distances_match_reference(void **state) {
    (void)state;
    for (int m = 0; m < AF_METRIC_COUNT; m++) {
        for (int dim = 1; dim <= 70; dim += 3) {
            void *data = fx_data((af_metric)m, 2, dim, 2, 1000 + dim);
            size_t row = fx_row_bytes((af_metric)m, dim);
            double got = af_distance((af_metric)m, dim, data, (char *)data + row);
            double want = fx_ref_distance((af_metric)m, dim, data, (char *)data + row);
            double tol = 1e-4 * (1 + fabs(want)) * (m == AF_ANGULAR ? 10 : 1);
            if (fabs(got - want) > tol)
                fail_msg("%s dim %d: %g vs %g", af_metric_name((af_metric)m), dim, got, want);
            free(data);
        }
    }
    /* angular: zero vector -> Annoy's 2 under the root; dot: larger is nearer */
    float z[2] = {0, 0}, a[2] = {1, 0}, b[2] = {0, 1};
    assert_true(fabs(af_distance(AF_ANGULAR, 2, z, a) - sqrt(2.0)) < 1e-6);
    assert_true(fabs(af_distance(AF_ANGULAR, 2, a, b) - sqrt(2.0)) < 1e-6);
    assert_true(af_distance(AF_ANGULAR, 2, a, a) == 0.0);
    assert_true(af_distance(AF_DOT, 2, a, a) == 1.0);
}

/* Every kernel set this CPU runs agrees with the double reference and, to the bit, with the
 * portable set. */
static void kernels_agree(void **state) {
    (void)state;
    const af_kernels *portable = af_kernels_for(AF_SIMD_PORTABLE);
    assert_non_null(portable);
    assert_non_null(af_kernels_best());
    uint64_t s = 5;
    float x[300], y[300];
    uint64_t bx[40], by[40];
    for (int i = 0; i < 300; i++) {
        x[i] = (float)fx_normal(&s) * 3;
        y[i] = (float)fx_normal(&s);
    }
    for (int i = 0; i < 40; i++) {
        bx[i] = fx_next(&s);
        by[i] = fx_next(&s);
    }
    int tested = 0;
    for (int level = 0; level <= AF_SIMD_AVX512; level++) {
        const af_kernels *k = af_kernels_for((af_simd_level)level);
        if (!k)
            continue;
        tested++;
        for (int n = 0; n <= 300; n += (n < 40 ? 1 : 37)) {
            double dot = 0, l2 = 0, l1 = 0, scale = 0;
            for (int i = 0; i < n; i++) {
                dot += (double)x[i] * y[i];
                l2 += ((double)x[i] - y[i]) * ((double)x[i] - y[i]);
                l1 += fabs((double)x[i] - y[i]);
                scale += fabs((double)x[i] * y[i]);
            }
            double tol = 1e-5 * (scale + l2 + 1);
            assert_true(fabs(k->dot(x, y, n) - dot) < tol);
            assert_true(fabs(k->l2sq(x, y, n) - l2) < tol);
            assert_true(fabs(k->l1(x, y, n) - l1) < tol);
            float pd = portable->dot(x, y, n), pl2 = portable->l2sq(x, y, n),
                  pl1 = portable->l1(x, y, n);
            float kd = k->dot(x, y, n), kl2 = k->l2sq(x, y, n), kl1 = k->l1(x, y, n);
            if (memcmp(&pd, &kd, 4) || memcmp(&pl2, &kl2, 4) || memcmp(&pl1, &kl1, 4))
                fail_msg("%s differs from portable at n=%d", k->name, n);
            /* four at once: each equal to its own single kernel, whatever its neighbours hold;
             * one first vector for all four (dot4), or one per pair */
            const float *four[4] = {y, x, y + (n < 300 ? 1 : 0), x};
            const float *firsts[4] = {x, y, x + (n < 300 ? 1 : 0), four[2]};
            float got[4][4];
            k->dot4(x, four, n, got[0]);
            k->dot_pairs4(firsts, four, n, got[1]);
            k->l2sq_pairs4(firsts, four, n, got[2]);
            k->l1_pairs4(firsts, four, n, got[3]);
            for (int r = 0; r < 4; r++) {
                float want[4] = {portable->dot(x, four[r], n), portable->dot(firsts[r], four[r], n),
                                 portable->l2sq(firsts[r], four[r], n),
                                 portable->l1(firsts[r], four[r], n)};
                for (int w = 0; w < 4; w++)
                    if (memcmp(&want[w], &got[w][r], 4))
                        fail_msg("%s 4-way kernel %d, row %d differs at n=%d", k->name, w, r, n);
            }
        }
        for (int n = 1; n <= 70; n += 3) {      /* two-means update: element-wise, exact */
            const float norms[] = {1.7f, 1.0f}; /* 1: the Minkowski shortcut */
            for (int w = 0; w < 2; w++) {
                float a[70], b[70];
                memcpy(a, x, sizeof a);
                memcpy(b, x, sizeof b);
                k->pull(a, y, norms[w], n, 5);
                portable->pull(b, y, norms[w], n, 5);
                assert_memory_equal(a, b, sizeof a);
                assert_true(fabs(a[n - 1] - (x[n - 1] * 5.0 + y[n - 1] / norms[w]) / 6.0) < 1e-4);
            }
        }
        /* The division by count + 1 (a reciprocal and a fused correction in the SIMD kernels,
         * exhaustively checked by bench/check_pull_division.c): bit for bit the portable
         * quotient, for every count two-means uses and beyond, on values of every scale
         * (subnormal to huge) */
        af_kiss64 rng;
        af_kiss64_seed(&rng, 99);
        for (int count = 1; count <= 260; count++) {
            const int big[3] = {(1 << 20) - 2, (1 << 20) + 3, 30000000};
            int c = count <= 257 ? count : big[count - 258];
            float a[37], b[37], yy[37];
            for (int i = 0; i < 37; i++) {
                int e = (int)af_kiss64_index(&rng, 240) - 140;
                a[i] = ldexpf((float)af_kiss64_index(&rng, 1u << 24) / (1 << 23) - 1.0f, e);
                yy[i] = ldexpf((float)af_kiss64_index(&rng, 1u << 24) / (1 << 23) - 1.0f, e / 2);
            }
            memcpy(b, a, sizeof b);
            k->pull(a, yy, 1.0f, 37, c);
            portable->pull(b, yy, 1.0f, 37, c);
            if (memcmp(a, b, sizeof a))
                fail_msg("%s: pull differs from portable at count %d", k->name, c);
        }
        /* The values the SIMD division hands to a real division (infinities, NaNs, and
         * magnitudes below 2^-100), the edges of that, signed zeros and the largest floats: from
         * v = 0, the update is y / (count + 1) */
        const uint32_t special[] = {0x00000000u, 0x80000000u, 0x00000001u, 0x007fffffu, 0x00800000u,
                                    0x0d7fffffu, 0x0d800000u, 0x0d800001u, 0x3f800000u, 0x7f7fffffu,
                                    0x7f800000u, 0x7fc00000u, 0x7f800001u, 0x7fffffffu, 0xff800000u,
                                    0x8d7fffffu, 0x8d800000u, 0xff7fffffu, 0x80000001u};
        enum { NS = sizeof special / sizeof special[0] };
        for (int count = 1; count <= 257; count++) {
            float ys[NS], got[NS] = {0}, want[NS] = {0};
            memcpy(ys, special, sizeof ys);
            k->pull(got, ys, 1.0f, NS, count);
            portable->pull(want, ys, 1.0f, NS, count);
            for (int i = 0; i < NS; i++)
                if (memcmp(&got[i], &want[i], sizeof got[i]))
                    fail_msg("%s: pull of %a at count %d gives %a, portable %a", k->name, ys[i],
                             count, got[i], want[i]);
        }
        for (int n = 0; n <= 40; n++) {
            uint64_t want = 0;
            for (int i = 0; i < n; i++)
                want += (uint64_t)__builtin_popcountll(bx[i] ^ by[i]);
            assert_true(k->hamming(bx, by, n) == want);
        }
    }
    assert_true(tested >= 1);
}

static af_neighbor nb(int64_t id, double d) {
    return (af_neighbor){id, d};
}

/* The 8-bit kernels of every SIMD level give the exact integer sums: short tails, the 16- and
 * 32-code steps, and a length past the AVX2 kernel's 4096-step flush (all codes 0 vs 255, the
 * largest terms). */
static void byte_kernels_exact(void **state) {
    (void)state;
    enum { N = 300000 }; /* beyond 4096 steps of 32 codes: the lanes are emptied on the way */
    uint8_t *x = malloc(N), *y = malloc(N);
    uint64_t s = 17;
    int tested = 0;
    for (int level = 0; level <= AF_SIMD_AVX512; level++) {
        const af_kernels *k = af_kernels_for((af_simd_level)level);
        if (!k)
            continue;
        tested++;
        for (int i = 0; i < N; i++) {
            x[i] = (uint8_t)fx_next(&s);
            y[i] = (uint8_t)fx_next(&s);
        }
        for (int n = 0; n <= 200; n += n < 70 ? 1 : 43) {
            uint64_t l2 = 0, l1 = 0;
            for (int i = 0; i < n; i++) {
                int d = (int)x[i] - (int)y[i];
                l2 += (uint64_t)(d * d);
                l1 += (uint64_t)(d < 0 ? -d : d);
            }
            assert_int_equal(k->l2sq_u8(x, y, n), l2);
            assert_int_equal(k->l1_u8(x, y, n), l1);
        }
        memset(x, 0, N);
        memset(y, 255, N);
        assert_int_equal(k->l2sq_u8(x, y, N), (uint64_t)N * 255 * 255);
        assert_int_equal(k->l1_u8(x, y, N), (uint64_t)N * 255);
    }
    assert_true(tested >= 1);
    free(x);
    free(y);
}

/* Whole numbers 0..255 only, skipped rows not looked at. */
static void byte_rows_fit(void **state) {
    (void)state;
    float rows[3 * 5] = {0, 255, 17, 3, 128, 1, 2, 3, 4, 5, 9, 9, 9, 9, 9};
    unsigned char skip[3] = {0, 1, 0};
    assert_true(af_u8_rows_fit(rows, 3, 5, NULL, 2));
    const float off[] = {255.5f, 256.0f, -1.0f, 0.25f, NAN, INFINITY};
    for (size_t i = 0; i < sizeof off / sizeof off[0]; i++) {
        rows[5 + 2] = off[i];
        assert_false(af_u8_rows_fit(rows, 3, 5, NULL, 2));
        assert_true(af_u8_rows_fit(rows, 3, 5, skip, 2)); /* the row is skipped */
        rows[3 * 5 - 1] = off[i];
        assert_false(af_u8_rows_fit(rows, 3, 5, skip, 1));
        rows[3 * 5 - 1] = 9;
    }
    rows[5 + 2] = -0.0f; /* equal to 0 */
    assert_true(af_u8_rows_fit(rows, 3, 5, NULL, 1));
    assert_false(af_u8_rows_fit(rows, 1, AF_U8_MAX_DIM + 1, NULL, 1)); /* sums could overflow */
}

/* The VNNI products equal the integer dot products at every shape: columns not a multiple of 4,
 * rows and queries not whole groups, tiles starting inside the matrices, the largest values. */
static void byte_products_exact(void **state) {
    (void)state;
    if (!af_u8_available()) {
        /* Nothing to test where the CPU lacks the instructions (or AF_SIMD caps them): exact
         * k-NN then never takes this path. Say so rather than pass quietly. */
        const char *cap = getenv("AF_SIMD");
        __builtin_cpu_init();
        if (!cap && __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw"))
            fail_msg("the CPU has AVX-512 VNNI but af_u8_available() says no");
        printf("8-bit products: no AVX-512 VNNI here (or AF_SIMD=%s); not run\n", cap ? cap : "");
        return;
    }
    uint64_t s = 5;
    static const int dims[] = {1, 3, 4, 5, 37, 130};
    for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++) {
        int dim = dims[d];
        for (int extreme = 0; extreme < 2; extreme++) {
            int64_t n = 150, nq = 21;
            float *ref = malloc((size_t)n * dim * sizeof *ref);
            float *q = malloc((size_t)nq * dim * sizeof *q);
            for (int64_t i = 0; i < n * dim; i++)
                ref[i] = extreme ? 255.0f : (float)(fx_next(&s) % 256);
            for (int64_t i = 0; i < nq * dim; i++)
                q[i] = extreme ? (float)(255 * (i % 2)) : (float)(fx_next(&s) % 256);
            af_u8_refs r;
            af_u8_queries uq;
            assert_int_equal(af_u8_refs_pack(&r, ref, n, dim, NULL, 2), 0);
            assert_int_equal(af_u8_queries_pack(&uq, q, nq, dim, 2), 0);
            /* whole matrices, then a tile from row group 1 and query group 1 on */
            static const int tiles[2][4] = {{0, 150, 0, 21}, {48, 61, 8, 9}};
            for (int t = 0; t < 2; t++) {
                int r0 = tiles[t][0], nr = tiles[t][1], q0 = tiles[t][2], nqt = tiles[t][3];
                int32_t *c = malloc((size_t)nqt * nr * sizeof *c);
                af_u8_dots(&r, r0, nr, &uq, q0, nqt, c, nr);
                for (int i = 0; i < nqt; i++)
                    for (int j = 0; j < nr; j++) {
                        int64_t want = 0, sq = 0;
                        for (int col = 0; col < dim; col++) {
                            want += (int64_t)ref[(size_t)(r0 + j) * dim + col] *
                                    (int64_t)q[(size_t)(q0 + i) * dim + col];
                            sq += (int64_t)ref[(size_t)(r0 + j) * dim + col] *
                                  (int64_t)ref[(size_t)(r0 + j) * dim + col];
                        }
                        if (c[(size_t)i * nr + j] != want)
                            fail_msg("dim %d query %d row %d: %d, not %lld", dim, q0 + i, r0 + j,
                                     c[(size_t)i * nr + j], (long long)want);
                        assert_true(r.sq_norms[r0 + j] == sq);
                    }
                free(c);
            }
            af_u8_refs_free(&r);
            af_u8_queries_free(&uq);
            free(ref);
            free(q);
        }
    }
}

/* Each metric's four-pairs distance equals its one-at-a-time distance, to the bit (angular:
 * with and without the stored squared norms, and against a zero vector). */
static void distance4_equals_distance(void **state) {
    (void)state;
    const af_kernels *k = af_kernels_best();
    uint64_t s = 11;
    enum { dim = 37 };
    float a[4][dim], b[4][dim];
    uint64_t ha[4][dim], hb[4][dim];
    for (int i = 0; i < dim; i++)
        for (int j = 0; j < 4; j++) {
            a[j][i] = (float)fx_normal(&s);
            ha[j][i] = fx_next(&s);
            b[j][i] = j == 2 ? 0.0f : (float)fx_normal(&s) * (float)(j + 1);
            hb[j][i] = fx_next(&s);
        }
    for (int m = 0; m < AF_METRIC_COUNT; m++) {
        const af_traits *t = af_traits_of((af_metric)m);
        int hamming = m == AF_HAMMING;
        const void *va[4], *vb[4];
        float sa[4], sb[4];
        for (int j = 0; j < 4; j++) {
            va[j] = hamming ? (const void *)ha[j] : (const void *)a[j];
            vb[j] = hamming ? (const void *)hb[j] : (const void *)b[j];
            sa[j] = m == AF_ANGULAR && j != 1 ? k->dot(a[j], a[j], dim) : 0.0f;
            sb[j] = m == AF_ANGULAR && j % 2 ? k->dot(b[j], b[j], dim) : 0.0f;
        }
        double got[4];
        t->distance4(va, sa, vb, sb, dim, k, got);
        for (int j = 0; j < 4; j++) {
            double want = t->distance(va[j], sa[j], vb[j], sb[j], dim, k);
            if (memcmp(&want, &got[j], sizeof want))
                fail_msg("%s: distance4[%d] = %.17g, distance = %.17g", t->name, j, got[j], want);
        }
    }
}

static void topk_merge_orders(void **state) {
    (void)state;
    af_neighbor a[4] = {nb(5, 1.0), nb(2, 2.0), nb(9, 3.0), nb(-1, NAN)};
    af_neighbor b[4] = {nb(1, 1.0), nb(7, 2.5), nb(-1, NAN), nb(-1, NAN)};
    af_neighbor out[4];
    af_topk_merge(a, b, 4, 0, out);
    int64_t want[4] = {1, 5, 2, 7}; /* tie at 1.0 -> smaller id first */
    for (int i = 0; i < 4; i++)
        assert_int_equal(out[i].id, want[i]);
    /* larger first (dot); a list of missing entries merges to itself */
    af_neighbor c[3] = {nb(3, 9.0), nb(4, 1.0), nb(-1, NAN)};
    af_neighbor d[3] = {nb(8, 9.0), nb(6, 5.0), nb(-1, NAN)};
    af_neighbor e[3];
    af_topk_merge(c, d, 3, 1, e);
    assert_int_equal(e[0].id, 3);
    assert_int_equal(e[1].id, 8);
    assert_int_equal(e[2].id, 6);
    af_neighbor none[2], none2[2], r[2];
    af_topk_clear(none, 2);
    af_topk_clear(none2, 2);
    af_topk_merge(none, none2, 2, 0, r);
    assert_int_equal(r[0].id, -1);
    assert_true(isnan(r[1].dist));
    /* the same row in both lists is kept once */
    af_neighbor f[2] = {nb(4, 1.0), nb(6, 2.0)}, g[2] = {nb(4, 1.0), nb(8, 3.0)}, h[2];
    af_topk_merge(f, g, 2, 0, h);
    assert_int_equal(h[0].id, 4);
    assert_int_equal(h[1].id, 6);
    /* rows, in place */
    af_neighbor in[4] = {nb(1, 0.5), nb(2, 0.7), nb(3, 0.1), nb(-1, NAN)};
    af_neighbor io[4] = {nb(10, 0.6), nb(11, 0.8), nb(12, 0.2), nb(13, 0.3)};
    assert_int_equal(af_topk_merge_rows(in, io, 2, 2, 0), 0);
    assert_int_equal(io[0].id, 1);
    assert_int_equal(io[1].id, 10);
    assert_int_equal(io[2].id, 3);
    assert_int_equal(io[3].id, 12);
}

/* Large blocks: usable to their last byte, small ones too, and the realloc keeps what it is
 * told to keep (from a small block into a large one, and from large to larger). */
static void large_blocks_keep_contents(void **state) {
    (void)state;
    size_t sizes[3] = {1000, (size_t)5 << 20, (size_t)9 << 20};
    unsigned char *p = af_alloc_large(sizes[0]);
    assert_non_null(p);
    for (size_t i = 0; i < sizes[0]; i++)
        p[i] = (unsigned char)(i * 7);
    for (int step = 1; step < 3; step++) {
        p = af_realloc_large(p, sizes[step - 1], sizes[step]);
        assert_non_null(p);
        for (size_t i = 0; i < sizes[step - 1]; i++)
            if (p[i] != (unsigned char)(i * 7))
                fail_msg("byte %zu lost growing to %zu bytes", i, sizes[step]);
        for (size_t i = sizes[step - 1]; i < sizes[step]; i++)
            p[i] = (unsigned char)(i * 7);
    }
    free(p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kiss64_matches_annoy),      cmocka_unit_test(tree_seeds_differ),
        cmocka_unit_test(metric_names_and_layouts),  cmocka_unit_test(item_nodes_as_annoy),
        cmocka_unit_test(distances_match_reference), cmocka_unit_test(kernels_agree),
        cmocka_unit_test(topk_merge_orders),         cmocka_unit_test(distance4_equals_distance),
        cmocka_unit_test(byte_kernels_exact),        cmocka_unit_test(byte_rows_fit),
        cmocka_unit_test(byte_products_exact),       cmocka_unit_test(large_blocks_keep_contents),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
