/* af_compact: one walk over every tree of the view writes the arena in depth-first order; the
 * first leaves met hand out the slots. */
#include "af_compact.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "af_kernels.h"
#include "af_memory.h"
#include "af_traits.h"

#define FROM_ROOT ((size_t)-1)

/* A node still to write, and where its reference goes: a split's child, or a root slot. */
typedef struct pending {
    int64_t id, from; /* from: the id of the node that points to it (for messages) */
    size_t parent;    /* arena offset of the parent split, or FROM_ROOT */
    int64_t which;    /* the child (0, 1) or the root's position */
} pending;

typedef struct builder {
    af_compact *cf;
    const af_index_view *v;
    const af_traits *t;
    size_t cap;
    int32_t *slot_of_item; /* cf->slot_of: -1 until a leaf meets the item */
    int64_t placed;
    const float *zeros; /* dim of them: a plane's margin at the origin is its offset */
    af_error *err;
} builder;

static int reserve(builder *b, size_t bytes) {
    af_compact *cf = b->cf;
    if (cf->arena_size + bytes <= b->cap)
        return 0;
    if (cf->arena_size + bytes > AF_COMPACT_MAX_BYTES)
        return af_fail(b->err, AF_E_CONFIG,
                       "search: rerank's compact forest would exceed %zu bytes (fewer trees or "
                       "rows per rank, or no rerank)",
                       AF_COMPACT_MAX_BYTES);
    size_t cap = b->cap ? b->cap : (size_t)1 << 20;
    while (cap < cf->arena_size + bytes)
        cap *= 2;
    unsigned char *grown = af_realloc_large(cf->arena, cf->arena_size, cap);
    if (!grown)
        return af_fail(b->err, AF_E_INTERNAL,
                       "search: out of memory for the compact forest (%zu bytes)", cap);
    cf->arena = grown;
    b->cap = cap;
    return 0;
}

static size_t round8(size_t n) {
    return (n + 7) & ~(size_t)7;
}

/* The slot of item `id`, met in node `from`'s leaf: the next free one on first meeting. */
static int slot_of(builder *b, int64_t from, int64_t id, uint32_t *out) {
    const af_index_view *v = b->v;
    uint64_t at = (uint64_t)(id - v->items.first);
    if (at >= (uint64_t)v->items.count)
        return af_fail(b->err, AF_E_INPUT,
                       "index: node %lld refers to node %lld, which is not in the index (a "
                       "damaged or mismatched index file?)",
                       (long long)from, (long long)id);
    if (b->slot_of_item[at] < 0) {
        b->slot_of_item[at] = (int32_t)b->placed;
        b->cf->id_of[b->placed++] = id;
    }
    *out = (uint32_t)b->slot_of_item[at];
    return 0;
}

static af_compact_ref ref_of(size_t off, int leaf) {
    return (af_compact_ref)(off / 8 * 2 + (size_t)leaf);
}

/* A leaf: its children's slots (or, for an item standing alone, its own); -1 on failure. */
static int64_t write_leaf(builder *b, int64_t id, const unsigned char *node, int64_t nd,
                          int alone) {
    int64_t n = alone ? 1 : (nd > 0 ? nd : 0);
    size_t bytes = round8(sizeof(af_compact_leaf) + (size_t)n * sizeof(uint32_t));
    if (reserve(b, bytes) < 0)
        return -1;
    size_t off = b->cf->arena_size;
    b->cf->arena_size += bytes;
    af_compact_leaf *leaf = (af_compact_leaf *)(b->cf->arena + off);
    leaf->met = (int32_t)n;
    leaf->n_slot = (int32_t)n;
    for (int64_t c = 0; c < n; c++)
        if (slot_of(b, id, alone ? id : af_child_id(b->t, node, c), &leaf->slot[c]) < 0)
            return -1;
    return ref_of(off, 1);
}

/* A split: its plane to 8 bits, scaled by its largest magnitude (children filled in later);
 * -1 on failure. */
