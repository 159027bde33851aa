/* af_build: one shard's trees, each batch of trees into its own buffer (so any number of threads
 * gives the same bytes), then joined in tree order. See af_forest.h for the layout rules.
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

/* One batch's trees: their nodes and roots, numbered within the batch. */
typedef struct batch_out {
    int first, count; /* trees */
    af_node_buf buf;
} batch_out;

/* Copy batch b's nodes to dst, moving the child ids of its splits and its roots by `by` (the
 * nodes before it), in pieces shared by the threads. Each piece's source pages are given back
 * as soon as it is copied, so the destination's first touches take pages just freed. */
static void append_batch(const af_build_params *p, int64_t n, batch_out *o, unsigned char *dst,
                         int64_t by, int threads, int64_t *roots) {
    const af_traits *tr = af_traits_get(p->metric, p->node_format);
    int K = af_traits_leaf_capacity(tr, p->dim);
    size_t s = af_traits_node_size(tr, p->dim);
    int64_t per_piece = (int64_t)(((size_t)4 << 20) / s) + 1;
    int64_t pieces = (o->buf.count + per_piece - 1) / per_piece;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int64_t piece = 0; piece < pieces; piece++) {
        int64_t j0 = piece * per_piece, j1 = j0 + per_piece;
        if (j1 > o->buf.count)
            j1 = o->buf.count;
        memcpy(dst + (size_t)j0 * s, o->buf.nodes + (size_t)j0 * s, (size_t)(j1 - j0) * s);
        af_pages_release(o->buf.nodes, (size_t)j0 * s, (size_t)j1 * s);
        for (int64_t j = j0; j < j1; j++) {
            unsigned char *node = dst + (size_t)j * s;
            if (af_node_ndesc(tr, node) <= K)
                continue; /* a leaf: item ids only */
            for (int c = 0; c < 2; c++) {
                int64_t id = af_child_id(tr, node, c);
                if (id >= n)
                    af_set_child(tr, node, c, id + by);
            }
        }
    }
    for (int t = o->first; t < o->first + o->count; t++)
        roots[t] += by;
}

/* Join the batches' nodes in tree order. The first batch's pages become the shard's (grown in
 * place or moved, never copied: a shard built in one batch, the usual case, copies nothing); the
 * others are appended after them. */
static int join_batches(const af_build_params *p, int64_t n, batch_out *bo, int64_t batches,
                        int threads, af_shard_trees *out, af_error *err) {
    size_t s = af_node_size(p->metric, p->node_format, p->dim);
    int64_t total = 0;
    for (int64_t b = 0; b < batches; b++)
        total += bo[b].buf.count;
    if (n + total >= af_node_id_max(p->node_format))
        return af_fail(err, AF_E_INPUT,
                       "build: shard %lld needs %lld tree nodes, too many for 32-bit node ids",
                       (long long)p->shard, (long long)total);
    unsigned char *nodes =
        af_pages_resize(bo[0].buf.nodes, (size_t)bo[0].buf.cap * s, (size_t)total * s);
    if (!nodes)
        return af_fail(err, AF_E_INTERNAL, "build: out of memory for %lld tree nodes",
                       (long long)total);
    bo[0].buf.nodes = NULL;
    out->nodes = nodes;
    out->n_nodes = total;
    out->node_size = s; /* af_shard_trees_free needs the mapping's size */
    int64_t at = bo[0].buf.count;
    for (int64_t b = 1; b < batches; b++) {
        append_batch(p, n, &bo[b], nodes + (size_t)at * s, at, threads, out->roots);
        at += bo[b].buf.count;
        af_pages_free(bo[b].buf.nodes, (size_t)bo[b].buf.cap * s);
        bo[b].buf.nodes = NULL;
    }
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
    af_tree_ctx ctx;
    int threads = p->threads > 0 ? p->threads : omp_get_max_threads();
    int per = p->tree_batch > 0 ? p->tree_batch : auto_tree_batch(p->n_trees, threads, n);
    /* Whole batches per thread, as even as the tree count allows. */
    int64_t rounds = ((p->n_trees + per - 1) / per + threads - 1) / threads;
    int64_t batches = p->tree_batch > 0 ? (p->n_trees + per - 1) / per : rounds * threads;
    if (batches > p->n_trees)
        batches = p->n_trees;
    batch_out *bo = calloc((size_t)batches, sizeof *bo);
    af_tree_arrays *arrays = calloc((size_t)threads, sizeof *arrays);
    out->roots = malloc((size_t)p->n_trees * sizeof *out->roots);
    if (!bo || !arrays || !out->roots || prepare_data(p, vectors, n, &d, &owned) < 0) {
        free(rows);
        free(bo);
        free(arrays);
        af_shard_trees_free(out);
        return af_fail(err, AF_E_INTERNAL, "build: out of memory");
    }
    af_tree_ctx_init(&ctx, p, &d, n);
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int64_t b = 0; b < batches; b++) {
        batch_out *o = &bo[b];
        o->first = (int)af_block_start(p->n_trees, batches, b);
        o->count = (int)af_block_size(p->n_trees, batches, b);
        o->buf.cap = o->count * (2 * n_rows / (ctx.leaf_cap > 1 ? ctx.leaf_cap : 1) + 16);
        o->buf.nodes = af_pages_alloc((size_t)o->buf.cap * ctx.s);
        /* Huge pages when large: fewer faults on its fresh pages, which cost this VM more than
         * the nodes' writes (1 thread, 50 trees of 1,000,000 rows: 0.5 s less in the kernel). */
        af_pages_hint_huge(o->buf.nodes, (size_t)o->buf.cap * ctx.s);
        o->buf.failed = o->buf.nodes == NULL;
        af_tree_arrays *a = &arrays[omp_get_thread_num()];
        if (p->tree_batch == 1)
            af_build_trees_dfs(p, &ctx, rows, n_rows, o->first, o->count, a, &o->buf,
                               out->roots + o->first);
        else
            af_build_trees_batch(p, &ctx, rows, n_rows, o->first, o->count, a, &o->buf,
                                 out->roots + o->first);
    }
    for (int t = 0; t < threads; t++)
        af_tree_arrays_free(&arrays[t]);
    free(arrays);
    int rc = 0;
    for (int64_t b = 0; b < batches && rc == 0; b++) {
        if (!bo[b].buf.failed)
            continue;
        int t = bo[b].first; /* the first of its trees without a root */
        while (t < bo[b].first + bo[b].count - 1 && out->roots[t] >= 0)
            t++;
        rc = af_fail(err, AF_E_INTERNAL,
                     "build: out of memory (or of 32-bit node ids) in tree %d of shard %lld", t,
                     (long long)p->shard);
    }
#ifdef __GLIBC__
    /* The batches' planes and scratch are free now, in holes of the heap: give their pages back
     * before the join grows the nodes. */
    malloc_trim(0);
#endif
    if (rc == 0)
        rc = join_batches(p, n, bo, batches, threads, out, err);
    for (int64_t b = 0; b < batches; b++)
        af_pages_free(bo[b].buf.nodes, (size_t)bo[b].buf.cap * ctx.s);
    free(bo);
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
    af_pages_free(t->nodes, (size_t)t->n_nodes * t->node_size);
    free(t->roots);
    t->nodes = NULL;
    t->roots = NULL;
    t->n_nodes = 0;
}
