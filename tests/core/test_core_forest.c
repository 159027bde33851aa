/* Tree building: structure, determinism, degenerate data, tiny shards, Annoy's loader rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "core_fixtures.h"

static af_build_params params(af_metric m, int dim, int trees) {
    af_build_params p = {0};
    p.metric = m;
    p.dim = dim;
    p.n_trees = trees;
    p.seed = 42;
    p.threads = 2;
    return p;
}

/* Walk a tree of a view: count each row reached (counts[id - first]), check leaf sizes and
 * split counts. Returns rows reached (with repeats). */
static int64_t walk(const af_index_view *v, int64_t id, int is_root, int leaf_cap,
                    int64_t *counts) {
    const void *node = af_index_node(v, id);
    if (!node)
        fail_msg("node %lld is not mapped", (long long)id);
    int64_t nd = af_node_n_descendants(v->metric, v->format, node);
    int64_t ch[2] = {af_node_child(v->metric, v->format, node, 0),
                     af_node_child(v->metric, v->format, node, 1)};
    if (nd == 1 && id < v->n_items) {
        counts[id]++;
        return 1;
    }
    if (nd <= v->leaf_capacity) {
        if (!is_root && nd > leaf_cap)
            fail_msg("leaf %lld holds %lld rows, over %d", (long long)id, (long long)nd, leaf_cap);
        for (int64_t c = 0; c < nd; c++) {
            int64_t item = af_node_child(v->metric, v->format, node, c);
            if (item < 0 || item >= v->n_items)
                fail_msg("leaf %lld lists %lld, not a row", (long long)id, (long long)item);
            counts[item]++;
        }
        return nd;
    }
    int64_t got = walk(v, ch[0], 0, leaf_cap, counts) + walk(v, ch[1], 0, leaf_cap, counts);
    if (is_root)
        assert_int_equal(nd, v->n_items);
    else if (nd != got && !(got <= v->leaf_capacity && nd > v->leaf_capacity))
        fail_msg("split %lld says %lld rows, holds %lld", (long long)id, (long long)nd,
                 (long long)got);
    return got;
}

