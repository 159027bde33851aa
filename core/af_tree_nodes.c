/* af_tree_nodes: node bytes and split decisions shared by both tree builders. */
#include <stdlib.h>

#include "af_memory.h"
#include "af_tree_nodes.h"

void af_tree_ctx_init(af_tree_ctx *c, const af_build_params *p, const af_build_data *d, int64_t n) {
    c->t = af_traits_get(p->metric, p->node_format);
    c->d = d;
    c->n = n;
    c->N = p->n_items_total;
    c->K = af_traits_leaf_capacity(c->t, p->dim);
    c->leaf_cap = p->leaf_size > 0 ? p->leaf_size : c->K;
    c->s = af_traits_node_size(c->t, p->dim);
    c->id_max = af_node_id_max(p->node_format);
}

af_seg_kind af_seg_classify(const af_tree_ctx *c, int64_t count, int is_root) {
    if (!is_root && count == 1)
        return AF_SEG_ITEM;
    if (is_root && c->N <= c->K) /* Annoy reads a root holding N <= K as a leaf of N ids */
        return AF_SEG_ROOT_LEAF;
    if (!is_root && count <= c->leaf_cap)
        return AF_SEG_LEAF;
    if (count == 1)
        return AF_SEG_LONE_ROOT;
    return AF_SEG_SPLIT;
}

/* Append a node (s bytes at src); returns its id, or -1 (buf->failed set). */
static int64_t append_node(const af_tree_ctx *c, af_node_buf *buf, const void *src) {
    if (buf->count == buf->cap) {
        int64_t cap = buf->cap + buf->cap / 2 + 16;
        unsigned char *grown =
            af_pages_resize(buf->nodes, (size_t)buf->cap * c->s, (size_t)cap * c->s);
        if (!grown) {
            buf->failed = 1;
            return -1;
        }
        buf->nodes = grown;
        buf->cap = cap;
    }
    if (c->n + buf->count >= c->id_max) {
        buf->failed = 1;
        return -1;
    }
    memcpy(buf->nodes + (size_t)buf->count * c->s, src, c->s);
    return c->n + buf->count++;
}

/* A leaf listing `slots` ids: the rows rows[0..count) repeated cyclically. */
static int64_t make_leaf(const af_tree_ctx *c, af_node_buf *buf, const int32_t *rows, int64_t count,
                         int64_t n_desc, int64_t slots) {
    unsigned char *m = calloc(1, c->s);
    if (!m) {
        buf->failed = 1;
        return -1;
    }
    af_set_ndesc(c->t, m, n_desc);
    for (int64_t i = 0; i < slots; i++)
        af_set_child(c->t, m, i, rows[i % count]);
    int64_t id = append_node(c, buf, m);
    free(m);
    return id;
}

/* A root over one row when N > K: a zero plane whose children are the row and a one-row leaf. */
static int64_t make_lone_root(const af_tree_ctx *c, af_node_buf *buf, int32_t item) {
    int64_t leaf = make_leaf(c, buf, &item, 1, 1, 1);
    unsigned char *m = calloc(1, c->s);
    if (leaf < 0 || !m) {
        free(m);
        buf->failed = 1;
        return -1;
    }
    af_set_ndesc(c->t, m, c->N);
    af_set_child(c->t, m, 0, item);
    af_set_child(c->t, m, 1, leaf);
    int64_t id = append_node(c, buf, m);
    free(m);
    return id;
}

int64_t af_nodes_terminal(const af_tree_ctx *c, af_node_buf *buf, af_seg_kind kind,
                          const int32_t *rows, int64_t count) {
    switch (kind) {
    case AF_SEG_ITEM:
        return rows[0];
    case AF_SEG_ROOT_LEAF:
        return make_leaf(c, buf, rows, count, c->N, c->N);
    case AF_SEG_LEAF:
        return make_leaf(c, buf, rows, count, count, count);
    case AF_SEG_LONE_ROOT:
        return make_lone_root(c, buf, rows[0]);
    case AF_SEG_SPLIT:
        break;
    }
    buf->failed = 1;
    return -1;
}

/* n_descendants of a non-root split over `count` rows: the count, or (leaf_size < K) a value
 * above K that is not N, so readers still see a split. */
static int64_t split_n_desc(const af_tree_ctx *c, int64_t count) {
    if (count > c->K)
        return count;
    return c->K + 1 != c->N ? c->K + 1 : c->K + 2;
}

