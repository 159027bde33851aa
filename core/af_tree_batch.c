/* af_tree_batch: several trees at once, level by level, so that the rows are read once per level
 * for all of them instead of once per tree.
 *
 * Building a tree is dominated by deciding, at each level, which side of its node's plane every
 * row falls on: a pass over all the rows of the shard, in the scattered order of each node's
 * segment. Memory bandwidth, not arithmetic, bounds it. Here every level of a batch of trees is
 * one sequential pass over the rows: each row is loaded once and compared with the plane of its
 * current node in every tree of the batch (the planes are few and stay in cache). The decisions
 * and the random draws are those of the depth-first builder - every node has its own random
 * stream, and a node's rows are met in increasing order both ways - so the bytes are the same;
 * af_tree_dfs.c is the reference the tests compare against.
 *
 * Splits small enough are left for the end and finished depth first, each on a copy of its rows
 * gathered in one place (deferred_subtree). */
#include <stdlib.h>

#include "af_tree_nodes.h"

/* A pnode kind beside af_seg_kind's: a split finished depth first at emission. A split whose
 * rows take at most af_build_params.depth_first_bytes is left for the depth-first builder: its
 * rows then stay in cache for the rest of its subtree (its two-means draws included), where a
 * level pass would sweep the whole shard for a few of them. At 200000 x 128 floats, 50 trees,
 * this took the build from 8.4 to 5.5 s (1 thread).
 *
 * Only a split with at least DEFER_MIN_LEAVES leaves' worth of rows is deferred. Gathering its
 * rows reads each of them once more for this tree alone, where a level pass shares every read
 * among the trees of the batch; that pays when the subtree has levels enough below it, not for
 * one last split. Fashion-MNIST (rows of 3136 bytes, leaves of up to 786 rows, 25 trees, 1
 * thread): deferring splits of up to 1337 rows (4 MiB) took its build from 1.05 to 1.55 s. */
enum { SEG_DEFERRED = 100 };
#define DEFER_MIN_LEAVES 4

/* A node being decided. */
typedef struct pnode {
    int64_t off, count; /* its rows: idx[off .. off + count) */
    uint64_t seed;
    af_kiss64 rng;
    int64_t ones;     /* rows on side 1 */
    int32_t child[2]; /* pnode indices (splits) */
    int8_t kind;      /* af_seg_kind */
    int8_t is_root;
    unsigned char *plane; /* the split node's bytes (splits) */
} pnode;

/* One tree of the batch (its per-row arrays are the batch's af_tree_arrays). */
typedef struct btree {
    int32_t *idx;
    int32_t *owner;      /* by row id: the pending split holding the row, or -1 */
    unsigned char *side; /* by row id */
    pnode *p;
    int64_t np, cap;
    int32_t *frontier, *next; /* pending splits of this level and of the next */
    int64_t nf, nn;
    int failed;
} btree;

/* A deferred split's rows gathered in one place (see deferred_subtree). */
typedef struct gathered {
    unsigned char *rows;
    float *sqnorm, *dot_factor; /* when the metric has them */
    int32_t *row_id;            /* of each gathered row */
    int64_t cap;                /* rows it has room for */
} gathered;

typedef struct batch {
    const af_tree_ctx *c;
    const int32_t *rows;
    int64_t n_rows;
    int count;
    btree *tree;
    float *scratch;
    int32_t *tmp; /* partition scratch, shared: the trees are partitioned and emitted one by one */
    size_t defer; /* depth_first_bytes */
    gathered g;
} batch;

