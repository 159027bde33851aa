/* af_index_check: a structural walk of one shard's trees, for `annforest validate --strict`.
 *
 * It proves what a search relies on and a checksum cannot (a checksum only says the bytes are
 * the ones the build wrote): every child id is in range and inside the shard (an item of its
 * rows or one of its tree nodes), every leaf's count fits the node, every root copy holds N and
 * is a byte copy of its tree's root, and every tree node is reached exactly once (no cycles, no
 * node shared between trees, nothing orphaned except each tree's own root, which its copy
 * stands for). Trees are walked in parallel. */
#ifndef AF_INDEX_CHECK_H
#define AF_INDEX_CHECK_H

#include "af_error.h"
#include "af_index.h"

#include <stdint.h>

typedef struct af_shard_layout {
    int64_t row_start, row_count;   /* the shard's items */
    int64_t node_start, node_count; /* its tree nodes */
    int64_t root_start;             /* its root copies, n_trees of them */
    int n_trees;
} af_shard_layout;

typedef enum af_tree_problem {
    AF_TREE_CHILDREN = 0, /* a child id out of range or outside the shard */
    AF_TREE_LEAVES = 1,   /* a leaf or split count that cannot be */
    AF_TREE_ROOTS = 2,    /* a root copy that does not match its tree */
    AF_TREE_COVERAGE = 3, /* a node reached twice, or never */
    AF_TREE_PROBLEMS = 4
} af_tree_problem;

typedef struct af_tree_report {
    int64_t nodes_visited;
    int64_t count[AF_TREE_PROBLEMS];   /* problems of each kind */
    char first[AF_TREE_PROBLEMS][256]; /* the first one of each kind, for the user */
} af_tree_report;

/* Walk the shard's trees in view v (its items, tree nodes and root copies mapped). Fails only on
 * memory; what it finds goes to *out. */
int af_check_shard_trees(const af_index_view *v, const af_shard_layout *s, int threads,
                         af_tree_report *out, af_error *err);

#endif