int64_t af_nodes_split(const af_tree_ctx *c, af_node_buf *buf, unsigned char *m, int is_root,
                       int64_t count, int64_t child[2], int flip) {
    int last = 1 ^ flip;
    if (is_root && !buf->failed && child[last] < c->n) {
        int32_t item = (int32_t)child[last];
        child[last] = make_leaf(c, buf, &item, 1, 1, 1);
    }
    if (buf->failed)
        return -1;
    af_set_ndesc(c->t, m, is_root ? c->N : split_n_desc(c, count));
    af_set_child(c->t, m, 0, child[0]);
    af_set_child(c->t, m, 1, child[1]);
    return append_node(c, buf, m);
}

static double split_imbalance(int64_t left, int64_t right) {
    double ls = (float)left, rs = (float)right;
    float f = (float)(ls / (ls + rs + 1e-9));
    return f > 1 - f ? f : 1 - f;
}

/* One plane and the side of every row. */
static int64_t try_plane(const af_tree_ctx *c, const int32_t *idx, int64_t count, af_kiss64 *rng,
                         unsigned char *m, float *scratch, unsigned char *side) {
    c->t->create_split(c->t, c->d, idx, count, rng, m, scratch);
    return c->t->sides(c->t, c->d, m, idx, count, rng, side);
}

int64_t af_choose_sides(const af_tree_ctx *c, const int32_t *idx, int64_t count, af_kiss64 *rng,
                        unsigned char *m, float *scratch, unsigned char *side, int done,
                        int64_t ones) {
    while (done < 3 && (done == 0 || split_imbalance(count - ones, ones) >= 0.95)) {
        ones = try_plane(c, idx, count, rng, m, scratch, side);
        done++;
    }
    while (split_imbalance(count - ones, ones) > 0.99) {
        af_zero_plane(c->t, m, c->d->dim);
        ones = 0;
        for (int64_t i = 0; i < count; i++) {
            side[idx[i]] = (unsigned char)af_kiss64_flip(rng);
            ones += side[idx[i]];
        }
    }
    return ones;
}

void af_partition_rows(int32_t *idx, int32_t *tmp, int64_t count, int64_t zeros,
                       const unsigned char *side) {
    int64_t at[2] = {0, zeros};
    for (int64_t i = 0; i < count; i++)
        tmp[at[side[idx[i]]]++] = idx[i];
    memcpy(idx, tmp, (size_t)count * sizeof *idx);
}

/* An array's pages: its own mapping, so that a tree's share can be given back on its own;
 * large ones on huge pages (they are read by row id, at random). */
static void *arrays_pages(size_t bytes) {
    void *p = af_pages_alloc(bytes);
    if (p)
        af_pages_hint_huge(p, bytes);
    return p;
}

int af_tree_arrays_reserve(af_tree_arrays *a, const af_tree_ctx *c, int64_t n_rows, int trees) {
    if (a->trees >= trees && a->n_rows == n_rows && a->n == c->n)
        return 0;
    af_tree_arrays_free(a);
    a->n_rows = n_rows;
    a->n = c->n;
    a->idx = arrays_pages((size_t)n_rows * (size_t)trees * sizeof *a->idx);
    a->owner = arrays_pages((size_t)c->n * (size_t)trees * sizeof *a->owner);
    a->side = arrays_pages((size_t)c->n * (size_t)trees);
    a->tmp = arrays_pages((size_t)n_rows * sizeof *a->tmp);
    a->trees = trees;
    if (!a->idx || !a->owner || !a->side || !a->tmp) {
        af_tree_arrays_free(a);
        return -1;
    }
    return 0;
}

void af_tree_arrays_release(af_tree_arrays *a, int k) {
    size_t row = (size_t)a->n_rows, id = (size_t)a->n, at = (size_t)k;
    af_pages_release(a->idx, at * row * sizeof *a->idx, (at + 1) * row * sizeof *a->idx);
    af_pages_release(a->owner, at * id * sizeof *a->owner, (at + 1) * id * sizeof *a->owner);
    af_pages_release(a->side, at * id, (at + 1) * id);
}

void af_tree_arrays_free(af_tree_arrays *a) {
    size_t trees = (size_t)a->trees;
    af_pages_free(a->idx, (size_t)a->n_rows * trees * sizeof *a->idx);
    af_pages_free(a->owner, (size_t)a->n * trees * sizeof *a->owner);
    af_pages_free(a->side, (size_t)a->n * trees);
    af_pages_free(a->tmp, (size_t)a->n_rows * sizeof *a->tmp);
    *a = (af_tree_arrays){0};
}