static int32_t add_pnode(const af_tree_ctx *c, btree *t, int64_t off, int64_t count, int is_root,
                         uint64_t seed, size_t defer) {
    if (t->np == t->cap) {
        int64_t cap = t->cap * 2 + 16;
        pnode *grown = realloc(t->p, (size_t)cap * sizeof *grown);
        if (!grown) {
            t->failed = 1;
            return -1;
        }
        t->p = grown;
        t->cap = cap;
    }
    pnode *n = &t->p[t->np];
    memset(n, 0, sizeof *n);
    n->off = off;
    n->count = count;
    n->seed = seed;
    n->is_root = (int8_t)is_root;
    n->kind = (int8_t)af_seg_classify(c, count, is_root);
    if (n->kind == AF_SEG_SPLIT && !is_root && (size_t)count * c->d->row_bytes <= defer &&
        count >= (int64_t)DEFER_MIN_LEAVES * c->leaf_cap)
        n->kind = SEG_DEFERRED;
    n->child[0] = n->child[1] = -1;
    int32_t id = (int32_t)t->np++;
    /* A pending split owns its rows until it is decided; other rows are done. */
    int32_t owner = n->kind == AF_SEG_SPLIT ? id : -1;
    for (int64_t i = 0; i < count; i++)
        t->owner[t->idx[off + i]] = owner;
    if (owner >= 0)
        t->next[t->nn++] = id;
    return id;
}

/* Each pending split of the level: its stream, and its first plane. */
static void draw_planes(batch *b) {
    for (int k = 0; k < b->count; k++) {
        btree *t = &b->tree[k];
        for (int64_t f = 0; f < t->nf && !t->failed; f++) {
            pnode *n = &t->p[t->frontier[f]];
            n->plane = calloc(1, b->c->s);
            if (!n->plane) {
                t->failed = 1;
                break;
            }
            af_kiss64_seed(&n->rng, n->seed);
            b->c->t->create_split(b->c->t, b->c->d, t->idx + n->off, n->count, &n->rng, n->plane,
                                  b->scratch);
        }
    }
}

/* The pass: every row once, against its node's plane in every tree of the batch, four planes
 * per kernel call. Each node still meets its rows in increasing order, so its coin flips are
 * the depth-first builder's. */
static void side_pass(batch *b) {
    const af_tree_ctx *c = b->c;
    for (int64_t i = 0; i < b->n_rows; i++) {
        int32_t r = b->rows[i];
        const void *x = af_row(c->d, r);
        const void *plane[4];
        af_kiss64 *rng[4];
        pnode *node[4];
        btree *tree[4];
        int m = 0;
        for (int k = 0; k <= b->count; k++) {
            if (k < b->count) {
                btree *t = &b->tree[k];
                int32_t o = t->owner[r];
                if (o < 0 || t->failed)
                    continue;
                node[m] = &t->p[o];
                tree[m] = t;
                plane[m] = node[m]->plane;
                rng[m] = &node[m]->rng;
                m++;
            }
            if (m == 4 || (k == b->count && m > 0)) {
                unsigned char s[4];
                c->t->side4(c->t, c->d, plane, rng, m, x, s);
                for (int j = 0; j < m; j++) {
                    tree[j]->side[r] = s[j];
                    node[j]->ones += s[j];
                }
                m = 0;
            }
        }
    }
}

/* Finish each split of the level (retries when too unbalanced), partition its rows and queue
 * its children. */
static void split_level(batch *b) {
    const af_tree_ctx *c = b->c;
    for (int k = 0; k < b->count; k++) {
        btree *t = &b->tree[k];
        t->nn = 0;
        for (int64_t f = 0; f < t->nf && !t->failed; f++) {
            int32_t id = t->frontier[f];
            pnode *n = &t->p[id];
            n->ones = af_choose_sides(c, t->idx + n->off, n->count, &n->rng, n->plane, b->scratch,
                                      t->side, 1, n->ones);
            int64_t zeros = n->count - n->ones, off = n->off, ones = n->ones;
            uint64_t seed = n->seed;
            af_partition_rows(t->idx + off, b->tmp + off, n->count, zeros, t->side);
            /* add_pnode may move t->p: keep indices, not pointers */
            int32_t left = add_pnode(c, t, off, zeros, 0, af_child_seed(seed, 0), b->defer);
            int32_t right = add_pnode(c, t, off + zeros, ones, 0, af_child_seed(seed, 1), b->defer);
            t->p[id].child[0] = left;
            t->p[id].child[1] = right;
        }
    }
}

/* Rows ahead of the gather whose lines are requested early (they are scattered). */
#define GATHER_AHEAD 8
#define GATHER_MAX_BYTES ((size_t)64 << 20)

