/* af_compact: every tree of the view is written depth first into a buffer of its own, the
 * trees side by side on the threads, then the buffers are joined in root order. The slots go
 * first to the items of the trees that meet new items (a shard's first tree), walked one after
 * the other in root order; the other trees, which only look slots up, run in parallel. */
#include "af_compact.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "af_kernels.h"
#include "af_memory.h"
#include "af_traits.h"

#define FROM_ROOT ((size_t)-1)
#define UNPLACED 2 /* walk_tree's result when a leaf meets an item without a slot (lookup mode) */

/* A node still to write, and where its reference goes: a split's child, or the tree's root. */
typedef struct pending {
    int64_t id, from; /* from: the id of the node that points to it (for messages) */
    size_t parent;    /* buffer offset of the parent split, or FROM_ROOT */
    int64_t which;    /* the child (0, 1) */
} pending;

/* What the walks share: the view and the slot maps. */
typedef struct shared {
    const af_index_view *v;
    const af_traits *t;
    int32_t *slot_of_item; /* the compact copy's slot_of: -1 until a leaf meets the item */
    int64_t *id_of;
    int64_t placed;
    int64_t budget;     /* nodes a sound tree can hold: more is a loop */
    const float *zeros; /* dim of them: a plane's margin at the origin is its offset */
} shared;

/* One tree's buffer: its entries with references relative to its start, the offsets of its
 * splits (whose children move when the buffers are joined), and its root. */
typedef struct tree_buf {
    unsigned char *bytes;
    size_t size, cap;
    size_t *splits;
    int64_t n_splits, splits_cap;
    af_compact_ref root;
    af_error err;
} tree_buf;

typedef struct builder {
    shared *sh;
    tree_buf *tb;
    int assign; /* may hand out slots (only one walk at a time does) */
} builder;

/* The arena's references reach AF_COMPACT_MAX_BYTES: one tree, or all of them, beyond it. */
static int fail_too_large(af_error *err) {
    return af_fail(err, AF_E_CONFIG,
                   "search: rerank's compact forest would exceed %zu bytes (fewer trees or rows "
                   "per rank, or no rerank)",
                   AF_COMPACT_MAX_BYTES);
}

static int reserve(builder *b, size_t bytes) {
    tree_buf *tb = b->tb;
    if (tb->size + bytes <= tb->cap)
        return 0;
    if (tb->size + bytes > AF_COMPACT_MAX_BYTES)
        return fail_too_large(&tb->err);
    size_t cap = tb->cap ? tb->cap : (size_t)1 << 16;
    while (cap < tb->size + bytes)
        cap *= 2;
    unsigned char *grown = af_realloc_large(tb->bytes, tb->size, cap);
    if (!grown)
        return af_fail(&tb->err, AF_E_INTERNAL,
                       "search: out of memory for the compact forest (%zu bytes)", cap);
    tb->bytes = grown;
    tb->cap = cap;
    return 0;
}

static size_t round8(size_t n) {
    return (n + 7) & ~(size_t)7;
}

/* The slot of item `id`, met in node `from`'s leaf: the next free one on first meeting (assign
 * mode); UNPLACED when it has none yet in lookup mode. */
static int slot_of(builder *b, int64_t from, int64_t id, uint32_t *out) {
    shared *sh = b->sh;
    const af_index_view *v = sh->v;
    uint64_t at = af_node_offset(id, v->items.first);
    if (at >= (uint64_t)v->items.count)
        return af_index_fail_missing(&b->tb->err, from, id);
    if (sh->slot_of_item[at] < 0) {
        if (!b->assign)
            return UNPLACED;
        sh->slot_of_item[at] = (int32_t)sh->placed;
        sh->id_of[sh->placed++] = id;
    }
    *out = (uint32_t)sh->slot_of_item[at];
    return 0;
}

static af_compact_ref ref_of(size_t off, int leaf) {
    return (af_compact_ref)(off / 8 * 2 + (size_t)leaf);
}

/* A leaf: its children's slots (or, for an item standing alone, its own); -1 on failure,
 * -UNPLACED for an item without a slot in lookup mode. */
