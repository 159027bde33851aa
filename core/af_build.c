/* af_build: one shard's trees, each into its own buffer (so any number of threads gives the same
 * bytes), then concatenated in tree order. See af_forest.h for the layout rules. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>

#include "af_forest.h"
#include "af_traits.h"

/* The state of building one tree. Ids: items 0..n-1, this tree's nodes n + j. */
typedef struct builder {
    const af_traits *t;
    const af_build_data *d;
    int64_t n, N;
    int K, leaf_cap;
    size_t s;
    af_kiss64 rng;
    int32_t *idx, *tmp;   /* rows of the tree; partition scratch */
    unsigned char *sides; /* side of each row of the segment being split */
    float *scratch;
    unsigned char *nodes; /* this tree's nodes */
    int64_t count, cap;
    int failed; /* out of memory or out of int32 ids */
} builder;

/* Append a node (s bytes at src); returns its id, or -1 (b->failed set). */
static int64_t append_node(builder *b, const void *src) {
    if (b->count == b->cap) {
        int64_t cap = b->cap + b->cap / 2 + 16;
        unsigned char *grown = realloc(b->nodes, (size_t)cap * b->s);
        if (!grown) {
            b->failed = 1;
            return -1;
        }
        b->nodes = grown;
        b->cap = cap;
    }
    if (b->n + b->count >= AF_NODE_ID_MAX) {
        b->failed = 1;
        return -1;
    }
    memcpy(b->nodes + (size_t)b->count * b->s, src, b->s);
    return b->n + b->count++;
}

/* A leaf listing `slots` ids: the rows rows[0..count) repeated cyclically. */
static int64_t make_leaf(builder *b, const int32_t *rows, int64_t count, int32_t n_desc,
                         int64_t slots) {
    unsigned char *m = calloc(1, b->s);
    if (!m) {
        b->failed = 1;
        return -1;
    }
    af_put_i32(m, AF_OFF_NDESC, n_desc);
    for (int64_t c = 0; c < slots; c++)
        af_put_i32(m, b->t->off_children + 4 * (size_t)c, rows[c % count]);
    int64_t id = append_node(b, m);
    free(m);
    return id;
}

static double split_imbalance(int64_t left, int64_t right) {
    double ls = (float)left, rs = (float)right;
    float f = (float)(ls / (ls + rs + 1e-9));
    return f > 1 - f ? f : 1 - f;
}

/* Choose the plane of split node m for the segment [off, off + count) and each row's side;
 * returns how many rows go to side 1. Annoy's rules: up to three planes until the split is no
 * worse than 95/5, then coin flips while it is worse than 99/1. */
static int64_t choose_sides(builder *b, int64_t off, int64_t count, unsigned char *m) {
    const int32_t *idx = b->idx + off;
    unsigned char *sides = b->sides + off;
    int64_t ones = 0;
    for (int attempt = 0; attempt < 3; attempt++) {
        b->t->create_split(b->d, idx, count, &b->rng, m, b->scratch);
        ones = 0;
        for (int64_t i = 0; i < count; i++) {
            if (i + 8 < count)
                __builtin_prefetch(af_row(b->d, idx[i + 8]));
            sides[i] = (unsigned char)b->t->side(b->d, m, af_row(b->d, idx[i]), &b->rng);
            ones += sides[i];
        }
        if (split_imbalance(count - ones, ones) < 0.95)
            break;
    }
    while (split_imbalance(count - ones, ones) > 0.99) {
        b->t->zero_plane(m, b->d->dim);
        ones = 0;
        for (int64_t i = 0; i < count; i++) {
            sides[i] = (unsigned char)af_kiss64_flip(&b->rng);
            ones += sides[i];
        }
    }
    return ones;
}

/* Stable partition of the segment: side-0 rows first, each side in its original order. */
static void partition(builder *b, int64_t off, int64_t count, int64_t zeros) {
    int32_t *idx = b->idx + off, *tmp = b->tmp + off;
    const unsigned char *sides = b->sides + off;
    int64_t at[2] = {0, zeros};
    for (int64_t i = 0; i < count; i++)
        tmp[at[sides[i]]++] = idx[i];
    memcpy(idx, tmp, (size_t)count * sizeof *idx);
}

/* n_descendants of a non-root split over `count` rows: the count, or (leaf_size < K) a value
 * above K that is not N, so readers still see a split. */
static int32_t split_n_desc(const builder *b, int64_t count) {
    if (count > b->K)
        return (int32_t)count;
    return b->K + 1 != b->N ? b->K + 1 : b->K + 2;
}

static int64_t make_tree(builder *b, int64_t off, int64_t count, int is_root);

