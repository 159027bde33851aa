/* The distributed build: every rank builds the trees of its shards and all ranks write one
 * Annoy-compatible index file through MPI-IO, then rank 0 writes the .meta sidecar. */
#ifndef AF_BUILD_INDEX_H
#define AF_BUILD_INDEX_H

#include "job.h"

/* Collective. Builds job->cfg's index from job->ref. */
int af_build_index(const af_job *job, af_error *err);

#endif