static int64_t write_leaf(builder *b, int64_t id, const unsigned char *node, int64_t nd,
                          int alone) {
    int64_t n = alone ? 1 : (nd > 0 ? nd : 0);
    size_t bytes = round8(sizeof(af_compact_leaf) + (size_t)n * sizeof(uint32_t));
    if (reserve(b, bytes) < 0)
        return -1;
    size_t off = b->tb->size;
    b->tb->size += bytes;
    af_compact_leaf *leaf = (af_compact_leaf *)(b->tb->bytes + off);
    memset(leaf, 0, bytes); /* the padding too: the copy's bytes are the same on every run */
    leaf->met = (int32_t)n;
    leaf->n_slot = (int32_t)n;
    for (int64_t c = 0; c < n; c++) {
        int rc = slot_of(b, id, alone ? id : af_child_id(b->sh->t, node, c), &leaf->slot[c]);
        if (rc != 0)
            return rc < 0 ? -1 : -UNPLACED;
    }
    return ref_of(off, 1);
}

/* A split: its plane to 8 bits, scaled by its largest magnitude (children filled in later);
 * -1 on failure. */
static int64_t write_split(builder *b, const unsigned char *node) {
    const shared *sh = b->sh;
    tree_buf *tb = b->tb;
    int dim = sh->v->dim;
    size_t bytes = round8(sizeof(af_compact_split) + (size_t)dim);
    if (reserve(b, bytes) < 0)
        return -1;
    if (tb->n_splits == tb->splits_cap) {
        int64_t cap = tb->splits_cap ? 2 * tb->splits_cap : 1024;
        size_t *grown = realloc(tb->splits, (size_t)cap * sizeof *grown);
        if (!grown)
            return af_fail(&tb->err, AF_E_INTERNAL, "search: out of memory for the compact forest");
        tb->splits = grown;
        tb->splits_cap = cap;
    }
    size_t off = tb->size;
    tb->size += bytes;
    tb->splits[tb->n_splits++] = off;
    af_compact_split *s = (af_compact_split *)(tb->bytes + off);
    memset(s, 0, bytes);
    const float *w = (const float *)(node + sh->t->off_vector);
    float top = 0.0f;
    for (int j = 0; j < dim; j++)
        top = fabsf(w[j]) > top ? fabsf(w[j]) : top; /* NaN (a damaged plane) is skipped */
    s->scale = isfinite(top) && top > 0.0f ? top / 127.0f : 0.0f;
    for (int j = 0; s->scale > 0.0f && j < dim; j++) {
        float r = w[j] / s->scale;
        r = r == r ? (r > 127.0f ? 127.0f : (r < -127.0f ? -127.0f : r)) : 0.0f;
        s->plane[j] = (int8_t)lrintf(r);
    }
    s->offset = sh->t->margin(sh->t, node, sh->zeros, dim, af_kernels_best());
    return ref_of(off, 0);
}

static void link(builder *b, const pending *p, af_compact_ref ref) {
    if (p->parent == FROM_ROOT)
        b->tb->root = ref;
    else
        ((af_compact_split *)(b->tb->bytes + p->parent))->child[p->which] = ref;
}

/* One tree, depth first, the first child before the second, into b's buffer. 0, -1 (failed:
 * b->tb->err) or UNPLACED. */
