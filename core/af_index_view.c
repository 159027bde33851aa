/* af_index_view: node lookup over separately mapped ranges, and Annoy's file loader rules. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "af_index.h"
#include "af_traits.h"

int af_index_view_init(af_index_view *v, af_metric m, af_node_format f, int dim, int64_t n_items,
                       af_error *err) {
    memset(v, 0, sizeof *v);
    if (!af_traits_get(m, f))
        return af_fail(err, AF_E_INTERNAL, "index: unknown metric %d or node format %d", (int)m,
                       (int)f);
    if (dim < 1 || n_items < 0)
        return af_fail(err, AF_E_INPUT, "index: bad shape (%lld items of %d dimensions)",
                       (long long)n_items, dim);
    v->metric = m;
    v->format = f;
    v->dim = dim;
    v->node_size = af_node_size(m, f, dim);
    v->leaf_capacity = af_leaf_capacity(m, f, dim);
    v->n_items = n_items;
    return 0;
}

static int check_range(const af_index_view *v, int64_t first, int64_t count, const void *base,
                       const char *what, af_error *err) {
    size_t align = v->metric == AF_HAMMING ? 8 : 4;
    if (first < 0 || count < 0)
        return af_fail(err, AF_E_INTERNAL, "index: bad %s range %lld+%lld", what, (long long)first,
                       (long long)count);
    if (count > 0 && (!base || (uintptr_t)base % align))
        return af_fail(err, AF_E_INTERNAL,
                       "index: %s nodes must start at a %zu-byte aligned address", what, align);
    return 0;
}

int af_index_view_set_items(af_index_view *v, int64_t first, int64_t count, const void *base,
                            af_error *err) {
    if (check_range(v, first, count, base, "item", err) < 0)
        return -1;
    if (first + count > v->n_items)
        return af_fail(err, AF_E_INTERNAL, "index: items %lld..%lld beyond the %lld rows",
                       (long long)first, (long long)(first + count - 1), (long long)v->n_items);
    v->items = (af_node_range){first, count, base};
    return 0;
}

int af_index_view_add_trees(af_index_view *v, int64_t first, int64_t count, const void *base,
                            af_error *err) {
    if (check_range(v, first, count, base, "tree", err) < 0)
        return -1;
    if (v->n_tree_ranges == AF_VIEW_MAX_TREE_RANGES)
        return af_fail(err, AF_E_INTERNAL, "index: more than %d tree ranges",
                       AF_VIEW_MAX_TREE_RANGES);
    v->trees[v->n_tree_ranges++] = (af_node_range){first, count, base};
    return 0;
}

int af_index_view_set_roots(af_index_view *v, const int64_t *roots, int64_t n_roots,
                            af_error *err) {
    for (int64_t r = 0; r < n_roots; r++)
        if (!af_index_node(v, roots[r]))
            return af_fail(err, AF_E_INPUT, "index: root %lld is not a mapped node",
                           (long long)roots[r]);
    int64_t *copy = malloc((size_t)(n_roots ? n_roots : 1) * sizeof *copy);
    if (!copy)
        return af_fail(err, AF_E_INTERNAL, "index: out of memory for %lld roots",
                       (long long)n_roots);
    memcpy(copy, roots, (size_t)n_roots * sizeof *copy);
    free(v->roots);
    v->roots = copy;
    v->n_roots = n_roots;
    return 0;
}

void af_index_view_free(af_index_view *v) {
    free(v->roots);
    v->roots = NULL;
    v->n_roots = 0;
}

static const void *in_range(const af_node_range *r, int64_t id, size_t s) {
    uint64_t at = af_node_offset(id, r->first);
    if (at < (uint64_t)r->count)
        return (const unsigned char *)r->base + (size_t)at * s;
    return NULL;
}

const void *af_index_node(const af_index_view *v, int64_t id) {
    const void *node = in_range(&v->items, id, v->node_size);
    for (int r = 0; !node && r < v->n_tree_ranges; r++)
        node = in_range(&v->trees[r], id, v->node_size);
    return node;
}

int af_index_fail_missing(af_error *err, int64_t from, int64_t id) {
    return af_fail(err, AF_E_INPUT,
                   "index: node %lld refers to node %lld, which is not in the index (a damaged "
                   "or mismatched index file?)",
                   (long long)from, (long long)id);
}

int af_index_fail_loop(af_error *err, int64_t id) {
    return af_fail(err, AF_E_INPUT,
                   "index: its trees loop back on themselves (node %lld is reached more often "
                   "than any sound tree allows): a damaged index file",
                   (long long)id);
}

int af_index_load_annoy(af_index_view *v, af_metric m, af_node_format f, int dim, const void *bytes,
                        size_t size, af_error *err) {
    if (af_index_view_init(v, m, f, dim, 0, err) < 0)
        return -1;
    size_t s = v->node_size;
    if (size == 0)
        return af_fail(err, AF_E_INPUT, "index: the file is empty");
    if (size % s)
        return af_fail(err, AF_E_INPUT,
                       "index: %zu bytes is not a whole number of %zu-byte nodes (%s, %d "
                       "dimensions): wrong metric or dimension, or a truncated file",
                       size, s, af_metric_name(m), dim);
    if (size / s > (size_t)af_node_id_max(f))
        return af_fail(err, AF_E_INPUT, "index: %zu nodes exceed %s node ids", size / s,
                       af_node_format_name(f));
    int64_t n_nodes = (int64_t)(size / s);
    const unsigned char *base = bytes;
    const af_traits *t = af_traits_get(m, f);
    /* Annoy: the roots are the trailing nodes that share one n_descendants (= n_items). */
    int64_t first_root = n_nodes - 1;
    int64_t nd = af_node_ndesc(t, base + (size_t)first_root * s);
    while (first_root > 0 && af_node_ndesc(t, base + (size_t)(first_root - 1) * s) == nd)
        first_root--;
    int64_t n_roots = n_nodes - first_root;
    /* ... minus the last tree's own root, which precedes the copies of all roots. */
    if (n_roots > 1 && af_child_id(t, base + (size_t)(n_nodes - 1) * s, 0) ==
                           af_child_id(t, base + (size_t)first_root * s, 0)) {
        first_root++;
        n_roots--;
    }
    if (nd < 1 || nd > n_nodes)
        return af_fail(err, AF_E_INPUT,
                       "index: not an Annoy index for %s with %d dimensions (its last node "
                       "claims %lld items of %lld nodes)",
                       af_metric_name(m), dim, (long long)nd, (long long)n_nodes);
    v->n_items = nd;
    if (af_index_view_set_items(v, 0, nd, base, err) < 0 ||
        af_index_view_add_trees(v, nd, n_nodes - nd, base + (size_t)nd * s, err) < 0)
        return -1;
    int64_t *roots = malloc((size_t)n_roots * sizeof *roots);
    if (!roots)
        return af_fail(err, AF_E_INTERNAL, "index: out of memory");
    for (int64_t r = 0; r < n_roots; r++) /* Annoy's order: from the end of the file */
        roots[r] = n_nodes - 1 - r;
    int rc = af_index_view_set_roots(v, roots, n_roots, err);
    free(roots);
    return rc;
}
