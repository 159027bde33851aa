/* The two kinds of per-rank search work the query pipeline runs. */
#ifndef AF_SEARCHERS_H
#define AF_SEARCHERS_H

#include "query_pipeline.h"

/* Tree search over the shards of job->cfg's index this rank is given (a rank takes a block of
 * shards, or, with fewer shards than ranks, ranks share a shard and split its queries). */
typedef struct af_ann_searcher af_ann_searcher;
af_ann_searcher *af_ann_searcher_open(const af_job *job, af_searcher_ops *ops, af_error *err);
void af_ann_searcher_close(af_ann_searcher *s);

/* Collective: open the index, run every query batch through it, close it (query and run). */
int af_query_index(const af_job *job, af_error *err);

/* Brute force over this rank's block of reference rows. */
typedef struct af_exact_searcher af_exact_searcher;
af_exact_searcher *af_exact_searcher_open(const af_job *job, af_searcher_ops *ops, af_error *err);
void af_exact_searcher_close(af_exact_searcher *s);

#endif
