/* af_build: one shard's trees, each into its own buffer (so any number of threads gives the same
 * bytes), then concatenated in tree order. See af_forest.h for the layout rules.
 *
 * The trees are built in batches that read the rows once per level for all their trees
 * (af_tree_batch.c), down to splits small enough to finish depth first in cache; the threads
 * take whole batches. Every node draws from its own random
 * stream, so neither the batching nor the threads change a byte. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "af_forest.h"
#include "af_memory.h"
#include "af_partition.h"
#include "af_traits.h"
#include "af_tree_nodes.h"

/* Trees per batch when not set: all of a thread's share of the trees, so that each pass over
 * the rows serves as many trees as it can, within a memory budget for the batches' per-row
 * arrays (9 bytes per row and tree, and 4 per row for the batch) and at most MAX_AUTO_BATCH (their
 * planes of one level must stay in cache). */
#define MAX_AUTO_BATCH 32
#define BATCH_BUDGET_BYTES ((int64_t)512 << 20)

static int auto_tree_batch(int n_trees, int threads, int64_t n) {
    int64_t per_thread = (n_trees + threads - 1) / threads;
    int64_t fits = BATCH_BUDGET_BYTES / ((int64_t)threads * 9 * (n > 0 ? n : 1));
    int64_t t = per_thread < MAX_AUTO_BATCH ? per_thread : MAX_AUTO_BATCH;
    if (t > fits)
        t = fits;
    return t < 1 ? 1 : (int)t;
}

static int check_params(const af_build_params *p, int64_t n, af_error *err) {
    if (!af_traits_get(p->metric, p->node_format))
        return af_fail(err, AF_E_INTERNAL, "build: unknown metric %d or node format %d",
                       (int)p->metric, (int)p->node_format);
    if (p->dim < 1)
        return af_fail(err, AF_E_CONFIG, "build: the vectors need at least one dimension");
    if (p->n_trees < 1)
        return af_fail(err, AF_E_CONFIG, "build: trees must be at least 1, not %d", p->n_trees);
    int K = af_leaf_capacity(p->metric, p->node_format, p->dim);
    if (p->leaf_size < 0 || p->leaf_size > K)
        return af_fail(err, AF_E_CONFIG,
                       "build: leaf_size %d is outside 0..%d (0 = %d, Annoy's maximum for %s "
                       "with %d dimensions)",
                       p->leaf_size, K, K, af_metric_name(p->metric), p->dim);
    if (n < 0 || p->n_items_total < n)
        return af_fail(err, AF_E_INTERNAL, "build: shard of %lld rows in an index of %lld",
                       (long long)n, (long long)p->n_items_total);
    if (p->n_items_total >= af_node_id_max(p->node_format))
        return af_fail(err, AF_E_INPUT, "build: %lld rows do not fit Annoy's 32-bit node ids",
                       (long long)p->n_items_total);
    /* The builders number a shard's rows in int32 (half the memory of its row lists). */
    if (n >= INT32_MAX)
        return af_fail(err, AF_E_INPUT,
                       "build: shard %lld has %lld rows, more than one shard may hold (%d); use "
                       "more shards",
                       (long long)p->shard, (long long)n, INT32_MAX - 1);
    if (p->metric == AF_DOT && !(p->dot_max_norm >= 0 && isfinite(p->dot_max_norm)))
        return af_fail(err, AF_E_INTERNAL, "build: dot needs the maximum norm of the rows");
    if (p->threads < 0)
        return af_fail(err, AF_E_CONFIG, "build: threads must be 0 or more");
    return 0;
}

/* Per-row values the splits need: dot(v, v) (angular, dot) and dot factors (dot). */
static int prepare_data(const af_build_params *p, const void *vectors, int64_t n, af_build_data *d,
                        float **owned) {
    const af_traits *t = af_traits_of(p->metric);
    d->dim = p->dim;
    d->k = af_kernels_best();
    d->rows = vectors;
    d->row_bytes = (size_t)p->dim * t->elem_size;
    d->sqnorm = d->dot_factor = NULL;
    *owned = NULL;
    if (p->metric != AF_ANGULAR && p->metric != AF_DOT)
        return 0;
    float *buf = malloc((size_t)(n ? n : 1) * 2 * sizeof(float));
    if (!buf)
        return -1;
    float *sq = buf, *df = buf + n;
    float max_norm = (float)p->dot_max_norm;
#pragma omp parallel for schedule(static)                                                          \
    num_threads(p->threads > 0 ? p->threads : omp_get_max_threads())
    for (int64_t i = 0; i < n; i++) {
        const float *v = af_row(d, i);
        sq[i] = d->k->dot(v, v, p->dim);
        float norm = sq[i] < 0 ? 0.0f : sqrtf(sq[i]);
        float diff = max_norm * max_norm - norm * norm;
        df[i] = diff < 0 ? 0.0f : sqrtf(diff);
    }
    d->sqnorm = sq;
    d->dot_factor = p->metric == AF_DOT ? df : NULL;
    *owned = buf;
    return 0;
}

