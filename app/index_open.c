#include "index_open.h"
#include "file_util.h"
#include "vectors.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The metric of an index with metadata is its own; a config that names another is wrong. */
static int check_metric(const af_job *job, const af_open_index *ix, af_error *err) {
    const af_config *c = &job->cfg;
    af_metric asked;
    af_metric_parse(af_config_metric_name(c->index.metric), &asked);
    if (c->origin[AF_CFG_INDEX_METRIC].from != AF_FROM_DEFAULT && asked != ix->metric)
        return af_fail(err, AF_E_MISMATCH,
                       "index %s was built with metric %s, the config asks for %s", c->index.path,
                       af_metric_name(ix->metric), af_metric_name(asked));
    return 0;
}

static int from_meta(const af_job *job, af_open_index *ix, uint64_t file_size, af_error *err) {
    const af_index_meta *m = &ix->meta;
    const char *path = job->cfg.index.path;
    if (af_metric_parse(m->metric, &ix->metric) != 0)
        return af_fail(err, AF_E_INPUT, "%s.meta: unknown metric '%s'", path, m->metric);
    if (af_node_format_parse(m->node_format, &ix->format) != 0)
        return af_fail(err, AF_E_INPUT,
                       "%s.meta: node format '%s' is not supported by this version (known: %s, %s)",
                       path, m->node_format, af_node_format_name(AF_NODES_NARROW),
                       af_node_format_name(AF_NODES_WIDE));
    char meta_path[PATH_MAX + 8];
    af_index_meta_path(path, meta_path, sizeof meta_path);
    if (af_index_meta_check(m, meta_path, err) != 0)
        return -1;
    ix->n_dim = m->n_dim;
    if (m->n_dim > INT32_MAX / 64)
        return af_fail(err, AF_E_INPUT, "%s: n_dim = %" PRId64 " is too large", meta_path,
                       m->n_dim);
    ix->dim = af_vector_dim(ix->metric, (uint64_t)m->n_dim);
    ix->node_size = af_node_size(ix->metric, ix->format, ix->dim);
    ix->n_items = m->n_ref;
    ix->n_nodes = m->n_nodes;
    ix->shards = (int)m->shards;
    ix->trees_per_shard = (int)m->trees_per_shard;
    snprintf(ix->index_id, sizeof ix->index_id, "%s", m->index_id);
    if ((int64_t)ix->node_size != m->node_size)
        return af_fail(err, AF_E_INPUT,
                       "%s: node_size = %" PRId64 " but %s nodes of %" PRId64
                       " dimensions are %zu bytes",
                       meta_path, m->node_size, m->metric, m->n_dim, ix->node_size);
    if (m->shards > INT32_MAX || m->trees_per_shard > INT32_MAX ||
        m->n_nodes - 1 > af_node_id_max(ix->format))
        return af_fail(err, AF_E_INPUT, "%s: more shards, trees or nodes than %s ids allow",
                       meta_path, m->node_format);
    if (file_size != m->file_size)
        return af_fail(err, AF_E_MISMATCH,
                       "index %s is %" PRIu64 " bytes but its metadata says %" PRIu64
                       " (truncated, or replaced without its .meta)",
                       path, file_size, m->file_size);
    return check_metric(job, ix, err);
}

/* The node format of a file without metadata: Annoy's, unless the config says wide. */
static af_node_format foreign_format(const af_job *job) {
    return job->cfg.index.format == AF_CONFIG_FORMAT_WIDE ? AF_NODES_WIDE : AF_NODES_NARROW;
}

/* An Annoy file made elsewhere: metric (and node format) from the config, dimension from the
 * queries. */
