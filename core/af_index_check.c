#include "af_index_check.h"
#include "af_traits.h"

#include <inttypes.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct walk {
    const af_index_view *v;
    const af_shard_layout *s;
    const af_traits *t;
    int K;
    int *visits; /* per tree node of the shard */
    af_tree_report *out;
} walk;

static void problem(walk *w, af_tree_problem kind, const char *fmt, ...) {
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
#pragma omp critical(af_tree_problem)
    {
        if (w->out->count[kind]++ == 0)
            snprintf(w->out->first[kind], sizeof w->out->first[kind], "%s", msg);
    }
}

static int is_shard_item(const walk *w, int64_t id) {
    return id >= w->s->row_start && id < w->s->row_start + w->s->row_count;
}

static int is_shard_node(const walk *w, int64_t id) {
    return id >= w->s->node_start && id < w->s->node_start + w->s->node_count;
}

static int64_t child(const walk *w, const void *node, int64_t i) {
    return af_child_id(w->t, node, i);
}

/* A leaf lists nd item ids of the shard. */
static void check_leaf(walk *w, int64_t id, const void *node, int64_t nd, int tree) {
    for (int64_t i = 0; i < nd; i++)
        if (!is_shard_item(w, child(w, node, i))) {
            problem(w, AF_TREE_CHILDREN,
                    "tree %d: leaf node %" PRId64 " lists id %" PRId64
                    ", outside the shard's rows %" PRId64 "..%" PRId64,
                    tree, id, child(w, node, i), w->s->row_start,
                    w->s->row_start + w->s->row_count - 1);
            return;
        }
}

/* Push the children of split node `id` that are tree nodes; items end there. */
static int visit_split(walk *w, int64_t id, const void *node, int tree, int64_t *stack,
                       int64_t *top) {
    for (int i = 0; i < 2; i++) {
        int64_t c = child(w, node, i);
        if (is_shard_item(w, c))
            continue;
        if (!is_shard_node(w, c)) {
            problem(w, AF_TREE_CHILDREN,
                    "tree %d: node %" PRId64 " has child %" PRId64
                    ", neither a row nor a tree node of its shard",
                    tree, id, c);
            continue;
        }
        stack[(*top)++] = c;
    }
    return 0;
}

static void visit(walk *w, int64_t id, int tree, int64_t *stack, int64_t *top) {
    int prior;
#pragma omp atomic capture
    prior = w->visits[id - w->s->node_start]++;
    if (prior > 0) {
        problem(w, AF_TREE_COVERAGE, "tree %d reaches node %" PRId64 " a second time", tree, id);
        return;
    }
    const void *node = af_index_node(w->v, id);
    int64_t nd = af_node_ndesc(w->t, node);
    if (nd < 1 || nd > w->v->n_items)
        problem(w, AF_TREE_LEAVES,
                "tree %d: node %" PRId64 " claims %" PRId64 " descendants (index of %" PRId64
                " rows)",
                tree, id, nd, w->v->n_items);
    else if (nd <= w->K)
        check_leaf(w, id, node, nd, tree);
    else
        visit_split(w, id, node, tree, stack, top);
}

/* Depth-first from root copy t. Every node is expanded at most once and pushes at most two
 * children, so the stack never holds more than 2 * nodes + 2 entries, whatever the damage. */
static void walk_tree(walk *w, int t, int64_t *stack, int64_t *visited) {
    int64_t root = w->s->root_start + t;
    const void *node = af_index_node(w->v, root);
    int64_t nd = af_node_ndesc(w->t, node);
    if (nd != w->v->n_items) {
        problem(w, AF_TREE_ROOTS,
                "root copy %" PRId64 " (tree %d) claims %" PRId64 " descendants, not the %" PRId64
                " rows of the index",
                root, t, nd, w->v->n_items);
        return;
    }
    int64_t top = 0;
    if (nd <= w->K) {
        check_leaf(w, root, node, nd, t);
        return;
    }
    visit_split(w, root, node, t, stack, &top);
    while (top > 0) {
        int64_t id = stack[--top];
        (*visited)++;
        visit(w, id, t, stack, &top);
    }
}

/* Each tree's real root is the one node no walk reaches; its copy must be its bytes. */
static void check_unreached(walk *w) {
    const af_shard_layout *s = w->s;
    int t = 0;
    for (int64_t j = 0; j < s->node_count; j++) {
        if (w->visits[j] != 0)
            continue;
        int64_t id = s->node_start + j;
        if (t == s->n_trees) {
            problem(w, AF_TREE_COVERAGE,
                    "node %" PRId64 " is reached by no tree (the shard's %d roots are accounted "
                    "for)",
                    id, s->n_trees);
            return;
        }
        if (memcmp(af_index_node(w->v, id), af_index_node(w->v, s->root_start + t),
                   w->v->node_size) != 0) {
            problem(w, AF_TREE_ROOTS,
                    "root copy %" PRId64 " (tree %d) differs from that tree's root, node %" PRId64,
                    s->root_start + t, t, id);
            return;
        }
        t++;
    }
    if (t != s->n_trees)
        problem(w, AF_TREE_COVERAGE, "%d of the shard's %d trees have no root of their own",
                s->n_trees - t, s->n_trees);
}

int af_check_shard_trees(const af_index_view *v, const af_shard_layout *s, int threads,
                         af_tree_report *out, af_error *err) {
    memset(out, 0, sizeof *out);
    walk w = {v, s, af_traits_get(v->metric, v->format), v->leaf_capacity, NULL, out};
    w.visits = calloc((size_t)(s->node_count ? s->node_count : 1), sizeof *w.visits);
    if (!w.visits)
        return af_fail(err, AF_E_INTERNAL, "out of memory checking %" PRId64 " tree nodes",
                       s->node_count);
    int failed = 0;
    int64_t visited = 0;
#pragma omp parallel num_threads(threads > 0 ? threads : omp_get_max_threads())                   \
    reduction(+ : visited)
    {
        int64_t *stack = malloc((size_t)(2 * s->node_count + 2) * sizeof *stack);
        if (!stack) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (int t = 0; t < s->n_trees; t++)
            if (stack)
                walk_tree(&w, t, stack, &visited);
        free(stack);
    }
    if (!failed)
        check_unreached(&w);
    out->nodes_visited = visited;
    free(w.visits);
    return failed ? af_fail(err, AF_E_INTERNAL, "out of memory walking trees") : 0;
}