static int64_t make_split(builder *b, int64_t off, int64_t count, int is_root) {
    unsigned char *m = calloc(1, b->s);
    if (!m) {
        b->failed = 1;
        return -1;
    }
    int64_t ones = choose_sides(b, off, count, m);
    int64_t zeros = count - ones;
    partition(b, off, count, zeros);
    int64_t part_off[2] = {off, off + zeros}, part_count[2] = {zeros, ones};
    int64_t child[2] = {-1, -1};
    int flip = zeros > ones; /* the smaller side first, as Annoy (cache locality) */
    for (int side = 0; side < 2 && !b->failed; side++) {
        int part = side ^ flip;
        child[part] = make_tree(b, part_off[part], part_count[part], 0);
    }
    /* Keep the node before a root from being another root (Annoy's loader scans for them). */
    int last = 1 ^ flip;
    if (is_root && !b->failed && child[last] < b->n) {
        int32_t item = (int32_t)child[last];
        child[last] = make_leaf(b, &item, 1, 1, 1);
    }
    int64_t id = -1;
    if (!b->failed) {
        af_put_i32(m, AF_OFF_NDESC, is_root ? (int32_t)b->N : split_n_desc(b, count));
        af_put_i32(m, b->t->off_children, (int32_t)child[0]);
        af_put_i32(m, b->t->off_children + 4, (int32_t)child[1]);
        id = append_node(b, m);
    }
    free(m);
    return id;
}

/* A root over one row when N > K: a zero plane whose children are the row and a one-row leaf. */
static int64_t make_lone_root(builder *b, int32_t item) {
    int64_t leaf = make_leaf(b, &item, 1, 1, 1);
    unsigned char *m = calloc(1, b->s);
    if (leaf < 0 || !m) {
        free(m);
        b->failed = 1;
        return -1;
    }
    af_put_i32(m, AF_OFF_NDESC, (int32_t)b->N);
    af_put_i32(m, b->t->off_children, item);
    af_put_i32(m, b->t->off_children + 4, (int32_t)leaf);
    int64_t id = append_node(b, m);
    free(m);
    return id;
}

static int64_t make_tree(builder *b, int64_t off, int64_t count, int is_root) {
    const int32_t *idx = b->idx + off;
    if (!is_root && count == 1)
        return idx[0];
    if (is_root && b->N <= b->K) /* Annoy reads a root holding N <= K as a leaf of N ids */
        return make_leaf(b, idx, count, (int32_t)b->N, b->N);
    if (!is_root && count <= b->leaf_cap)
        return make_leaf(b, idx, count, (int32_t)count, count);
    if (count == 1)
        return make_lone_root(b, idx[0]);
    return make_split(b, off, count, is_root);
}

/* ---- the shard ---- */

typedef struct tree_out {
    unsigned char *nodes;
    int64_t count;
    int64_t root; /* tree-local id */
    int failed;
} tree_out;

static void build_one_tree(const af_build_params *p, const af_build_data *d, const int32_t *rows,
                           int64_t n_rows, int64_t n, int tree, tree_out *out) {
    builder b = {0};
    b.t = af_traits_of(p->metric);
    b.d = d;
    b.n = n;
    b.N = p->n_items_total;
    b.K = af_leaf_capacity(p->metric, p->dim);
    b.leaf_cap = p->leaf_size > 0 ? p->leaf_size : b.K;
    b.s = af_node_size(p->metric, p->dim);
    af_kiss64_seed(&b.rng, af_tree_seed(p->seed, p->shard, tree));
    b.idx = malloc((size_t)n_rows * sizeof *b.idx);
    b.tmp = malloc((size_t)n_rows * sizeof *b.tmp);
    b.sides = malloc((size_t)n_rows);
    b.scratch = malloc(af_split_scratch_floats(p->dim) * sizeof(float));
    b.cap = 2 * n_rows / (b.leaf_cap > 1 ? b.leaf_cap : 1) + 16;
    b.nodes = malloc((size_t)b.cap * b.s);
    out->root = -1;
    if (b.idx && b.tmp && b.sides && b.scratch && b.nodes) {
        memcpy(b.idx, rows, (size_t)n_rows * sizeof *b.idx);
        out->root = make_tree(&b, 0, n_rows, 1);
    } else {
        b.failed = 1;
    }
    free(b.idx);
    free(b.tmp);
    free(b.sides);
    free(b.scratch);
    out->nodes = b.nodes;
    out->count = b.count;
    out->failed = b.failed || out->root < 0;
}

