#include "af_index.h"
#include "af_partition.h"
#include "index_open.h"
#include "manifest.h"
#include "progress.h"
#include "searchers.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct af_ann_searcher {
    const af_job *job;
    af_open_index ix;
    int fd;
    int n_local;
    af_shard_view *views;
    af_searcher **searchers;
    int64_t *search_k;
    int groups, group_index; /* ranks sharing one shard split its queries */
    af_neighbor *found, *merged;
    int64_t found_rows;
};

/* Which shards this rank searches, and which share of each batch. */
static void assign_shards(af_ann_searcher *s, int *lo, int *hi) {
    int S = s->ix.shards, P = s->job->world.size, r = s->job->world.rank;
    if (S >= P) {
        *lo = (int)af_block_start(S, P, r);
        *hi = (int)af_block_start(S, P, r + 1);
        s->groups = 1;
        s->group_index = 0;
    } else {
        int shard = (int)af_block_of(P, S, r);
        *lo = shard;
        *hi = shard + 1;
        s->groups = (int)af_block_size(P, S, shard);
        s->group_index = r - (int)af_block_start(P, S, shard);
    }
}

/* query.rerank: the 8-bit first pass exists for euclidean and manhattan, and keeps at least k. */
static int check_rerank(const af_job *job, const af_open_index *ix, af_error *err) {
    const af_config *c = &job->cfg;
    if (c->query.rerank == 0)
        return 0;
    if (ix->metric != AF_EUCLIDEAN && ix->metric != AF_MANHATTAN)
        return af_config_fail_key(c, AF_CFG_QUERY_RERANK, err,
                                  "applies to euclidean and manhattan indexes; %s is %s",
                                  c->index.path, af_metric_name(ix->metric));
    if (c->query.rerank < c->query.k)
        return af_config_fail_key(c, AF_CFG_QUERY_RERANK, err,
                                  "must be 0 (off) or at least query.k = %d", (int)c->query.k);
    return 0;
}

/* search_k is a budget for the whole index, split evenly over the shards. */
static int64_t shard_search_k(const af_ann_searcher *s, int shard) {
    int64_t total = s->job->cfg.query.search_k;
    if (total < 0)
        return -1; /* the core's default: this shard's roots x k */
    int64_t share = af_block_size(total, s->ix.shards, shard);
    return share > 0 ? share : 1;
}

static int search(void *ctx, const void *queries, int64_t nq, int64_t first_row,
                  const int64_t *exclude, af_neighbor *out, af_error *err) {
    (void)first_row;
    af_ann_searcher *s = ctx;
    int k = s->job->cfg.query.k, lf = af_metric_larger_first(s->ix.metric);
    int64_t q0 = af_block_start(nq, s->groups, s->group_index);
    int64_t qn = af_block_size(nq, s->groups, s->group_index);
    size_t vec = (size_t)s->ix.dim * af_metric_elem_size(s->ix.metric);
    if (qn > s->found_rows) {
        free(s->found);
        free(s->merged);
        s->found = malloc(sizeof *s->found * (size_t)(qn * k));
        s->merged = malloc(sizeof *s->merged * (size_t)k);
        s->found_rows = s->found && s->merged ? qn : 0;
        if (!s->found_rows)
            return af_fail(err, AF_E_INTERNAL, "out of memory for %" PRId64 " queries", qn);
    }
    for (int i = 0; i < s->n_local; i++) {
        af_search_params sp = {k, s->search_k[i], s->job->cfg.query.rerank};
        if (af_searcher_run(s->searchers[i], (const char *)queries + (size_t)q0 * vec, qn, &sp,
                            exclude ? exclude + q0 : NULL, s->found, err) != 0) {
            af_error_prefix(err, "%s (shard %d)", s->job->cfg.index.path, s->views[i].shard);
            return -1;
        }
        for (int64_t q = 0; q < qn; q++) {
            af_neighbor *row = out + (q0 + q) * k;
            af_topk_merge(row, s->found + q * k, k, lf, s->merged);
            memcpy(row, s->merged, sizeof *row * (size_t)k);
        }
    }
    return 0;
}

