/* How the work is split (all of it computed, never negotiated):
 *   - S shards (index.shards, 0 = one per rank) of contiguous rows, balanced (af_partition.h);
 *   - shards go to ranks in contiguous blocks, so a rank's rows are one contiguous range;
 *   - file layout: item nodes of all N rows | shard 0's tree nodes | shard 1's | ... | root
 *     copies (shard order, tree order). A rank's shards are contiguous in each of the three
 *     regions, so it writes three contiguous ranges with collective writes.
 * Only the per-shard tree-node counts are exchanged (an allgather) to place each shard.
 * The bytes depend on the data and the build keys alone: each shard's trees are seeded from
 * (seed, shard, tree), never from the rank or thread that builds them. */
#include "build_index.h"
#include "af_forest.h"
#include "af_partition.h"
#include "checksum.h"
#include "digests.h"
#include "index_meta.h"
#include "index_writer.h"
#include "manifest.h"
#include "md5_chain.h"
#include "progress.h"
#include "vectors.h"
#include "af_version.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

typedef struct build_plan {
    af_metric metric;
    af_node_format format;
    int dim; /* vector elements (floats, or words for hamming) */
    size_t node_size, vec_bytes;
    int leaf_capacity;
    int64_t n_rows;
    int shards, trees;
    int shard_lo, shard_hi; /* this rank's shards */
    int64_t row_lo, row_hi; /* their rows */
} build_plan;

static int64_t shard_row_start(const build_plan *p, int s) {
    return af_block_start(p->n_rows, p->shards, s);
}

/* The fewest tree nodes a shard of n rows can have: one leaf per L rows, joined by splits. */
static int64_t min_tree_nodes(int64_t n, int64_t leaf) {
    int64_t leaves = (n + leaf - 1) / leaf;
    return leaves > 1 ? 2 * leaves - 1 : 1;
}

/* A narrow index must fit int32 node ids: refused before any work, unless the config asks for
 * the wide format. Either way a shard's rows are numbered in int32 while its trees are built. */
static int check_node_ids(const af_job *job, const build_plan *p, af_error *err) {
    int64_t leaf = job->cfg.index.leaf_size ? job->cfg.index.leaf_size : p->leaf_capacity;
    int64_t need = p->n_rows + (int64_t)p->shards * p->trees;
    for (int s = 0; s < p->shards && need <= AF_NODE_ID_MAX; s++)
        need += p->trees * min_tree_nodes(af_block_size(p->n_rows, p->shards, s), leaf);
    if (p->format == AF_NODES_NARROW && need > AF_NODE_ID_MAX)
        return af_fail(
            err, AF_E_INPUT,
            "%s: %" PRId64 " rows with %d trees in each of %d shards need at least %" PRId64
            " node ids, more than the %d an Annoy index (int32 node ids) can hold; use "
            "fewer trees or rows, or set index.format = wide (64-bit node ids: "
            "annforest's own format, which Annoy cannot load)",
            job->cfg.reference.path, p->n_rows, p->trees, p->shards, need, AF_NODE_ID_MAX);
    int64_t biggest = af_block_size(p->n_rows, p->shards, 0);
    if (biggest >= INT32_MAX)
        return af_config_fail_key(&job->cfg, AF_CFG_INDEX_SHARDS, err,
                                  "%s: a shard of %" PRId64 " rows is more than one shard may "
                                  "hold (%d); use at least %" PRId64 " shards",
                                  job->cfg.reference.path, biggest, INT32_MAX - 1,
                                  p->n_rows / (INT32_MAX - 1) + 1);
    return 0;
}

