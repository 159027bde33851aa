/* af_tree_dfs: one tree at a time, depth first, as Annoy builds. Each split reads its rows in
 * the order of its segment (scattered over the shard). The reference for af_tree_batch.c, and
 * the builder when trees are built one at a time. The first planes of a split's two children
 * are drawn together (plan_children), which gives the same planes sooner. */
#include <stdlib.h>

#include "af_tree_nodes.h"

typedef struct dfs {
    const af_tree_ctx *c;
    int32_t *idx, *tmp;  /* rows of the tree; partition scratch */
    unsigned char *side; /* by row id */
    float *scratch;
    af_node_buf buf;
} dfs;

/* A split whose first plane is already drawn: its node bytes, and its stream after the draw. */
typedef struct planned {
    unsigned char *m;
    af_kiss64 rng;
} planned;

static int64_t make_tree(dfs *b, int64_t off, int64_t count, int is_root, uint64_t seed);

/* The first planes of both children of a split, their two-means steps taking turns (each draws
 * from its own stream, as it would on its own); 0 when either child is not a split (or out of
 * memory: then each draws its own later). */
static int plan_children(dfs *b, const int64_t off[2], const int64_t count[2], uint64_t seed,
                         planned kid[2]) {
    for (int i = 0; i < 2; i++)
        if (af_seg_classify(b->c, count[i], 0) != AF_SEG_SPLIT)
            return 0;
    kid[0].m = calloc(1, b->c->s);
    kid[1].m = calloc(1, b->c->s);
    if (!kid[0].m || !kid[1].m) {
        free(kid[0].m);
        free(kid[1].m);
        return 0;
    }
    af_split_job jobs[2];
    for (int i = 0; i < 2; i++) {
        af_kiss64_seed(&kid[i].rng, af_child_seed(seed, i));
        jobs[i] = (af_split_job){b->idx + off[i], count[i], &kid[i].rng, kid[i].m};
    }
    b->c->t->create_splits(b->c->t, b->c->d, jobs, 2, b->scratch);
    return 1;
}

/* A split node over idx[off..off + count), its plane drawn here or already (pl). */
static int64_t make_split(dfs *b, int64_t off, int64_t count, int is_root, uint64_t seed,
                          planned *pl) {
    planned own;
    int64_t ones = 0;
    if (pl) {
        own = *pl;
        ones = b->c->t->sides(b->c->t, b->c->d, own.m, b->idx + off, count, &own.rng, b->side);
    } else {
        own.m = calloc(1, b->c->s);
        if (!own.m) {
            b->buf.failed = 1;
            return -1;
        }
        af_kiss64_seed(&own.rng, seed);
    }
    ones = af_choose_sides(b->c, b->idx + off, count, &own.rng, own.m, b->scratch, b->side,
                           pl ? 1 : 0, ones);
    int64_t zeros = count - ones;
    af_partition_rows(b->idx + off, b->tmp + off, count, zeros, b->side);
    int64_t part_off[2] = {off, off + zeros}, part_count[2] = {zeros, ones};
    planned kid[2];
    int planned_kids = plan_children(b, part_off, part_count, seed, kid);
    int64_t child[2] = {-1, -1};
    int flip = zeros > ones; /* the smaller side first, as Annoy (cache locality) */
    for (int i = 0; i < 2; i++) {
        int part = i ^ flip;
        if (b->buf.failed)
            break;
        child[part] = planned_kids ? make_split(b, part_off[part], part_count[part], 0,
                                                af_child_seed(seed, part), &kid[part])
                                   : make_tree(b, part_off[part], part_count[part], 0,
                                               af_child_seed(seed, part));
        if (planned_kids)
            kid[part].m = NULL; /* freed by make_split */
    }
    if (planned_kids) { /* a child left unbuilt by a failure */
        free(kid[0].m);
        free(kid[1].m);
    }
    int64_t id = af_nodes_split(b->c, &b->buf, own.m, is_root, count, child, flip);
    free(own.m);
    return id;
}

static int64_t make_tree(dfs *b, int64_t off, int64_t count, int is_root, uint64_t seed) {
    af_seg_kind kind = af_seg_classify(b->c, count, is_root);
    if (kind != AF_SEG_SPLIT)
        return af_nodes_terminal(b->c, &b->buf, kind, b->idx + off, count);
    return make_split(b, off, count, is_root, seed, NULL);
}

int64_t af_tree_dfs_subtree(const af_tree_ctx *c, af_node_buf *buf, int32_t *idx, int32_t *tmp,
                            unsigned char *side, float *scratch, int64_t count, uint64_t seed) {
    dfs b = {c, idx, tmp, side, scratch, *buf};
    int64_t id = make_tree(&b, 0, count, 0, seed);
    *buf = b.buf;
    return id;
}

/* One tree, on the first tree's share of the arrays. */
static int64_t build_one(const af_build_params *p, const af_tree_ctx *c, const int32_t *rows,
                         int64_t n_rows, int tree, af_tree_arrays *a, af_node_buf *buf) {
    dfs b = {.c = c, .idx = a->idx, .tmp = a->tmp, .side = a->side, .buf = *buf};
    b.scratch = malloc(af_split_scratch_floats(p->dim) * sizeof(float));
    int64_t root = -1;
    if (b.scratch) {
        memcpy(b.idx, rows, (size_t)n_rows * sizeof *b.idx);
        root = make_tree(&b, 0, n_rows, 1, af_tree_seed(p->seed, p->shard, tree));
    } else {
        b.buf.failed = 1;
    }
    free(b.scratch);
    *buf = b.buf;
    return root;
}

void af_build_trees_dfs(const af_build_params *p, const af_tree_ctx *c, const int32_t *rows,
                        int64_t n_rows, int tree0, int count, af_tree_arrays *a, af_node_buf *buf,
                        int64_t *roots) {
    if (af_tree_arrays_reserve(a, c, n_rows, 1) < 0)
        buf->failed = 1;
    for (int i = 0; i < count; i++) {
        roots[i] = buf->failed ? -1 : build_one(p, c, rows, n_rows, tree0 + i, a, buf);
        if (roots[i] < 0)
            buf->failed = 1;
    }
}
