#include "af_exact.h"
#include "af_partition.h"
#include "searchers.h"
#include "vectors.h"

#include <inttypes.h>
#include <stdlib.h>

struct af_exact_searcher {
    const af_job *job;
    af_metric metric;
    int dim;
    int64_t row_lo, n_rows;
    void *vectors;
    uint8_t *na;
};

static int search(void *ctx, const void *queries, int64_t nq, int64_t first_row,
                  const int64_t *exclude, af_neighbor *out, af_error *err) {
    (void)first_row;
    af_exact_searcher *s = ctx;
    if (s->n_rows == 0)
        return 0;
    af_exact_params p = {s->metric, s->dim, s->job->cfg.query.k, s->job->threads};
    return af_exact_knn(&p, s->vectors, s->n_rows, s->row_lo, s->na, queries, nq, exclude, out,
                        err);
}

af_exact_searcher *af_exact_searcher_open(const af_job *job, af_searcher_ops *ops, af_error *err) {
    af_exact_searcher *s = calloc(1, sizeof *s);
    int failed = s == NULL;
    if (failed)
        af_fail(err, AF_E_INTERNAL, "out of memory");
    /* agreed first: the reference read below is collective, every rank must reach it */
    if (af_mpi_agree(failed, err) != 0)
        return NULL;
    s->job = job;
    af_metric_parse(af_config_metric_name(job->cfg.index.metric), &s->metric);
    s->dim = af_vector_dim(s->metric, job->ref.cols);
    s->row_lo = af_block_start((int64_t)job->ref.rows, job->world.size, job->world.rank);
    s->n_rows = af_block_size((int64_t)job->ref.rows, job->world.size, job->world.rank);
    if (job->query.cols != job->ref.cols) /* the same on every rank: from the broadcast job */
        failed = af_fail(err, AF_E_MISMATCH, "%s has %" PRIu64 " columns but %s has %" PRIu64,
                         job->cfg.query.path, job->query.cols, job->cfg.reference.path,
                         job->ref.cols) != 0;
    else
        failed = af_read_reference_rows(job, s->metric, s->row_lo, s->n_rows, &s->vectors, &s->na,
                                        err) != 0;
    if (af_mpi_agree(failed, err) != 0) {
        af_exact_searcher_close(s);
        return NULL;
    }
    ops->search = search;
    ops->ctx = s;
    ops->metric = s->metric;
    ops->index_id = NULL;
    return s;
}

void af_exact_searcher_close(af_exact_searcher *s) {
    if (!s)
        return;
    free(s->vectors);
    free(s->na);
    free(s);
}