static int64_t write_split(builder *b, const unsigned char *node) {
    int dim = b->v->dim;
    size_t bytes = round8(sizeof(af_compact_split) + (size_t)dim);
    if (reserve(b, bytes) < 0)
        return -1;
    size_t off = b->cf->arena_size;
    b->cf->arena_size += bytes;
    af_compact_split *s = (af_compact_split *)(b->cf->arena + off);
    memset(s, 0, bytes);
    const float *w = (const float *)(node + b->t->off_vector);
    float top = 0.0f;
    for (int j = 0; j < dim; j++)
        top = fabsf(w[j]) > top ? fabsf(w[j]) : top; /* NaN (a damaged plane) is skipped */
    s->scale = isfinite(top) && top > 0.0f ? top / 127.0f : 0.0f;
    for (int j = 0; s->scale > 0.0f && j < dim; j++) {
        float r = w[j] / s->scale;
        r = r == r ? (r > 127.0f ? 127.0f : (r < -127.0f ? -127.0f : r)) : 0.0f;
        s->plane[j] = (int8_t)lrintf(r);
    }
    s->offset = b->t->margin(b->t, node, b->zeros, dim, af_kernels_best());
    return ref_of(off, 0);
}

static void link(builder *b, const pending *p, af_compact_ref ref) {
    if (p->parent == FROM_ROOT)
        b->cf->root_refs[p->which] = ref;
    else
        ((af_compact_split *)(b->cf->arena + p->parent))->child[p->which] = ref;
}

/* Every tree, depth first, the first child before the second. */
static int walk_trees(builder *b) {
    const af_index_view *v = b->v;
    const af_traits *t = b->t;
    /* a sound forest reaches each node once per root that leads to it: more is a loop */
    int64_t budget = v->n_roots + v->items.count;
    for (int r = 0; r < v->n_tree_ranges; r++)
        budget += v->trees[r].count;
    int64_t cap = v->n_roots + 64, n = 0;
    pending *stack = malloc((size_t)cap * sizeof *stack);
    if (!stack)
        return af_fail(b->err, AF_E_INTERNAL, "search: out of memory for the compact forest");
    for (int64_t r = v->n_roots - 1; r >= 0; r--) /* the first root is walked first */
        stack[n++] = (pending){v->roots[r], -1, FROM_ROOT, r};
    int rc = 0;
    while (n > 0 && rc == 0) {
        pending p = stack[--n];
        if (budget-- <= 0) {
            rc = af_fail(b->err, AF_E_INPUT,
                         "index: its trees loop back on themselves (node %lld is reached more "
                         "often than any sound tree allows): a damaged index file",
                         (long long)p.id);
            break;
        }
        const unsigned char *node = af_index_node(v, p.id);
        if (!node) {
            rc = af_fail(b->err, AF_E_INPUT,
                         "index: node %lld refers to node %lld, which is not in the index (a "
                         "damaged or mismatched index file?)",
                         (long long)p.from, (long long)p.id);
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
            rc = -1;
            break;
        }
        link(b, &p, (af_compact_ref)ref);
        if (af_compact_is_leaf((af_compact_ref)ref))
            continue;
        if (n + 2 > cap) {
            pending *grown = realloc(stack, (size_t)(cap *= 2) * sizeof *stack);
            if (!grown) {
                rc = af_fail(b->err, AF_E_INTERNAL, "search: out of memory for the compact forest");
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
    builder b = {cf, v, t, 0, cf->slot_of, 0, calloc((size_t)v->dim, sizeof(float)), err};
    int rc = 0;
    if (!cf->root_refs || !cf->id_of || !cf->slot_of || !b.zeros)
        rc = af_fail(err, AF_E_INTERNAL, "search: out of memory for the compact forest");
    for (int64_t i = 0; rc == 0 && i < n; i++)
        b.slot_of_item[i] = -1;
    if (rc == 0)
        rc = walk_trees(&b);
    /* items no leaf holds (rows left out of the index) take the last slots */
    for (int64_t i = 0; rc == 0 && i < n; i++)
        if (b.slot_of_item[i] < 0) {
            b.slot_of_item[i] = (int32_t)b.placed;
            cf->id_of[b.placed++] = v->items.first + i;
        }
    if (rc == 0)
        rc = af_codes_build(&cf->codes, v, cf->id_of, err);
    free((void *)b.zeros);
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