/* Load the file as Annoy would and check every root covers its shard's rows exactly once. */
static void check_index(const af_build_params *p, const fx_index *ix, int64_t N, int shards) {
    af_index_view v;
    af_error err = {0};
    if (af_index_load_annoy(&v, p->metric, p->node_format, p->dim, ix->bytes, ix->size, &err) < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(v.n_items, N);
    int K = af_leaf_capacity(p->metric, p->node_format, p->dim);
    int leaf_cap = p->leaf_size ? p->leaf_size : K;
    if (N > K) { /* Annoy's loader finds exactly the roots: their copies */
        assert_int_equal(v.n_roots, ix->n_roots);
        for (int64_t r = 0; r < v.n_roots; r++)
            assert_int_equal(v.roots[r], ix->n_nodes - 1 - r);
    } else {
        assert_true(v.n_roots >= ix->n_roots);
    }
    int64_t *counts = calloc((size_t)N, sizeof *counts);
    int64_t r = 0;
    for (int sh = 0; sh < shards; sh++) {
        for (int t = 0; t < p->n_trees; t++, r++) {
            memset(counts, 0, (size_t)N * sizeof *counts);
            walk(&v, ix->roots[r], 1, leaf_cap, counts);
            for (int64_t i = 0; i < N; i++) {
                int mine = i >= ix->shard_first[sh] && i < ix->shard_first[sh + 1];
                /* a one-row shard's root (N > K) reaches its row on both sides */
                int64_t want = ix->shard_first[sh + 1] - ix->shard_first[sh] == 1 ? 2 : 1;
                if (mine && (N > K ? counts[i] != want : counts[i] < 1))
                    fail_msg("shard %d tree %d reaches row %lld %lld times", sh, t, (long long)i,
                             (long long)counts[i]);
                if (!mine && counts[i])
                    fail_msg("shard %d tree %d reaches row %lld of another shard", sh, t,
                             (long long)i);
            }
        }
    }
    free(counts);
    af_index_view_free(&v);
}

static void build_check(af_build_params p, const void *data, int64_t N, int shards,
                        const int64_t *starts) {
    fx_index ix;
    af_error err = {0};
    if (fx_build_index_at(&p, data, N, shards, starts, &ix, &err) < 0)
        fail_msg("%s", err.msg);
    check_index(&p, &ix, N, shards);
    fx_index_free(&ix);
}

static void every_row_in_every_tree(void **state) {
    (void)state;
    for (int m = 0; m < AF_METRIC_COUNT; m++) {
        int dim = m == AF_HAMMING ? 2 : 8;
        void *data = fx_data((af_metric)m, 600, dim, 7, 11);
        build_check(params((af_metric)m, dim, 4), data, 600, 1, NULL);
        build_check(params((af_metric)m, dim, 3), data, 600, 3, NULL);
        af_build_params small = params((af_metric)m, dim, 3);
        small.leaf_size = 2; /* splits over <= K rows must still read as splits */
        build_check(small, data, 600, 2, NULL);
        af_build_params wide = params((af_metric)m, dim, 3); /* int64 node ids */
        wide.node_format = AF_NODES_WIDE;
        build_check(wide, data, 600, 3, NULL);
        wide.leaf_size = 2;
        build_check(wide, data, 600, 2, NULL);
        free(data);
    }
}

static void same_bytes_for_any_thread_count(void **state) {
    (void)state;
    for (int m = 0; m < AF_METRIC_COUNT; m++) {
        int dim = m == AF_HAMMING ? 3 : 16;
        void *data = fx_data((af_metric)m, 2000, dim, 10, 5);
        af_shard_trees t[3];
        af_error err = {0};
        int threads[3] = {1, 2, 4};
        for (int i = 0; i < 3; i++) {
            af_build_params p = params((af_metric)m, dim, 6);
            p.threads = threads[i];
            p.n_items_total = 2000;
            p.dot_max_norm = af_block_max_norm(p.metric, dim, data, 2000);
            if (af_shard_build(&p, data, 2000, NULL, &t[i], &err) < 0)
                fail_msg("%s", err.msg);
        }
        for (int i = 1; i < 3; i++) {
            assert_int_equal(t[i].n_nodes, t[0].n_nodes);
            assert_memory_equal(t[i].nodes, t[0].nodes, (size_t)t[0].n_nodes * t[0].node_size);
            assert_memory_equal(t[i].roots, t[0].roots, 6 * sizeof(int64_t));
        }
        /* another seed, another forest */
        af_build_params p = params((af_metric)m, dim, 6);
        p.seed = 43;
        p.n_items_total = 2000;
        p.dot_max_norm = af_block_max_norm(p.metric, dim, data, 2000);
        af_shard_trees other;
        assert_int_equal(af_shard_build(&p, data, 2000, NULL, &other, &err), 0);
        assert_true(other.n_nodes != t[0].n_nodes ||
                    memcmp(other.nodes, t[0].nodes, (size_t)t[0].n_nodes * t[0].node_size));
        af_shard_trees_free(&other);
        for (int i = 0; i < 3; i++)
            af_shard_trees_free(&t[i]);
        free(data);
    }
}

/* Build with the given batching and threads; the nodes must equal `want` (when given). */
static void build_same(af_build_params p, const void *data, int64_t n, const unsigned char *skip,
                       af_shard_trees *want, af_shard_trees *got) {
    af_error err = {0};
    if (af_shard_build(&p, data, n, skip, got, &err) < 0)
        fail_msg("%s", err.msg);
    if (!want)
        return;
    if (got->n_nodes != want->n_nodes)
        fail_msg("%s, batch %d, threads %d, depth_first_bytes %zu: %lld nodes, depth first made "
                 "%lld",
                 af_metric_name(p.metric), p.tree_batch, p.threads, p.depth_first_bytes,
                 (long long)got->n_nodes, (long long)want->n_nodes);
    assert_memory_equal(got->nodes, want->nodes, (size_t)want->n_nodes * want->node_size);
    assert_memory_equal(got->roots, want->roots, (size_t)p.n_trees * sizeof(int64_t));
}

/* The level-by-level batch builder makes exactly the depth-first builder's trees: plain,
 * with NA rows skipped, with a small leaf size, and on all-equal rows (the coin-flip path);
 * level passes all the way down (depth_first_bytes 1), subtrees finished depth first from
 * several sizes on (2688 bytes: 56 rows of 12 floats, right at four leaves of 14), and the
 * default. */
static void batched_equals_depth_first(void **state) {
    (void)state;
    /* {tree_batch, threads, depth_first_bytes} */
    const int batches[][3] = {{0, 1, 1},    {0, 2, 1},   {3, 2, 1},     {7, 1, 1}, {16, 4, 1},
                              {0, 2, 3000}, {5, 1, 800}, {3, 2, 20000}, {0, 2, 0}, {4, 1, 2688}};
    for (int m = 0; m < AF_METRIC_COUNT; m++) {
        int dim = m == AF_HAMMING ? 2 : 12;
        int64_t n = 1500;
        void *data = fx_data((af_metric)m, n, dim, 9, 21);
        unsigned char *skip = calloc((size_t)n, 1);
        for (int64_t i = 0; i < n; i += 7)
            skip[i] = 1;
        for (int variant = 0; variant < 4; variant++) {
            af_build_params p = params((af_metric)m, dim, 7);
            p.n_items_total = n + 50; /* a shard of a larger index */
            p.shard = 3;
            p.dot_max_norm = af_block_max_norm(p.metric, dim, data, n);
            if (variant == 2)
                p.leaf_size = 3;
            if (variant == 3 && m != AF_HAMMING) /* every row the same: planes cannot split */
                memset(data, 0, (size_t)n * (size_t)dim * sizeof(float));
            const unsigned char *sk = variant == 1 ? skip : NULL;
            af_shard_trees ref, got;
            p.tree_batch = 1;
            p.threads = 1;
            build_same(p, data, n, sk, NULL, &ref);
            for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++) {
                p.tree_batch = batches[b][0];
                p.threads = batches[b][1];
                p.depth_first_bytes = (size_t)batches[b][2];
                build_same(p, data, n, sk, &ref, &got);
                af_shard_trees_free(&got);
            }
            af_shard_trees_free(&ref);
        }
        free(skip);
        free(data);
    }
}

