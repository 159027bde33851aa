/* The query loop shared by `query` (tree search over the index's shards) and `exact` (brute
 * force over the reference): batches of query rows, each searched by every rank's part of the
 * work, partial top-k lists merged onto the rows' owners by an MPI reduce-scatter with a top-k
 * merge operation, owners writing their rows with collective MPI-IO writes. */
#ifndef AF_QUERY_PIPELINE_H
#define AF_QUERY_PIPELINE_H

#include "af_metric.h"
#include "af_neighbor.h"
#include "job.h"

/* Search the nq query vectors of one batch (rows first_row .. first_row + nq - 1 of the query
 * matrix) with this rank's part of the work; `out` (nq * k entries, cleared) gets this rank's
 * partial lists. `exclude` (may be NULL) holds one id per query not to return. */
typedef int (*af_batch_search_fn)(void *ctx, const void *queries, int64_t nq, int64_t first_row,
                                  const int64_t *exclude, af_neighbor *out, af_error *err);

typedef struct af_searcher_ops {
    af_batch_search_fn search;
    void *ctx;
    af_metric metric;     /* how query rows are read, and the distance order */
    const char *index_id; /* recorded in messages; may be NULL */
    double load_seconds;  /* mapping (and, eager, touching) the index: slowest rank */
} af_searcher_ops;

/* Collective. Runs every batch and publishes the outputs of job->cfg. */
int af_run_queries(const af_job *job, const af_searcher_ops *ops, af_error *err);

#endif