static int foreign_roots(const af_job *job, af_open_index *ix, uint64_t query_cols,
                         uint64_t file_size, af_error *err) {
    const char *path = job->cfg.index.path;
    af_metric_parse(af_config_metric_name(job->cfg.index.metric), &ix->metric);
    ix->format = foreign_format(job);
    ix->n_dim = (int64_t)query_cols;
    ix->dim = af_vector_dim(ix->metric, query_cols);
    ix->node_size = af_node_size(ix->metric, ix->format, ix->dim);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return af_fail_errno(err, AF_E_INPUT, errno, "cannot open index %s", path);
    af_mapped_range all;
    af_index_view v;
    memset(&v, 0, sizeof v);
    int rc = af_map_range(fd, path, 0, file_size, AF_MAP_LAZY, &all, err);
    close(fd);
    if (rc == 0) {
        rc = af_index_load_annoy(&v, ix->metric, ix->format, ix->dim, all.data, file_size, err);
        if (rc != 0)
            af_error_prefix(
                err, "index %s (no .meta; read as a plain Annoy file, %s, %" PRIu64 " dimensions)",
                path, af_metric_name(ix->metric), query_cols);
    }
    if (rc == 0) {
        ix->n_items = v.n_items;
        ix->n_nodes = (int64_t)(file_size / ix->node_size);
        ix->n_roots = v.n_roots;
        ix->roots = malloc(sizeof(int64_t) * (size_t)(v.n_roots ? v.n_roots : 1));
        if (ix->roots)
            memcpy(ix->roots, v.roots, sizeof(int64_t) * (size_t)v.n_roots);
        else
            rc = af_fail(err, AF_E_INTERNAL, "out of memory");
    }
    af_index_view_free(&v);
    af_unmap_range(&all);
    return rc;
}

/* Rank 0's findings, as bytes for the others. */
typedef struct open_summary {
    int32_t foreign;
    int32_t metric;
    int64_t n_dim, n_items, n_nodes, n_roots;
} open_summary;

static int rank0_open(const af_job *job, uint64_t query_cols, af_open_index *ix, char **meta_text,
                      size_t *meta_len, af_error *err) {
    const char *path = job->cfg.index.path;
    struct stat st;
    if (stat(path, &st) != 0)
        return af_fail_errno(err, AF_E_INPUT, errno, "index %s", path);
    if (!S_ISREG(st.st_mode))
        return af_fail(err, AF_E_INPUT, "index %s is not a regular file", path);
    char meta_path[PATH_MAX + 8];
    af_index_meta_path(path, meta_path, sizeof meta_path);
    if (access(meta_path, F_OK) != 0) {
        ix->foreign = 1;
        return foreign_roots(job, ix, query_cols, (uint64_t)st.st_size, err);
    }
    *meta_text = af_read_small_file(meta_path, 64 << 20, meta_len, err);
    if (!*meta_text || af_index_meta_parse(*meta_text, *meta_len, meta_path, &ix->meta, err) != 0)
        return -1;
    return from_meta(job, ix, (uint64_t)st.st_size, err);
}

static int make_foreign_shard(af_open_index *ix, af_error *err) {
    ix->shards = 1;
    ix->trees_per_shard = (int)ix->n_roots;
    ix->meta.shards = 1;
    ix->meta.shard = calloc(1, sizeof *ix->meta.shard);
    if (!ix->meta.shard)
        return af_fail(err, AF_E_INTERNAL, "out of memory");
    /* Everything after the items is searched as one range of tree nodes, root copies included. */
    ix->meta.shard[0] = (af_shard_info){0, ix->n_items, ix->n_items, ix->n_nodes - ix->n_items, -1};
    snprintf(ix->index_id, sizeof ix->index_id, "annoy-file");
    return 0;
}