static void degenerate_rows(void **state) {
    (void)state;
    int64_t N = 300;
    float *same = malloc((size_t)N * 4 * sizeof *same), *zero = calloc((size_t)N * 4, sizeof *zero);
    float *dups = fx_data(AF_EUCLIDEAN, N, 4, 3, 9);
    for (int64_t i = 0; i < N * 4; i++)
        same[i] = 1.5f;
    for (int64_t i = 0; i < N; i += 2) /* pairs of identical rows */
        memcpy(dups + (i + 1) * 4, dups + i * 4, 4 * sizeof(float));
    uint64_t *bits = calloc((size_t)N, sizeof *bits);
    for (int m = 0; m < AF_METRIC_COUNT; m++) {
        if (m == AF_HAMMING) {
            build_check(params(AF_HAMMING, 1, 3), bits, N, 2, NULL); /* all zero words */
            continue;
        }
        build_check(params((af_metric)m, 4, 3), same, N, 1, NULL);
        build_check(params((af_metric)m, 4, 3), zero, N, 2, NULL);
        build_check(params((af_metric)m, 4, 3), dups, N, 2, NULL);
    }
    free(same);
    free(zero);
    free(dups);
    free(bits);
}

/* Shards of 1, 2, 3 and K rows in an index of N > K rows; and a whole index of N <= K rows. */
static void tiny_shards(void **state) {
    (void)state;
    for (int m = 0; m < AF_METRIC_COUNT; m++) {
        int dim = m == AF_HAMMING ? 1 : 4;
        int K = af_leaf_capacity((af_metric)m, AF_NODES_NARROW, dim);
        int64_t N = 40 + K;
        void *data = fx_data((af_metric)m, N, dim, 3, 21);
        int64_t starts[6] = {0, 1, 3, 6, 6 + K, N};
        build_check(params((af_metric)m, dim, 3), data, N, 5, starts);
        int64_t last_tiny[4] = {0, N - 3, N - 1,
                                N}; /* the last shard (before the root copies) of 1 */
        build_check(params((af_metric)m, dim, 3), data, N, 3, last_tiny);
        int64_t last_two[3] = {0, N - 2, N};
        build_check(params((af_metric)m, dim, 4), data, N, 2, last_two);
        /* N <= K: every root a leaf listing N ids, its shard's rows repeated */
        int64_t few[3] = {0, 2, 5};
        build_check(params((af_metric)m, dim, 3), data, 5, 2, few);
        build_check(params((af_metric)m, dim, 2), data, 1, 1, NULL);
        free(data);
    }
}