static int plan_build(const af_job *job, build_plan *p, af_error *err) {
    const af_config *c = &job->cfg;
    memset(p, 0, sizeof *p);
    af_metric_parse(af_config_metric_name(c->index.metric), &p->metric);
    p->n_rows = (int64_t)job->ref.rows;
    uint64_t cols = job->ref.cols;
    if (p->n_rows < 1 || cols < 1)
        return af_fail(err, AF_E_INPUT, "%s: the reference has no rows or no columns",
                       c->reference.path);
    if (cols > INT32_MAX / 8)
        return af_fail(err, AF_E_INPUT, "%s: %" PRIu64 " columns is more than annforest supports",
                       c->reference.path, cols);
    /* auto: narrow, Annoy's own format; check_node_ids refuses what does not fit it */
    p->format = c->index.format == AF_CONFIG_FORMAT_WIDE ? AF_NODES_WIDE : AF_NODES_NARROW;
    p->dim = af_vector_dim(p->metric, cols);
    p->vec_bytes = af_vector_bytes(p->metric, cols);
    p->node_size = af_node_size(p->metric, p->format, p->dim);
    p->leaf_capacity = af_leaf_capacity(p->metric, p->format, p->dim);
    if (c->index.leaf_size > p->leaf_capacity)
        return af_config_fail_key(c, AF_CFG_INDEX_LEAF_SIZE, err,
                                  "more than %d, the most a %s node of %" PRIu64
                                  " dimensions holds",
                                  p->leaf_capacity, af_metric_name(p->metric), cols);
    p->trees = c->index.trees;
    p->shards = c->index.shards ? c->index.shards : job->world.size;
    if (p->shards > p->n_rows)
        return af_config_fail_key(c, AF_CFG_INDEX_SHARDS, err,
                                  "%d shards for %" PRId64 " reference rows: a shard needs rows",
                                  p->shards, p->n_rows);
    if (check_node_ids(job, p, err) != 0)
        return -1;
    p->shard_lo = (int)af_block_start(p->shards, job->world.size, job->world.rank);
    p->shard_hi = (int)af_block_start(p->shards, job->world.size, job->world.rank + 1);
    p->row_lo = shard_row_start(p, p->shard_lo);
    p->row_hi = shard_row_start(p, p->shard_hi);
    return 0;
}

static double local_max_norm(const build_plan *p, const void *vectors, const uint8_t *na) {
    double best = 0;
    for (int64_t i = 0; i < p->row_hi - p->row_lo; i++) {
        if (na[i])
            continue;
        double v =
            af_block_max_norm(p->metric, p->dim, (const char *)vectors + i * p->vec_bytes, 1);
        best = v > best ? v : best;
    }
    return best;
}

typedef struct local_shards {
    int count;
    af_shard_trees *trees;
} local_shards;

static int build_shards(const af_job *job, const build_plan *p, const void *vectors,
                        const uint8_t *na, double dot_max_norm, local_shards *out, af_error *err) {
    out->count = p->shard_hi - p->shard_lo;
    out->trees = calloc((size_t)(out->count ? out->count : 1), sizeof *out->trees);
    if (!out->trees)
        return af_fail(err, AF_E_INTERNAL, "out of memory");
    af_progress *prog =
        af_progress_start("building trees", "trees", (uint64_t)out->count * (uint64_t)p->trees);
    for (int i = 0; i < out->count; i++) {
        int s = p->shard_lo + i;
        int64_t first = shard_row_start(p, s) - p->row_lo;
        int64_t n = shard_row_start(p, s + 1) - shard_row_start(p, s);
        af_build_params bp = {
            .metric = p->metric,
            .node_format = p->format,
            .dim = p->dim,
            .n_trees = p->trees,
            .leaf_size = job->cfg.index.leaf_size,
            .seed = job->cfg.job.seed,
            .shard = s,
            .n_items_total = p->n_rows,
            .dot_max_norm = dot_max_norm,
            .threads = job->threads,
        };
        if (af_shard_build(&bp, (const char *)vectors + first * p->vec_bytes, n, na + first,
                           &out->trees[i], err) != 0) {
            af_error_prefix(err, "%s: shard %d (rows %" PRId64 "-%" PRId64 ")",
                            job->cfg.reference.path, s, shard_row_start(p, s) + 1,
                            shard_row_start(p, s + 1));
            af_progress_finish(prog);
            return -1;
        }
        af_progress_update(prog, (uint64_t)(i + 1) * (uint64_t)p->trees);
    }
    af_progress_finish(prog);
    return 0;
}

static void free_shards(local_shards *ls) {
    for (int i = 0; ls->trees && i < ls->count; i++)
        af_shard_trees_free(&ls->trees[i]);
    free(ls->trees);
    ls->trees = NULL;
}