static unsigned load_flags(const af_config *c) {
    return (c->index.load == AF_CONFIG_LOAD_EAGER ? AF_MAP_EAGER : AF_MAP_LAZY) |
           (c->index.prefault ? AF_MAP_POPULATE : 0);
}

static int open_local_shards(af_ann_searcher *s, af_error *err) {
    const char *path = s->job->cfg.index.path;
    int lo, hi;
    assign_shards(s, &lo, &hi);
    s->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (s->fd < 0)
        return af_fail_errno(err, AF_E_INPUT, errno, "cannot open index %s", path);
    s->n_local = hi - lo;
    s->views = calloc((size_t)(s->n_local ? s->n_local : 1), sizeof *s->views);
    s->searchers = calloc((size_t)(s->n_local ? s->n_local : 1), sizeof *s->searchers);
    s->search_k = calloc((size_t)(s->n_local ? s->n_local : 1), sizeof *s->search_k);
    if (!s->views || !s->searchers || !s->search_k)
        return af_fail(err, AF_E_INTERNAL, "out of memory");
    for (int i = 0; i < s->n_local; i++) {
        if (af_shard_view_open(&s->ix, s->fd, path, lo + i, load_flags(&s->job->cfg), &s->views[i],
                               err) != 0)
            return -1;
        s->searchers[i] = af_searcher_create(&s->views[i].view, s->job->threads, err);
        if (!s->searchers[i])
            return -1;
        s->search_k[i] = shard_search_k(s, lo + i);
    }
    return 0;
}

af_ann_searcher *af_ann_searcher_open(const af_job *job, af_searcher_ops *ops, af_error *err) {
    af_ann_searcher *s = calloc(1, sizeof *s);
    int failed = s == NULL;
    if (failed)
        af_fail(err, AF_E_INTERNAL, "out of memory");
    if (af_mpi_agree(failed, err) != 0)
        return NULL;
    s->job = job;
    s->fd = -1;
    if (af_index_open(job, job->query.cols, &s->ix, err) != 0) {
        free(s);
        return NULL;
    }
    failed = 0;
    if ((int64_t)job->query.cols != s->ix.n_dim)
        failed = af_fail(err, AF_E_MISMATCH,
                         "%s has %" PRIu64 " columns but index %s has %" PRId64 " dimensions",
                         job->cfg.query.self ? job->cfg.reference.path : job->cfg.query.path,
                         job->query.cols, job->cfg.index.path, s->ix.n_dim) != 0;
    if (!failed)
        failed = check_rerank(job, &s->ix, err) != 0;
    double t0 = af_now(), took = 0;
    af_phase_begin("index load");
    if (!failed)
        failed = open_local_shards(s, err) != 0;
    if (af_mpi_agree(failed, err) != 0) {
        af_ann_searcher_close(s);
        return NULL;
    }
    took = af_now() - t0;
    af_phase_end("index load", 0);
    MPI_Allreduce(MPI_IN_PLACE, &took, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    ops->load_seconds = took;
    if (job->world.rank == 0 && !job->quiet)
        fprintf(stderr, "index %s: index_id %s, %d shards, mapped (%s%s) in %.3f s\n",
                job->cfg.index.path, s->ix.index_id, s->ix.shards,
                af_config_load_mode_name(job->cfg.index.load),
                job->cfg.index.prefault ? ", prefault" : "", took);
    ops->search = search;
    ops->ctx = s;
    ops->metric = s->ix.metric;
    ops->index_id = s->ix.index_id;
    return s;
}

void af_ann_searcher_close(af_ann_searcher *s) {
    if (!s)
        return;
    for (int i = 0; s->views && i < s->n_local; i++) {
        if (s->searchers && s->searchers[i])
            af_searcher_free(s->searchers[i]);
        af_shard_view_close(&s->views[i]);
    }
    if (s->fd >= 0)
        close(s->fd);
    free(s->views), free(s->searchers), free(s->search_k), free(s->found), free(s->merged);
    af_index_close(&s->ix);
    free(s);
}

int af_query_index(const af_job *job, af_error *err) {
    af_searcher_ops ops;
    af_ann_searcher *s = af_ann_searcher_open(job, &ops, err);
    if (!s)
        return -1;
    int rc = af_run_queries(job, &ops, err);
    af_ann_searcher_close(s);
    return rc;
}