static void relocation_round_trip(void **state) {
    (void)state;
    float *data = fx_data(AF_EUCLIDEAN, 500, 5, 4, 3);
    af_build_params p = params(AF_EUCLIDEAN, 5, 3);
    p.n_items_total = 5000;
    af_shard_trees t;
    af_error err = {0};
    assert_int_equal(af_shard_build(&p, data, 500, NULL, &t, &err), 0);
    size_t bytes = (size_t)t.n_nodes * t.node_size;
    unsigned char *local = malloc(bytes);
    memcpy(local, t.nodes, bytes);
    int64_t local_roots[3];
    memcpy(local_roots, t.roots, sizeof local_roots);
    for (int r = 0; r < 3; r++)
        assert_true(local_roots[r] >= 500 && local_roots[r] < 500 + t.n_nodes);
    assert_int_equal(af_shard_relocate(&t, 1000, 7000, &err), 0);
    for (int r = 0; r < 3; r++)
        assert_int_equal(t.roots[r], local_roots[r] - 500 + 7000);
    assert_true(memcmp(local, t.nodes, bytes) != 0);
    /* every id is now a global row in 1000..1499 or a node in 7000.. */
    int K = af_leaf_capacity(AF_EUCLIDEAN, AF_NODES_NARROW, 5);
    for (int64_t j = 0; j < t.n_nodes; j++) {
        const void *node = t.nodes + (size_t)j * t.node_size;
        int64_t nd = af_node_n_descendants(AF_EUCLIDEAN, AF_NODES_NARROW, node);
        for (int64_t c = 0; c < (nd <= K ? nd : 2); c++) {
            int64_t ch = af_node_child(AF_EUCLIDEAN, AF_NODES_NARROW, node, c);
            assert_true((ch >= 1000 && ch < 1500) || (ch >= 7000 && ch < 7000 + t.n_nodes));
        }
    }
    assert_int_equal(af_shard_relocate(&t, 0, 500, &err), 0);
    assert_memory_equal(local, t.nodes, bytes);
    assert_int_equal(af_shard_relocate(&t, 2147483600LL, 7000, &err), -1);
    assert_non_null(strstr(err.msg, "annoy-int32"));
    assert_int_equal(af_shard_relocate(&t, 0, 200, &err), -1); /* nodes over rows */
    af_shard_trees_free(&t);
    free(local);
    /* wide: ids beyond int32 (rows from 3e9, nodes from 5e9) survive the round trip */
    af_build_params w = params(AF_EUCLIDEAN, 5, 3);
    w.node_format = AF_NODES_WIDE;
    w.n_items_total = 500;
    assert_int_equal(af_shard_build(&w, data, 500, NULL, &t, &err), 0);
    bytes = (size_t)t.n_nodes * t.node_size;
    local = malloc(bytes);
    memcpy(local, t.nodes, bytes);
    const int64_t rows_at = 3000000000LL, nodes_at = 5000000000LL;
    assert_int_equal(af_shard_relocate(&t, rows_at, nodes_at, &err), 0);
    K = af_leaf_capacity(AF_EUCLIDEAN, AF_NODES_WIDE, 5);
    for (int64_t j = 0; j < t.n_nodes; j++) {
        const void *node = t.nodes + (size_t)j * t.node_size;
        int64_t nd = af_node_n_descendants(AF_EUCLIDEAN, AF_NODES_WIDE, node);
        for (int64_t c = 0; c < (nd <= K ? nd : 2); c++) {
            int64_t ch = af_node_child(AF_EUCLIDEAN, AF_NODES_WIDE, node, c);
            assert_true((ch >= rows_at && ch < rows_at + 500) ||
                        (ch >= nodes_at && ch < nodes_at + t.n_nodes));
        }
    }
    assert_int_equal(af_shard_relocate(&t, 0, 500, &err), 0);
    assert_memory_equal(local, t.nodes, bytes);
    af_shard_trees_free(&t);
    free(local);
    free(data);
}