static int gathered_alloc(gathered *g, const af_build_data *d, int64_t rows) {
    g->cap = rows;
    g->rows = malloc((size_t)rows * d->row_bytes);
    g->row_id = malloc((size_t)rows * sizeof *g->row_id);
    g->sqnorm = d->sqnorm ? malloc((size_t)rows * sizeof *g->sqnorm) : NULL;
    g->dot_factor = d->dot_factor ? malloc((size_t)rows * sizeof *g->dot_factor) : NULL;
    return g->rows && g->row_id && (g->sqnorm || !d->sqnorm) && (g->dot_factor || !d->dot_factor)
               ? 0
               : -1;
}

static void gathered_free(gathered *g) {
    free(g->rows);
    free(g->row_id);
    free(g->sqnorm);
    free(g->dot_factor);
}

/* The subtree of a deferred split, depth first. Its rows are scattered over the shard and long
 * gone from the cache by emission time, and every level of the subtree reads them again: they
 * are first copied together, in the order of idx, and the subtree is built on the copy with
 * each row numbered by its place in it (idx becomes 0, 1, ...). Draws, sides and partitions
 * see the same values in the same order, so the nodes are the same but for the item ids, which
 * are mapped back to row ids at the end. */
static int64_t deferred_subtree(const af_tree_ctx *c, af_node_buf *buf, btree *t, const pnode *n,
                                int32_t *tmp, float *scratch, gathered *g) {
    int32_t *idx = t->idx + n->off;
    if (n->count > g->cap) /* no room (or none at all): in place */
        return af_tree_dfs_subtree(c, buf, idx, tmp + n->off, t->side, scratch, n->count, n->seed);
    const af_build_data *d = c->d;
    for (int64_t j = 0; j < n->count; j++) {
        if (j + GATHER_AHEAD < n->count) {
            const char *ahead = af_row(d, idx[j + GATHER_AHEAD]);
            for (size_t line = 0; line < d->row_bytes; line += 64)
                __builtin_prefetch(ahead + line);
        }
        int32_t r = idx[j];
        memcpy(g->rows + (size_t)j * d->row_bytes, af_row(d, r), d->row_bytes);
        if (g->sqnorm)
            g->sqnorm[j] = d->sqnorm[r];
        if (g->dot_factor)
            g->dot_factor[j] = d->dot_factor[r];
        g->row_id[j] = r;
        idx[j] = (int32_t)j;
    }
    af_build_data local = *d;
    local.rows = g->rows;
    local.sqnorm = g->sqnorm;
    local.dot_factor = g->dot_factor;
    af_tree_ctx lc = *c;
    lc.d = &local;
    int64_t first = buf->count;
    int64_t id =
        af_tree_dfs_subtree(&lc, buf, idx, tmp + n->off, t->side, scratch, n->count, n->seed);
    /* Item ids are below n, node ids from n on. A leaf lists only items; a split's children
     * may be either. */
    for (int64_t j = first; j < buf->count && !buf->failed; j++) {
        unsigned char *node = buf->nodes + (size_t)j * c->s;
        int64_t nd = af_node_ndesc(c->t, node);
        int64_t slots = nd <= c->K ? nd : 2;
        for (int64_t i = 0; i < slots; i++) {
            int64_t child = af_child_id(c->t, node, i);
            if (child < c->n)
                af_set_child(c->t, node, i, g->row_id[child]);
        }
    }
    return id;
}

/* Post-order emission into buf, smaller side first, exactly as the depth-first builder appends. */
static int64_t emit(const af_tree_ctx *c, af_node_buf *buf, btree *t, int32_t id, int32_t *tmp,
                    float *scratch, gathered *g) {
    pnode *n = &t->p[id];
    if (n->kind == SEG_DEFERRED)
        return deferred_subtree(c, buf, t, n, tmp, scratch, g);
    if (n->kind != AF_SEG_SPLIT)
        return af_nodes_terminal(c, buf, (af_seg_kind)n->kind, t->idx + n->off, n->count);
    int64_t zeros = n->count - n->ones;
    int flip = zeros > n->ones;
    int64_t child[2] = {-1, -1};
    for (int i = 0; i < 2 && !buf->failed; i++) {
        int part = i ^ flip;
        child[part] = emit(c, buf, t, t->p[id].child[part], tmp, scratch, g);
    }
    n = &t->p[id];
    return af_nodes_split(c, buf, n->plane, n->is_root, n->count, child, flip);
}