static int walk_tree(builder *b, int64_t root) {
    const af_index_view *v = b->sh->v;
    const af_traits *t = b->sh->t;
    tree_buf *tb = b->tb;
    int64_t budget = b->sh->budget, cap = 64, n = 0;
    pending *stack = malloc((size_t)cap * sizeof *stack);
    if (!stack)
        return af_fail(&tb->err, AF_E_INTERNAL, "search: out of memory for the compact forest");
    stack[n++] = (pending){root, -1, FROM_ROOT, 0};
    int rc = 0;
    while (n > 0 && rc == 0) {
        pending p = stack[--n];
        if (budget-- <= 0) {
            rc = af_index_fail_loop(&tb->err, p.id);
            break;
        }
        const unsigned char *node = af_index_node(v, p.id);
        if (!node) {
            rc = af_index_fail_missing(&tb->err, p.from, p.id);
            break;
        }
        int64_t nd = af_node_ndesc(t, node), ref;
        if (nd == 1 && p.id < v->n_items)
            ref = write_leaf(b, p.id, node, nd, 1);
        else if (nd <= v->leaf_capacity)
            ref = write_leaf(b, p.id, node, nd, 0);
        else
            ref = write_split(b, node);
        if (ref < 0) {
            rc = ref == -UNPLACED ? UNPLACED : -1;
            break;
        }
        link(b, &p, (af_compact_ref)ref);
        if (af_compact_is_leaf((af_compact_ref)ref))
            continue;
        if (n + 2 > cap) {
            pending *grown = realloc(stack, (size_t)(cap *= 2) * sizeof *stack);
            if (!grown) {
                rc = af_fail(&tb->err, AF_E_INTERNAL,
                             "search: out of memory for the compact forest");
                break;
            }
            stack = grown;
        }
        size_t at = (size_t)(ref >> 1) * 8;
        stack[n++] = (pending){af_child_id(t, node, 1), p.id, at, 1};
        stack[n++] = (pending){af_child_id(t, node, 0), p.id, at, 0};
    }
    free(stack);
    return rc;
}

/* Does the tree from `root` start with an item that has a slot already? Its first leaf is
 * looked at (first children down); a tree that cannot be followed says no, and is then
 * walked, which reports what is wrong with it. */
static int starts_placed(const shared *sh, int64_t root) {
    const af_index_view *v = sh->v;
    int64_t id = root;
    for (int depth = 0; depth < 4096; depth++) {
        const unsigned char *node = af_index_node(v, id);
        if (!node)
            return 0;
        int64_t nd = af_node_ndesc(sh->t, node);
        if ((nd == 1 && id < v->n_items) || nd <= v->leaf_capacity) {
            int64_t item =
                nd == 1 && id < v->n_items ? id : (nd > 0 ? af_child_id(sh->t, node, 0) : -1);
            uint64_t at = af_node_offset(item, v->items.first);
            return item >= 0 && at < (uint64_t)v->items.count && sh->slot_of_item[at] >= 0;
        }
        id = af_child_id(sh->t, node, 0);
    }
    return 0;
}

/* Every tree into its buffer: first, one after the other, those that start with items without
 * slots (they hand the slots out in root order); then the others in parallel; a tree that still
 * met an item without a slot is walked again by itself. */
static int walk_trees(shared *sh, tree_buf *tb, af_error *err) {
    const af_index_view *v = sh->v;
    int64_t nr = v->n_roots;
    unsigned char *first = calloc((size_t)(nr ? nr : 1), 1);
    if (!first)
        return af_fail(err, AF_E_INTERNAL, "search: out of memory for the compact forest");
    for (int64_t r = 0; r < nr; r++) {
        if (starts_placed(sh, v->roots[r]))
            continue;
        first[r] = 1;
        builder b = {sh, &tb[r], 1};
        if (walk_tree(&b, v->roots[r]) != 0) {
            *err = tb[r].err;
            free(first);
            return -1;
        }
    }
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t r = 0; r < nr; r++)
        if (!first[r]) {
            builder b = {sh, &tb[r], 0};
            tb[r].err.code = walk_tree(&b, v->roots[r]) == UNPLACED ? -UNPLACED : tb[r].err.code;
        }
    free(first);
    for (int64_t r = 0; r < nr; r++) {
        if (tb[r].err.code == -UNPLACED) { /* again, handing out slots */
            tb[r].size = 0;
            tb[r].n_splits = 0;
            tb[r].err.code = 0;
            builder b = {sh, &tb[r], 1};
            if (walk_tree(&b, v->roots[r]) != 0)
                tb[r].err.code = tb[r].err.code ? tb[r].err.code : AF_E_INPUT;
        }
        if (tb[r].err.code) {
            *err = tb[r].err;
            return -1;
        }
    }
    return 0;
}