/* Concatenate the trees; child node ids move by the number of nodes of the trees before. */
static int concatenate(const af_build_params *p, int64_t n, af_tree_out *trees, int threads,
                       af_shard_trees *out, af_error *err) {
    const af_traits *tr = af_traits_get(p->metric, p->node_format);
    int K = af_traits_leaf_capacity(tr, p->dim);
    size_t s = af_traits_node_size(tr, p->dim);
    int64_t total = 0;
    for (int t = 0; t < p->n_trees; t++)
        total += trees[t].count;
    if (n + total >= af_node_id_max(p->node_format))
        return af_fail(err, AF_E_INPUT,
                       "build: shard %lld needs %lld tree nodes, too many for 32-bit node ids",
                       (long long)p->shard, (long long)total);
    out->nodes = af_alloc_large((size_t)(total ? total : 1) * s);
    out->roots = malloc((size_t)p->n_trees * sizeof *out->roots);
    if (!out->nodes || !out->roots)
        return af_fail(err, AF_E_INTERNAL, "build: out of memory for %lld tree nodes",
                       (long long)total);
    int64_t *start = malloc((size_t)p->n_trees * sizeof *start);
    if (!start)
        return af_fail(err, AF_E_INTERNAL, "build: out of memory");
    start[0] = 0;
    for (int t = 1; t < p->n_trees; t++)
        start[t] = start[t - 1] + trees[t - 1].count;
        /* In parallel: the copy is mostly first touches of fresh pages, which threads share well.
         */
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int t = 0; t < p->n_trees; t++) {
        unsigned char *dst = out->nodes + (size_t)start[t] * s;
        memcpy(dst, trees[t].nodes, (size_t)trees[t].count * s);
        for (int64_t j = 0; j < trees[t].count; j++) {
            unsigned char *node = dst + (size_t)j * s;
            if (af_node_ndesc(tr, node) <= K)
                continue; /* a leaf: item ids only */
            for (int c = 0; c < 2; c++) {
                int64_t id = af_child_id(tr, node, c);
                if (id >= n)
                    af_set_child(tr, node, c, id + start[t]);
            }
        }
        out->roots[t] = trees[t].root + start[t];
        /* copied: its pages can go back now rather than after the whole join (a rank's peak) */
        free(trees[t].nodes);
        trees[t].nodes = NULL;
    }
    free(start);
    out->n_nodes = total;
    return 0;
}