/* Every shard's tree-node count, on every rank. */
static void gather_node_counts(const build_plan *p, const local_shards *ls, int64_t *counts) {
    af_world w = af_world_get();
    int *recv = malloc(sizeof(int) * (size_t)w.size), *displ = malloc(sizeof(int) * (size_t)w.size);
    int64_t *mine = malloc(sizeof(int64_t) * (size_t)(ls->count ? ls->count : 1));
    if (!recv || !displ || !mine) {
        /* The others are already in the collective below: ending the job is the only way
         * not to leave them waiting. */
        fprintf(stderr, "annforest: out of memory on rank %d\n", w.rank);
        MPI_Abort(MPI_COMM_WORLD, AF_E_INTERNAL);
    }
    for (int r = 0; r < w.size; r++) {
        displ[r] = (int)af_block_start(p->shards, w.size, r);
        recv[r] = (int)af_block_size(p->shards, w.size, r);
    }
    for (int i = 0; i < ls->count; i++)
        mine[i] = ls->trees[i].n_nodes;
    MPI_Allgatherv(mine, ls->count, MPI_INT64_T, counts, recv, displ, MPI_INT64_T, MPI_COMM_WORLD);
    free(recv), free(displ), free(mine);
}

typedef struct layout {
    int64_t *node_start; /* per shard: first tree node id */
    int64_t root_start;  /* first root copy */
    int64_t n_nodes;     /* whole file */
} layout;

static int place_shards(const af_job *job, const build_plan *p, const int64_t *counts, layout *lay,
                        af_error *err) {
    lay->node_start = malloc(sizeof(int64_t) * (size_t)p->shards);
    if (!lay->node_start)
        return af_fail(err, AF_E_INTERNAL, "out of memory");
    int64_t next = p->n_rows;
    for (int s = 0; s < p->shards; s++) {
        lay->node_start[s] = next;
        next += counts[s];
    }
    lay->root_start = next;
    lay->n_nodes = next + (int64_t)p->shards * p->trees;
    if (p->format == AF_NODES_NARROW && lay->n_nodes > (int64_t)AF_NODE_ID_MAX + 1)
        return af_fail(err, AF_E_INPUT,
                       "%s: the index needs %" PRId64 " nodes (%" PRId64 " rows, %d shards x %d "
                       "trees), more than int32 node ids allow (%d); use fewer trees or rows, or "
                       "set index.format = wide",
                       job->cfg.reference.path, lay->n_nodes, p->n_rows, p->shards, p->trees,
                       AF_NODE_ID_MAX);
    return 0;
}

/* Item nodes are made in pieces of at most 8 MiB: the buffer must not grow with the data, or the
 * per-rank memory stops shrinking as ranks are added. */
static int64_t item_piece_rows(const build_plan *p) {
    int64_t piece = (int64_t)((8u << 20) / p->node_size);
    return piece < 1 ? 1 : piece;
}

static void fill_items(const build_plan *p, const void *vectors, const uint8_t *na,
                       double dot_max_norm, int64_t first, int64_t count, unsigned char *nodes) {
    af_item_nodes_fill(p->metric, p->format, p->dim, (const char *)vectors + first * p->vec_bytes,
                       count, na + first, nodes, dot_max_norm);
}

static int write_items(af_index_writer *w, const build_plan *p, const void *vectors,
                       const uint8_t *na, double dot_max_norm, af_error *err) {
    int64_t n = p->row_hi - p->row_lo, piece = item_piece_rows(p);
    int64_t mine = (n + piece - 1) / piece, rounds = 0;
    MPI_Allreduce(&mine, &rounds, 1, MPI_INT64_T, MPI_MAX, MPI_COMM_WORLD);
    unsigned char *nodes = malloc((size_t)piece * p->node_size);
    int failed = nodes == NULL;
    if (failed)
        af_fail(err, AF_E_INTERNAL, "out of memory");
    if (af_mpi_agree(failed, err) != 0)
        return -1;
    int rc = 0;
    for (int64_t r = 0; r < rounds && rc == 0; r++) {
        int64_t a = r * piece, b = a + piece < n ? a + piece : n, count = a < n ? b - a : 0;
        if (count)
            fill_items(p, vectors, na, dot_max_norm, a, count, nodes);
        rc = af_index_writer_put(w, p->row_lo + a, nodes, count, err);
    }
    free(nodes);
    return rc;
}