/* The trees' buffers one after the other in the arena, their references moved with them. */
static int join_trees(af_compact *cf, tree_buf *tb, af_error *err) {
    int64_t nr = cf->n_roots;
    size_t *base = malloc((size_t)(nr ? nr : 1) * sizeof *base), total = 0;
    if (!base)
        return af_fail(err, AF_E_INTERNAL, "search: out of memory for the compact forest");
    for (int64_t r = 0; r < nr; r++) {
        base[r] = total;
        total += tb[r].size;
    }
    if (total > AF_COMPACT_MAX_BYTES) {
        free(base);
        return fail_too_large(err);
    }
    cf->arena = af_alloc_large(total ? total : 1);
    if (!cf->arena) {
        free(base);
        return af_fail(err, AF_E_INTERNAL,
                       "search: out of memory for the compact forest (%zu bytes)", total);
    }
    cf->arena_size = total;
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t r = 0; r < nr; r++) {
        af_compact_ref shift = (af_compact_ref)(base[r] / 8 * 2);
        memcpy(cf->arena + base[r], tb[r].bytes, tb[r].size);
        for (int64_t i = 0; i < tb[r].n_splits; i++) {
            af_compact_split *s = (af_compact_split *)(cf->arena + base[r] + tb[r].splits[i]);
            s->child[0] += shift;
            s->child[1] += shift;
        }
        cf->root_refs[r] = tb[r].root + shift;
        free(tb[r].bytes);
        free(tb[r].splits);
        tb[r].bytes = NULL;
        tb[r].splits = NULL;
    }
    free(base);
    return 0;
}

int af_compact_build(af_compact *cf, const af_index_view *v, af_error *err) {
    memset(cf, 0, sizeof *cf);
    const af_traits *t = af_traits_get(v->metric, v->format);
    if (!t || t->elem_size != sizeof(float))
        return af_fail(err, AF_E_INTERNAL, "search: the compact forest needs float vectors");
    if (v->items.count > INT32_MAX)
        return af_fail(err, AF_E_CONFIG,
                       "search: rerank numbers a view's items in 32 bits; this one holds %lld",
                       (long long)v->items.count);
    int64_t n = v->items.count;
    cf->dim = v->dim;
    cf->n_roots = v->n_roots;
    cf->n_slots = n;
    cf->root_refs = calloc((size_t)(v->n_roots ? v->n_roots : 1), sizeof *cf->root_refs);
    cf->id_of = af_alloc_large((size_t)(n ? n : 1) * sizeof *cf->id_of);
    cf->slot_of = af_alloc_large((size_t)(n ? n : 1) * sizeof *cf->slot_of);
    shared sh = {v,
                 t,
                 cf->slot_of,
                 cf->id_of,
                 0,
                 v->n_roots + v->items.count,
                 calloc((size_t)v->dim, sizeof(float))};
    for (int r = 0; r < v->n_tree_ranges; r++)
        sh.budget += v->trees[r].count;
    tree_buf *tb = calloc((size_t)(v->n_roots ? v->n_roots : 1), sizeof *tb);
    int rc = 0;
    if (!cf->root_refs || !cf->id_of || !cf->slot_of || !sh.zeros || !tb)
        rc = af_fail(err, AF_E_INTERNAL, "search: out of memory for the compact forest");
    for (int64_t i = 0; rc == 0 && i < n; i++)
        sh.slot_of_item[i] = -1;
    if (rc == 0)
        rc = walk_trees(&sh, tb, err);
    if (rc == 0)
        rc = join_trees(cf, tb, err);
    for (int64_t r = 0; tb && r < v->n_roots; r++) {
        free(tb[r].bytes);
        free(tb[r].splits);
    }
    free(tb);
    /* items no leaf holds (rows left out of the index) take the last slots */
    for (int64_t i = 0; rc == 0 && i < n; i++)
        if (sh.slot_of_item[i] < 0) {
            sh.slot_of_item[i] = (int32_t)sh.placed;
            cf->id_of[sh.placed++] = v->items.first + i;
        }
    if (rc == 0)
        rc = af_codes_build(&cf->codes, v, cf->slot_of, err);
    free((void *)sh.zeros);
    if (rc != 0)
        af_compact_free(cf);
    return rc;
}

void af_compact_free(af_compact *cf) {
    free(cf->arena);
    free(cf->root_refs);
    free(cf->id_of);
    free(cf->slot_of);
    af_codes_free(&cf->codes);
    memset(cf, 0, sizeof *cf);
}