int af_shard_build(const af_build_params *p, const void *vectors, int64_t n,
                   const unsigned char *skip, af_shard_trees *out, af_error *err) {
    memset(out, 0, sizeof *out);
    if (check_params(p, n, err) < 0)
        return -1;
    int64_t n_rows = 0;
    int32_t *rows = malloc((size_t)(n ? n : 1) * sizeof *rows);
    if (!rows)
        return af_fail(err, AF_E_INTERNAL, "build: out of memory for %lld rows", (long long)n);
    for (int64_t i = 0; i < n; i++)
        if (!skip || !skip[i])
            rows[n_rows++] = (int32_t)i;
    if (n_rows == 0) {
        free(rows);
        return af_fail(err, AF_E_INPUT,
                       "build: every row of shard %lld is left out (NA rows with na = skip), so "
                       "it has nothing to index; use fewer shards",
                       (long long)p->shard);
    }
    af_build_data d;
    float *owned;
    af_tree_out *trees = calloc((size_t)p->n_trees, sizeof *trees);
    if (!trees || prepare_data(p, vectors, n, &d, &owned) < 0) {
        free(rows);
        free(trees);
        return af_fail(err, AF_E_INTERNAL, "build: out of memory");
    }
    af_tree_ctx ctx;
    af_tree_ctx_init(&ctx, p, &d, n);
    int threads = p->threads > 0 ? p->threads : omp_get_max_threads();
    int per = p->tree_batch > 0 ? p->tree_batch : auto_tree_batch(p->n_trees, threads, n);
    /* Whole batches per thread, as even as the tree count allows. */
    int64_t rounds = ((p->n_trees + per - 1) / per + threads - 1) / threads;
    int64_t batches = p->tree_batch > 0 ? (p->n_trees + per - 1) / per : rounds * threads;
    if (batches > p->n_trees)
        batches = p->n_trees;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int64_t b = 0; b < batches; b++) {
        int first = (int)af_block_start(p->n_trees, batches, b);
        int count = (int)af_block_size(p->n_trees, batches, b);
        if (p->tree_batch == 1)
            af_build_trees_dfs(p, &ctx, rows, n_rows, first, count, trees + first);
        else
            af_build_trees_batch(p, &ctx, rows, n_rows, first, count, trees + first);
    }
    int rc = 0;
    for (int t = 0; t < p->n_trees && rc == 0; t++)
        if (trees[t].failed)
            rc = af_fail(err, AF_E_INTERNAL,
                         "build: out of memory (or of 32-bit node ids) in tree %d of shard %lld", t,
                         (long long)p->shard);
#ifdef __GLIBC__
    /* The batches' per-row arrays are free now, but in holes of the heap below the trees' nodes:
     * give their pages back before the concatenated copy takes new ones. */
    malloc_trim(0);
#endif
    if (rc == 0)
        rc = concatenate(p, n, trees, threads, out, err);
    for (int t = 0; t < p->n_trees; t++)
        free(trees[t].nodes);
    free(trees);
    free(owned);
    free(rows);
    if (rc < 0) {
        af_shard_trees_free(out);
        return -1;
    }
    out->metric = p->metric;
    out->node_format = p->node_format;
    out->dim = p->dim;
    out->node_size = af_node_size(p->metric, p->node_format, p->dim);
    out->n_items = n;
    out->n_trees = p->n_trees;
    out->item_base = 0;
    out->node_base = n;
    return 0;
}

int af_shard_relocate(af_shard_trees *t, int64_t row_base, int64_t tree_node_base, af_error *err) {
    int64_t n = t->n_items, id_max = af_node_id_max(t->node_format);
    if (row_base < 0 || tree_node_base < 0 || row_base > id_max - n ||
        tree_node_base > id_max - t->n_nodes)
        return af_fail(
            err, AF_E_INPUT, "index: rows from %lld or tree nodes from %lld do not fit %s node ids",
            (long long)row_base, (long long)tree_node_base, af_node_format_name(t->node_format));
    if (tree_node_base < row_base + n && row_base < tree_node_base + t->n_nodes)
        return af_fail(err, AF_E_INTERNAL, "index: tree nodes from %lld overlap rows %lld..%lld",
                       (long long)tree_node_base, (long long)row_base,
                       (long long)(row_base + n - 1));
    const af_traits *tr = af_traits_get(t->metric, t->node_format);
    int K = af_traits_leaf_capacity(tr, t->dim);
    for (int64_t j = 0; j < t->n_nodes; j++) {
        unsigned char *node = t->nodes + (size_t)j * t->node_size;
        int64_t nd = af_node_ndesc(tr, node);
        int64_t slots = nd <= K ? nd : 2;
        for (int64_t c = 0; c < slots; c++) {
            int64_t id = af_child_id(tr, node, c);
            if (id >= t->item_base && id < t->item_base + n)
                id = id - t->item_base + row_base;
            else
                id = id - t->node_base + tree_node_base;
            af_set_child(tr, node, c, id);
        }
    }
    for (int r = 0; r < t->n_trees; r++)
        t->roots[r] = t->roots[r] - t->node_base + tree_node_base;
    t->item_base = row_base;
    t->node_base = tree_node_base;
    return 0;
}

const void *af_shard_root_node(const af_shard_trees *t, int tree) {
    return t->nodes + (size_t)(t->roots[tree] - t->node_base) * t->node_size;
}

void af_shard_trees_free(af_shard_trees *t) {
    free(t->nodes);
    free(t->roots);
    t->nodes = NULL;
    t->roots = NULL;
    t->n_nodes = 0;
}