static int write_trees(af_index_writer *w, const build_plan *p, const local_shards *ls,
                       const layout *lay, af_error *err) {
    int mine = ls->count, rounds = 0;
    MPI_Allreduce(&mine, &rounds, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    for (int i = 0; i < rounds; i++) {
        const af_shard_trees *t = i < ls->count ? &ls->trees[i] : NULL;
        if (af_index_writer_put(w, t ? lay->node_start[p->shard_lo + i] : 0, t ? t->nodes : NULL,
                                t ? t->n_nodes : 0, err) != 0)
            return -1;
    }
    /* The root copies of this rank's shards are contiguous too. */
    size_t n_roots = (size_t)ls->count * (size_t)p->trees;
    unsigned char *roots = malloc((n_roots ? n_roots : 1) * p->node_size);
    int failed = roots == NULL;
    if (failed)
        af_fail(err, AF_E_INTERNAL, "out of memory");
    if (af_mpi_agree(failed, err) != 0)
        return -1;
    for (int i = 0; i < ls->count; i++)
        for (int t = 0; t < p->trees; t++)
            memcpy(roots + ((size_t)i * (size_t)p->trees + (size_t)t) * p->node_size,
                   af_shard_root_node(&ls->trees[i], t), p->node_size);
    int rc = af_index_writer_put(w, lay->root_start + (int64_t)p->shard_lo * p->trees, roots,
                                 (int64_t)n_roots, err);
    free(roots);
    return rc;
}

static void iso_time(time_t t, char *out, size_t cap) {
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int base_name(const char *path, char *out, size_t cap) {
    const char *slash = strrchr(path, '/');
    return snprintf(out, cap, "%s", slash ? slash + 1 : path) < (int)cap ? 0 : -1;
}

/* What the sidecar records of the index file and of the reference. */
typedef struct index_sums {
    uint64_t size;
    char xxh3[17], md5[33];
    uint64_t ref_file_bytes;
    int64_t ref_files;
    char ref_xxh3[17];
} index_sums;

/* The MD5's last two regions, the tree nodes and the root copies, from memory; the item nodes
 * were fed during the build (hash_items). */
static int finish_md5(af_md5_chain *md5, const build_plan *p, const local_shards *ls, char hex[33],
                      af_error *err) {
    af_md5_chain_begin_piece(md5);
    for (int i = 0; i < ls->count; i++)
        af_md5_chain_update(md5, ls->trees[i].nodes,
                            (size_t)ls->trees[i].n_nodes * ls->trees[i].node_size);
    af_md5_chain_end_piece(md5);
    af_md5_chain_begin_piece(md5);
    for (int i = 0; i < ls->count; i++)
        for (int t = 0; t < p->trees; t++)
            af_md5_chain_update(md5, af_shard_root_node(&ls->trees[i], t), p->node_size);
    af_md5_chain_end_piece(md5);
    /* the same answer on every rank: no agreement needed */
    if (af_md5_chain_finish(md5, hex) != 0)
        return af_fail(err, AF_E_INTERNAL, "the index's MD5 could not be computed");
    return 0;
}

/* Collective: the written (not yet published) index file's digest by all ranks, its MD5 (when
 * md5 is not NULL), and the reference's digest by all ranks. */
static int compute_sums(const af_job *job, const char *tmp_path, const build_plan *p,
                        const local_shards *ls, af_md5_chain *md5, index_sums *sums,
                        af_error *err) {
    memset(sums, 0, sizeof *sums);
    af_phase_begin("checksum index");
    if (af_digest_file(tmp_path, job->threads, "hashing index", &sums->size, sums->xxh3, err) != 0)
        return -1;
    af_phase_end("checksum index", 0);
    af_phase_begin("md5 index");
    /* index.md5 = false: no sequential pass; file_md5 is left empty */
    if (md5 && finish_md5(md5, p, ls, sums->md5, err) != 0)
        return -1;
    af_phase_end("md5 index", 0);
    af_phase_begin("checksum reference");
    if (af_digest_matrix(&job->ref, job->threads, &sums->ref_file_bytes, &sums->ref_files,
                         sums->ref_xxh3, err) != 0) {
        af_error_prefix(err, "[reference] path");
        return -1;
    }
    af_phase_end("checksum reference", 0);
    return 0;
}

/* The reference as the meta names it: absolute, so that validate finds it from anywhere. */
static void reference_path(const char *given, char *out, size_t cap) {
    char *abs = realpath(given, NULL);
    snprintf(out, cap, "%s", abs ? abs : given);
    free(abs);
}

/* Rank 0: the sidecar, from the plan, the layout and the published file. */
static int write_meta(const af_job *job, const build_plan *p, const layout *lay,
                      const index_sums *sums, int64_t skipped, af_error *err) {
    const af_config *c = &job->cfg;
    af_index_meta m;
    memset(&m, 0, sizeof m);
    snprintf(m.index_id, sizeof m.index_id, "annforest-%s", sums->xxh3);
    snprintf(m.metric, sizeof m.metric, "%s", af_metric_name(p->metric));
    m.n_dim = (int64_t)job->ref.cols;
    m.n_ref = p->n_rows;
    m.n_trees = (int64_t)p->shards * p->trees;
    m.build_seed = c->job.seed;
    m.build_threads = job->threads;
    snprintf(m.build_backend, sizeof m.build_backend, "annforest-mpi");
    m.file_size = sums->size;
    struct stat st;
    iso_time(stat(c->index.path, &st) == 0 ? st.st_mtime : time(NULL), m.file_mtime,
             sizeof m.file_mtime);
    snprintf(m.file_md5, sizeof m.file_md5, "%s", sums->md5);
    snprintf(m.load_mode, sizeof m.load_mode, "%s", af_config_load_mode_name(c->index.load));
    if (base_name(c->index.path, m.index_file, sizeof m.index_file) != 0)
        return af_fail(err, AF_E_OUTPUT, "index file name too long: %s", c->index.path);
    snprintf(m.annforest_version, sizeof m.annforest_version, "%s", AF_VERSION);
    snprintf(m.node_format, sizeof m.node_format, "%s", af_node_format_name(p->format));
    m.node_size = (int64_t)p->node_size;
    m.n_nodes = lay->n_nodes;
    m.leaf_size = c->index.leaf_size ? c->index.leaf_size : p->leaf_capacity;
    m.shards = p->shards;
    m.trees_per_shard = p->trees;
    m.build_ranks = job->world.size;
    snprintf(m.file_xxh3, sizeof m.file_xxh3, "%s", sums->xxh3);
    snprintf(m.checksum_scheme, sizeof m.checksum_scheme, "%s", AF_DIGEST_SCHEME);
    snprintf(m.build_config_hash, sizeof m.build_config_hash, "%016llx",
             (unsigned long long)af_config_build_hash(c));
    reference_path(c->reference.path, m.reference_path, sizeof m.reference_path);
    m.reference_rows = p->n_rows;
    m.reference_cols = (int64_t)job->ref.cols;
    snprintf(m.reference_type, sizeof m.reference_type, "%s", af_elem_name(job->ref.type));
    if (af_matrix_required_bytes(&job->ref, &m.reference_bytes, err) != 0)
        return -1;
    snprintf(m.reference_checksum, sizeof m.reference_checksum, "%s", sums->ref_xxh3);
    m.reference_files = sums->ref_files;
    snprintf(m.na_policy, sizeof m.na_policy, "%s", af_config_na_name(c->reference.na));
    m.rows_skipped = skipped;
    m.shard = calloc((size_t)p->shards, sizeof *m.shard);
    if (!m.shard)
        return af_fail(err, AF_E_INTERNAL, "out of memory");
    for (int s = 0; s < p->shards; s++) {
        int64_t next = s + 1 < p->shards ? lay->node_start[s + 1] : lay->root_start;
        m.shard[s] = (af_shard_info){
            shard_row_start(p, s), shard_row_start(p, s + 1) - shard_row_start(p, s),
            lay->node_start[s], next - lay->node_start[s], lay->root_start + (int64_t)s * p->trees};
    }
    char meta_path[PATH_MAX + 8];
    af_index_meta_path(c->index.path, meta_path, sizeof meta_path);
    int rc = af_index_meta_write(&m, meta_path, err);
    af_index_meta_free(&m);
    return rc;
}

static int64_t count_skipped(const build_plan *p, const uint8_t *na) {
    int64_t mine = 0, all = 0;
    for (int64_t i = 0; i < p->row_hi - p->row_lo; i++)
        mine += na[i] != 0;
    MPI_Allreduce(&mine, &all, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
    return all;
}

/* The item nodes first, as soon as the rows are read (they do not depend on the trees), and
 * their writeback to disk started, so that the disk works while the trees are built. */
static int write_item_nodes(af_index_writer *writer, const build_plan *p, const void *vectors,
                            const uint8_t *na, double dot_max_norm, af_error *err) {
    /* a full disk fails here, before any node is written (the trees' blocks come later) */
    if (af_index_writer_reserve(writer, p->n_rows, err) != 0)
        return -1;
    af_progress *prog = af_progress_start("writing item nodes", "rows", (uint64_t)p->n_rows);
    int rc = write_items(writer, p, vectors, na, dot_max_norm, err);
    af_progress_update(prog, (uint64_t)p->n_rows);
    af_progress_finish(prog);
    if (rc == 0)
        af_index_writer_start_writeback(writer, p->row_lo, p->row_hi - p->row_lo);
    return rc;
}

/* This rank's item nodes, fed to the MD5 when the token comes: made again from the rows, which
 * is cheaper than reading them back and gives the bytes that were written. Rank 0 does it before
 * building its trees and the others after theirs, so that rank 0 hashes while they build, and
 * they hash while it builds (not inside write_items: its collective writes would make every
 * rank wait for rank 0's hashing). Every rank calls it, also when it failed (`failed`: then it
 * only passes the token on), so that no rank after it waits forever. Returns -1 when it failed,
 * before or here. */
static int hash_items(af_md5_chain *md5, const build_plan *p, const void *vectors,
                      const uint8_t *na, double dot_max_norm, int failed, af_error *err) {
    int64_t n = p->row_hi - p->row_lo, piece = item_piece_rows(p);
    af_md5_chain_begin_piece(md5);
    unsigned char *nodes = NULL;
    if (!failed && n > 0) {
        nodes = malloc((size_t)(piece < n ? piece : n) * p->node_size);
        if (!nodes)
            failed = af_fail(err, AF_E_INTERNAL, "out of memory") != 0;
    }
    for (int64_t a = 0; nodes && a < n; a += piece) {
        int64_t count = a + piece < n ? piece : n - a;
        fill_items(p, vectors, na, dot_max_norm, a, count, nodes);
        af_md5_chain_update(md5, nodes, (size_t)count * p->node_size);
    }
    free(nodes);
    if (failed)
        af_md5_chain_poison(md5);
    af_md5_chain_end_piece(md5);
    return failed ? -1 : 0;
}

/* hash_items as the "md5 items" phase, which every rank records under the same name (the
 * manifest lines up the ranks' phases in order), wherever its turn falls. */
static int hash_items_phase(af_md5_chain *md5, const build_plan *p, const void *vectors,
                            const uint8_t *na, double dot_max_norm, int failed, af_error *err) {
    af_phase_begin("md5 items");
    int rc = hash_items(md5, p, vectors, na, dot_max_norm, failed, err);
    af_phase_end("md5 items", (uint64_t)(p->row_hi - p->row_lo));
    return rc;
}

/* Write the trees, flush the file while it is checksummed, publish it, then the sidecar. */
static int write_index(const af_job *job, af_index_writer *writer, const build_plan *p,
                       const uint8_t *na, const local_shards *ls, const layout *lay,
                       af_md5_chain *md5, af_error *err) {
    const af_config *c = &job->cfg;
    int64_t skipped = count_skipped(p, na);
    af_progress *prog = af_progress_start("writing trees", "nodes", (uint64_t)lay->n_nodes);
    int rc = write_trees(writer, p, ls, lay, err);
    af_progress_update(prog, (uint64_t)lay->n_nodes);
    af_progress_finish(prog);
    if (rc == 0)
        rc = af_index_writer_close(writer, err);
    if (rc != 0) {
        af_index_writer_discard(writer);
        return -1;
    }
    /* The flush waits on the disk; the checksums only read the cached pages: both at once. */
    af_index_writer_sync_begin(writer);
    index_sums sums;
    rc = compute_sums(job, writer->tmp_path, p, ls, md5, &sums, err);
    af_phase_begin("sync index");
    if (rc == 0)
        rc = af_index_writer_sync_end(writer, err); /* the wait that was left */
    af_phase_end("sync index", 0);
    if (rc != 0 || af_index_writer_publish(writer, err) != 0) {
        af_index_writer_discard(writer);
        return -1;
    }
    int failed = job->world.rank == 0 && write_meta(job, p, lay, &sums, skipped, err) != 0;
    af_index_writer_discard(writer); /* the file is published: this releases its lock */
    if (af_mpi_agree(failed, err) != 0)
        return -1;
    af_manifest_add_index(c->index.path, sums.size, sums.xxh3); /* hashed once, above */
    if (job->world.rank == 0 && !job->quiet)
        fprintf(stderr,
                "built %s: %" PRId64 " rows, %d shards x %d trees, %" PRId64 " nodes, %" PRIu64
                " bytes, index_id annforest-%s\n",
                c->index.path, p->n_rows, p->shards, p->trees, lay->n_nodes, sums.size, sums.xxh3);
    return 0;
}

int af_build_index(const af_job *job, int replace, af_error *err) {
    build_plan p;
    int failed = plan_build(job, &p, err) != 0;
    if (af_mpi_agree(failed, err) != 0)
        return -1;
    /* Claim the output first: an index that may not be written fails before any work. */
    af_index_writer writer;
    if (af_index_writer_open(&writer, job->cfg.index.path, p.node_size,
                             replace || job->cfg.output.existing == AF_CONFIG_EXISTING_OVERWRITE,
                             err) != 0)
        return -1;
    void *vectors = NULL;
    uint8_t *na = NULL;
    local_shards ls = {0};
    layout lay = {0};
    af_md5_chain *md5 = NULL;
    af_phase_begin("read reference");
    failed = af_read_reference_rows(job, p.metric, p.row_lo, p.row_hi - p.row_lo, &vectors, &na,
                                    err) != 0;
    if (!failed && job->cfg.index.md5 && !(md5 = af_md5_chain_create()))
        failed = af_fail(err, AF_E_INTERNAL, "out of memory") != 0;
    int rc = af_mpi_agree(failed, err);
    af_phase_end("read reference", (uint64_t)p.n_rows);
    double dot_max_norm = 0;
    if (rc == 0 && p.metric == AF_DOT) {
        double mine = local_max_norm(&p, vectors, na);
        MPI_Allreduce(&mine, &dot_max_norm, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    }
    af_phase_begin("write items");
    if (rc == 0)
        rc = write_item_nodes(&writer, &p, vectors, na, dot_max_norm, err);
    af_phase_end("write items", (uint64_t)p.n_rows);
    af_phase_begin("build trees");
    if (rc == 0) {
        failed = 0;
        if (md5 && job->world.rank == 0)
            failed = hash_items_phase(md5, &p, vectors, na, dot_max_norm, failed, err) != 0;
        if (!failed)
            failed = build_shards(job, &p, vectors, na, dot_max_norm, &ls, err) != 0;
        /* before the agreement: the token must get through every rank (md5_chain.h) */
        if (md5 && job->world.rank > 0)
            failed = hash_items_phase(md5, &p, vectors, na, dot_max_norm, failed, err) != 0;
        rc = af_mpi_agree(failed, err);
    }
    af_phase_end("build trees", (uint64_t)p.n_rows);
    int64_t *counts = NULL;
    if (rc == 0) {
        counts = calloc((size_t)p.shards, sizeof *counts);
        failed = counts == NULL;
        if (failed)
            af_fail(err, AF_E_INTERNAL, "out of memory");
        rc = af_mpi_agree(failed, err);
    }
    if (rc == 0) {
        /* Collective on every rank; only local work follows before the next agreement. */
        gather_node_counts(&p, &ls, counts);
        failed = place_shards(job, &p, counts, &lay, err) != 0;
        for (int i = 0; !failed && i < ls.count; i++)
            failed = af_shard_relocate(&ls.trees[i], shard_row_start(&p, p.shard_lo + i),
                                       lay.node_start[p.shard_lo + i], err) != 0;
        rc = af_mpi_agree(failed, err);
    }
    if (rc == 0) /* a full disk fails now, before the trees are written */
        rc = af_index_writer_reserve(&writer, lay.n_nodes, err);
    af_phase_begin("write index");
    if (rc == 0)
        rc = write_index(job, &writer, &p, na, &ls, &lay, md5, err);
    else
        af_index_writer_discard(&writer);
    af_phase_end("write index", (uint64_t)p.n_rows);
    free(counts);
    free(lay.node_start);
    af_md5_chain_free(md5);
    free_shards(&ls);
    free(vectors);
    free(na);
    return rc;
}

static int stale_reason(const af_job *job, char *why, size_t cap, char ref_checksum[17]) {
    const af_config *c = &job->cfg;
    char meta_path[PATH_MAX + 8];
    af_index_meta_path(c->index.path, meta_path, sizeof meta_path);
    struct stat st;
    if (stat(c->index.path, &st) != 0)
        return snprintf(why, cap, "%s does not exist", c->index.path), 1;
    af_index_meta m;
    af_error err = {0};
    if (af_index_meta_read(meta_path, &m, &err) != 0)
        return snprintf(why, cap, "%s cannot be used (%s)", meta_path, err.msg), 1;
    char hash[17];
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)af_config_build_hash(c));
    int64_t shards = c->index.shards ? c->index.shards : job->world.size;
    uint64_t ref_bytes = 0;
    af_matrix_required_bytes(&job->ref, &ref_bytes, &err);
    int stale = 1;
    if ((uint64_t)st.st_size != m.file_size)
        snprintf(why, cap, "%s is %lld bytes, its metadata says %llu", c->index.path,
                 (long long)st.st_size, (unsigned long long)m.file_size);
    else if (strcmp(hash, m.build_config_hash) != 0)
        snprintf(why, cap, "build keys changed since %s was built", c->index.path);
    else if (m.shards != shards)
        snprintf(why, cap, "%s has %lld shards, the job asks for %lld", c->index.path,
                 (long long)m.shards, (long long)shards);
    else if ((uint64_t)m.reference_rows != job->ref.rows ||
             (uint64_t)m.reference_cols != job->ref.cols || m.reference_bytes != ref_bytes)
        snprintf(why, cap, "the reference changed shape or size since %s was built", c->index.path);
    else
        stale = 0;
    snprintf(ref_checksum, 17, "%s", m.reference_checksum);
    af_index_meta_free(&m);
    return stale;
}

int af_index_needs_build(const af_job *job, char *why, size_t cap) {
    char recorded[17] = "";
    int stale = job->world.rank == 0 ? stale_reason(job, why, cap, recorded) : 0;
    MPI_Bcast(&stale, 1, MPI_INT, 0, MPI_COMM_WORLD);
    MPI_Bcast(recorded, sizeof recorded, MPI_CHAR, 0, MPI_COMM_WORLD);
    if (stale || !recorded[0])
        return stale;
    /* Same shape and size: only the reference's checksum tells a changed value. */
    char now[17];
    uint64_t bytes;
    int64_t files;
    af_error err = {0};
    if (af_digest_matrix(&job->ref, job->threads, &bytes, &files, now, &err) != 0)
        snprintf(why, cap, "the reference cannot be hashed (%s)", err.msg);
    else if (strcmp(now, recorded) != 0)
        snprintf(why, cap, "the reference's data changed since %s was built (checksum %s, was %s)",
                 job->cfg.index.path, now, recorded);
    else
        return 0;
    return 1;
}