static int check_params(const af_build_params *p, int64_t n, af_error *err) {
    if (!af_traits_of(p->metric))
        return af_fail(err, AF_E_INTERNAL, "build: unknown metric %d", (int)p->metric);
    if (p->dim < 1)
        return af_fail(err, AF_E_CONFIG, "build: the vectors need at least one dimension");
    if (p->n_trees < 1)
        return af_fail(err, AF_E_CONFIG, "build: trees must be at least 1, not %d", p->n_trees);
    int K = af_leaf_capacity(p->metric, p->dim);
    if (p->leaf_size < 0 || p->leaf_size > K)
        return af_fail(err, AF_E_CONFIG,
                       "build: leaf_size %d is outside 0..%d (0 = %d, Annoy's maximum for %s "
                       "with %d dimensions)",
                       p->leaf_size, K, K, af_metric_name(p->metric), p->dim);
    if (n < 0 || p->n_items_total < n)
        return af_fail(err, AF_E_INTERNAL, "build: shard of %lld rows in an index of %lld",
                       (long long)n, (long long)p->n_items_total);
    if (p->n_items_total >= AF_NODE_ID_MAX)
        return af_fail(err, AF_E_INPUT, "build: %lld rows do not fit Annoy's 32-bit node ids",
                       (long long)p->n_items_total);
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
static int concatenate(const af_build_params *p, int64_t n, tree_out *trees, af_shard_trees *out,
                       af_error *err) {
    int K = af_leaf_capacity(p->metric, p->dim);
    size_t s = af_node_size(p->metric, p->dim), off_c = af_traits_of(p->metric)->off_children;
    int64_t total = 0;
    for (int t = 0; t < p->n_trees; t++)
        total += trees[t].count;
    if (n + total >= AF_NODE_ID_MAX)
        return af_fail(err, AF_E_INPUT,
                       "build: shard %lld needs %lld tree nodes, too many for 32-bit node ids",
                       (long long)p->shard, (long long)total);
    out->nodes = malloc((size_t)(total ? total : 1) * s);
    out->roots = malloc((size_t)p->n_trees * sizeof *out->roots);
    if (!out->nodes || !out->roots)
        return af_fail(err, AF_E_INTERNAL, "build: out of memory for %lld tree nodes",
                       (long long)total);
    int64_t start = 0;
    for (int t = 0; t < p->n_trees; t++) {
        unsigned char *dst = out->nodes + (size_t)start * s;
        memcpy(dst, trees[t].nodes, (size_t)trees[t].count * s);
        for (int64_t j = 0; j < trees[t].count; j++) {
            unsigned char *node = dst + (size_t)j * s;
            if (af_get_i32(node, AF_OFF_NDESC) <= K)
                continue; /* a leaf: item ids only */
            for (int c = 0; c < 2; c++) {
                int32_t id = af_get_i32(node, off_c + 4 * (size_t)c);
                if (id >= n)
                    af_put_i32(node, off_c + 4 * (size_t)c, (int32_t)(id + start));
            }
        }
        out->roots[t] = trees[t].root + start;
        start += trees[t].count;
    }
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
        return af_fail(err, AF_E_INPUT, "build: shard %lld has no rows to index",
                       (long long)p->shard);
    }
    af_build_data d;
    float *owned;
    tree_out *trees = calloc((size_t)p->n_trees, sizeof *trees);
    if (!trees || prepare_data(p, vectors, n, &d, &owned) < 0) {
        free(rows);
        free(trees);
        return af_fail(err, AF_E_INTERNAL, "build: out of memory");
    }
    int threads = p->threads > 0 ? p->threads : omp_get_max_threads();
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int t = 0; t < p->n_trees; t++)
        build_one_tree(p, &d, rows, n_rows, n, t, &trees[t]);
    int rc = 0;
    for (int t = 0; t < p->n_trees && rc == 0; t++)
        if (trees[t].failed)
            rc = af_fail(err, AF_E_INTERNAL,
                         "build: out of memory (or of 32-bit node ids) in tree %d of shard %lld", t,
                         (long long)p->shard);
    if (rc == 0)
        rc = concatenate(p, n, trees, out, err);
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
    out->dim = p->dim;
    out->node_size = af_node_size(p->metric, p->dim);
    out->n_items = n;
    out->n_trees = p->n_trees;
    out->item_base = 0;
    out->node_base = n;
    return 0;
}

int af_shard_relocate(af_shard_trees *t, int64_t row_base, int64_t tree_node_base, af_error *err) {
    int64_t n = t->n_items;
    if (row_base < 0 || tree_node_base < 0 || row_base + n > AF_NODE_ID_MAX ||
        tree_node_base + t->n_nodes > AF_NODE_ID_MAX)
        return af_fail(err, AF_E_INPUT,
                       "index: rows from %lld or tree nodes from %lld do not fit 32-bit node ids",
                       (long long)row_base, (long long)tree_node_base);
    if (tree_node_base < row_base + n && row_base < tree_node_base + t->n_nodes)
        return af_fail(err, AF_E_INTERNAL, "index: tree nodes from %lld overlap rows %lld..%lld",
                       (long long)tree_node_base, (long long)row_base,
                       (long long)(row_base + n - 1));
    int K = af_leaf_capacity(t->metric, t->dim);
    size_t off_c = af_traits_of(t->metric)->off_children;
    for (int64_t j = 0; j < t->n_nodes; j++) {
        unsigned char *node = t->nodes + (size_t)j * t->node_size;
        int32_t nd = af_get_i32(node, AF_OFF_NDESC);
        int slots = nd <= K ? nd : 2;
        for (int c = 0; c < slots; c++) {
            size_t off = off_c + 4 * (size_t)c;
            int64_t id = af_get_i32(node, off);
            if (id >= t->item_base && id < t->item_base + n)
                id = id - t->item_base + row_base;
            else
                id = id - t->node_base + tree_node_base;
            af_put_i32(node, off, (int32_t)id);
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