int af_index_open(const af_job *job, uint64_t query_cols, af_open_index *ix, af_error *err) {
    memset(ix, 0, sizeof *ix);
    char *meta_text = NULL;
    size_t meta_len = 0;
    int is_root = job->world.rank == 0;
    int failed = is_root && rank0_open(job, query_cols, ix, &meta_text, &meta_len, err) != 0;
    if (af_mpi_agree(failed, err) != 0) {
        free(meta_text);
        af_index_close(ix);
        return -1;
    }
    open_summary sum = {ix->foreign, (int32_t)ix->metric, ix->n_dim,
                        ix->n_items, ix->n_nodes,         ix->n_roots};
    af_bcast_bytes(&sum, sizeof sum);
    int rc = 0;
    if (sum.foreign) {
        if (!is_root) {
            ix->foreign = 1;
            ix->metric = (af_metric)sum.metric;
            ix->format = foreign_format(job);
            ix->n_dim = sum.n_dim;
            ix->dim = af_vector_dim(ix->metric, (uint64_t)sum.n_dim);
            ix->node_size = af_node_size(ix->metric, ix->format, ix->dim);
            ix->n_items = sum.n_items;
            ix->n_nodes = sum.n_nodes;
            ix->n_roots = sum.n_roots;
            ix->roots = malloc(sizeof(int64_t) * (size_t)(sum.n_roots ? sum.n_roots : 1));
            if (!ix->roots) {
                fprintf(stderr, "annforest: out of memory on rank %d\n", job->world.rank);
                MPI_Abort(MPI_COMM_WORLD, AF_E_INTERNAL);
            }
        }
        MPI_Bcast(ix->roots, (int)sum.n_roots, MPI_INT64_T, 0, MPI_COMM_WORLD);
        failed = make_foreign_shard(ix, err) != 0;
    } else {
        char *text = af_bcast_blob(meta_text, meta_len, &meta_len, err);
        failed = !text;
        if (text && !is_root)
            failed =
                af_index_meta_parse(text, meta_len, job->cfg.index.path, &ix->meta, err) != 0 ||
                from_meta(job, ix, ix->meta.file_size, err) != 0;
        free(text);
    }
    free(meta_text);
    rc = af_mpi_agree(failed, err);
    if (rc != 0)
        af_index_close(ix);
    return rc;
}

void af_index_close(af_open_index *ix) {
    free(ix->roots);
    ix->roots = NULL;
    af_index_meta_free(&ix->meta);
}

int af_shard_view_open(const af_open_index *ix, int fd, const char *path, int s,
                       unsigned load_flags, af_shard_view *out, af_error *err) {
    memset(out, 0, sizeof *out);
    out->shard = s;
    const af_shard_info *sh = &ix->meta.shard[s];
    uint64_t ns = ix->node_size;
    if (af_map_range(fd, path, (uint64_t)sh->row_start * ns, (uint64_t)sh->row_count * ns,
                     load_flags, &out->items, err) != 0 ||
        af_map_range(fd, path, (uint64_t)sh->node_start * ns, (uint64_t)sh->node_count * ns,
                     load_flags, &out->trees, err) != 0)
        goto fail;
    int64_t *roots = ix->roots, n_roots = ix->n_roots;
    int64_t *own = NULL;
    if (!ix->foreign) {
        if (af_map_range(fd, path, (uint64_t)sh->root_start * ns,
                         (uint64_t)ix->trees_per_shard * ns, load_flags, &out->roots, err) != 0)
            goto fail;
        n_roots = ix->trees_per_shard;
        own = roots = malloc(sizeof(int64_t) * (size_t)n_roots);
        if (!own) {
            af_fail(err, AF_E_INTERNAL, "out of memory");
            goto fail;
        }
        for (int64_t t = 0; t < n_roots; t++)
            roots[t] = sh->root_start + t;
    }
    int rc = af_index_view_init(&out->view, ix->metric, ix->format, ix->dim, ix->n_items, err);
    if (rc == 0)
        rc =
            af_index_view_set_items(&out->view, sh->row_start, sh->row_count, out->items.data, err);
    if (rc == 0)
        rc = af_index_view_add_trees(&out->view, sh->node_start, sh->node_count, out->trees.data,
                                     err);
    if (rc == 0 && !ix->foreign)
        rc = af_index_view_add_trees(&out->view, sh->root_start, ix->trees_per_shard,
                                     out->roots.data, err);
    if (rc == 0)
        rc = af_index_view_set_roots(&out->view, roots, n_roots, err);
    free(own);
    if (rc == 0)
        return 0;
    af_error_prefix(err, "index %s, shard %d", path, s);
fail:
    af_shard_view_close(out);
    return -1;
}

void af_shard_view_close(af_shard_view *v) {
    af_index_view_free(&v->view);
    af_unmap_range(&v->items);
    af_unmap_range(&v->trees);
    af_unmap_range(&v->roots);
}