/* Tree k of the batch on its share of the arrays: all rows, none pending yet. */
static int init_tree(const af_tree_ctx *c, btree *t, const int32_t *rows, int64_t n_rows,
                     af_tree_arrays *a, int k) {
    t->idx = a->idx + (size_t)k * (size_t)n_rows;
    t->owner = a->owner + (size_t)k * (size_t)c->n;
    t->side = a->side + (size_t)k * (size_t)c->n;
    /* At most one pending split per two rows. */
    t->frontier = malloc((size_t)(n_rows / 2 + 2) * sizeof *t->frontier);
    t->next = malloc((size_t)(n_rows / 2 + 2) * sizeof *t->next);
    if (!t->frontier || !t->next)
        return -1;
    memcpy(t->idx, rows, (size_t)n_rows * sizeof *t->idx);
    for (int64_t r = 0; r < c->n; r++)
        t->owner[r] = -1;
    return 0;
}

static void free_tree(btree *t) {
    for (int64_t i = 0; i < t->np; i++)
        free(t->p[i].plane);
    free(t->p);
    free(t->frontier);
    free(t->next);
}

static int any_pending(batch *b) {
    int pending = 0;
    for (int k = 0; k < b->count; k++) {
        btree *t = &b->tree[k];
        int32_t *swap = t->frontier;
        t->frontier = t->next;
        t->next = swap;
        t->nf = t->failed ? 0 : t->nn;
        t->nn = 0;
        pending |= t->nf > 0;
    }
    return pending;
}

void af_build_trees_batch(const af_build_params *p, const af_tree_ctx *c, const int32_t *rows,
                          int64_t n_rows, int tree0, int count, af_tree_arrays *a, af_node_buf *buf,
                          int64_t *roots) {
    int ok = af_tree_arrays_reserve(a, c, n_rows, count) == 0;
    batch b = {c,
               rows,
               n_rows,
               count,
               calloc((size_t)count, sizeof(btree)),
               malloc(af_split_scratch_floats(p->dim) * sizeof(float)),
               a->tmp,
               p->depth_first_bytes ? p->depth_first_bytes : AF_DEPTH_FIRST_BYTES,
               {0}};
    ok = ok && b.tree && b.scratch;
    /* room for the largest deferred split (a cache's worth by default; past GATHER_MAX_BYTES
     * the subtrees are built in place) */
    int64_t deferred_rows = b.defer <= GATHER_MAX_BYTES ? (int64_t)(b.defer / c->d->row_bytes) : 0;
    if (ok && deferred_rows > 0 &&
        gathered_alloc(&b.g, c->d, deferred_rows < n_rows ? deferred_rows : n_rows) < 0) {
        gathered_free(&b.g);
        b.g = (gathered){0};
    }
    for (int k = 0; ok && k < count; k++) {
        btree *t = &b.tree[k];
        ok =
            init_tree(c, t, rows, n_rows, a, k) == 0 &&
            add_pnode(c, t, 0, n_rows, 1, af_tree_seed(p->seed, p->shard, tree0 + k), b.defer) == 0;
    }
    while (ok && any_pending(&b)) {
        draw_planes(&b);
        side_pass(&b);
        split_level(&b);
    }
    for (int k = 0; k < count; k++) {
        btree *t = b.tree ? &b.tree[k] : NULL;
        roots[k] =
            ok && t && !t->failed && !buf->failed ? emit(c, buf, t, 0, b.tmp, b.scratch, &b.g) : -1;
        if (roots[k] < 0)
            buf->failed = 1;
        if (t)
            free_tree(t);
        af_tree_arrays_release(a, k);
    }
    free(b.tree);
    free(b.scratch);
    gathered_free(&b.g);
}