static void bad_parameters(void **state) {
    (void)state;
    float data[8] = {0};
    unsigned char skip[2] = {1, 1};
    af_shard_trees t;
    af_error err = {0};
    af_build_params p = params(AF_EUCLIDEAN, 4, 2);
    p.n_items_total = 2;
    assert_int_equal(af_shard_build(&p, data, 2, skip, &t, &err), -1);
    assert_non_null(strstr(err.msg, "nothing to index"));
    p.leaf_size = 7; /* K = 6 */
    assert_int_equal(af_shard_build(&p, data, 2, NULL, &t, &err), -1);
    assert_non_null(strstr(err.msg, "leaf_size"));
    p.leaf_size = 0;
    p.n_trees = 0;
    assert_int_equal(af_shard_build(&p, data, 2, NULL, &t, &err), -1);
    assert_non_null(strstr(err.msg, "trees"));
    p.n_trees = 1;
    p.n_items_total = 1;
    assert_int_equal(af_shard_build(&p, data, 2, NULL, &t, &err), -1);
}

/* Rows left out (NA): in no tree, while their ids still number the others. */
static void skipped_rows(void **state) {
    (void)state;
    float *data = fx_data(AF_EUCLIDEAN, 200, 3, 3, 8);
    unsigned char skip[200] = {0};
    for (int i = 0; i < 200; i += 7)
        skip[i] = 1;
    af_build_params p = params(AF_EUCLIDEAN, 3, 3);
    p.n_items_total = 200;
    af_shard_trees t;
    af_error err = {0};
    assert_int_equal(af_shard_build(&p, data, 200, skip, &t, &err), 0);
    size_t s = t.node_size;
    int64_t n_nodes = 200 + t.n_nodes + 3;
    unsigned char *file = calloc((size_t)n_nodes, s);
    af_item_nodes_fill(AF_EUCLIDEAN, AF_NODES_NARROW, 3, data, 200, skip, file, 0);
    memcpy(file + 200 * s, t.nodes, (size_t)t.n_nodes * s);
    for (int r = 0; r < 3; r++)
        memcpy(file + (size_t)(200 + t.n_nodes + r) * s, af_shard_root_node(&t, r), s);
    af_index_view v;
    assert_int_equal(
        af_index_load_annoy(&v, AF_EUCLIDEAN, AF_NODES_NARROW, 3, file, (size_t)n_nodes * s, &err),
        0);
    int64_t counts[200] = {0};
    for (int r = 0; r < 3; r++)
        walk(&v, t.roots[r], 1, af_leaf_capacity(AF_EUCLIDEAN, AF_NODES_NARROW, 3), counts);
    for (int i = 0; i < 200; i++)
        assert_int_equal(counts[i], skip[i] ? 0 : 3);
    af_neighbor out[200 * 5];
    af_search_params sp = {5, 100000, 0};
    assert_int_equal(af_search(&v, data, 200, &sp, NULL, 2, out, &err), 0);
    for (int i = 0; i < 200 * 5; i++)
        assert_true(out[i].id >= 0 && !skip[out[i].id]);
    af_index_view_free(&v);
    af_shard_trees_free(&t);
    free(file);
    free(data);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_row_in_every_tree),
        cmocka_unit_test(same_bytes_for_any_thread_count),
        cmocka_unit_test(batched_equals_depth_first),
        cmocka_unit_test(degenerate_rows),
        cmocka_unit_test(tiny_shards),
        cmocka_unit_test(relocation_round_trip),
        cmocka_unit_test(bad_parameters),
        cmocka_unit_test(skipped_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
