/* af_tree_dfs: one tree at a time, depth first, as Annoy builds. Each split reads its rows in
 * the order of its segment (scattered over the shard). The reference for af_tree_batch.c, and
 * the builder when trees are built one at a time. */
#include <stdlib.h>

#include "af_tree_nodes.h"

typedef struct dfs {
    const af_tree_ctx *c;
    int32_t *idx, *tmp;  /* rows of the tree; partition scratch */
    unsigned char *side; /* by row id */
    float *scratch;
    af_node_buf buf;
} dfs;

static int64_t make_tree(dfs *b, int64_t off, int64_t count, int is_root, uint64_t seed);

static int64_t make_split(dfs *b, int64_t off, int64_t count, int is_root, uint64_t seed) {
    unsigned char *m = calloc(1, b->c->s);
    if (!m) {
        b->buf.failed = 1;
        return -1;
    }
    af_kiss64 rng;
    af_kiss64_seed(&rng, seed);
    int64_t ones = af_choose_sides(b->c, b->idx + off, count, &rng, m, b->scratch, b->side, 0, 0);
    int64_t zeros = count - ones;
    af_partition_rows(b->idx + off, b->tmp + off, count, zeros, b->side);
    int64_t part_off[2] = {off, off + zeros}, part_count[2] = {zeros, ones};
    int64_t child[2] = {-1, -1};
    int flip = zeros > ones; /* the smaller side first, as Annoy (cache locality) */
    for (int i = 0; i < 2 && !b->buf.failed; i++) {
        int part = i ^ flip;
        child[part] = make_tree(b, part_off[part], part_count[part], 0, af_child_seed(seed, part));
    }
    int64_t id = af_nodes_split(b->c, &b->buf, m, is_root, count, child, flip);
    free(m);
    return id;
}

static int64_t make_tree(dfs *b, int64_t off, int64_t count, int is_root, uint64_t seed) {
    af_seg_kind kind = af_seg_classify(b->c, count, is_root);
    if (kind != AF_SEG_SPLIT)
        return af_nodes_terminal(b->c, &b->buf, kind, b->idx + off, count);
    return make_split(b, off, count, is_root, seed);
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
