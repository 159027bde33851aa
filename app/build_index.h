/* The distributed build: every rank builds the trees of its shards and all ranks write one
 * Annoy-compatible index file through MPI-IO, then rank 0 writes the .meta sidecar. */
#ifndef AF_BUILD_INDEX_H
#define AF_BUILD_INDEX_H

#include "job.h"

/* Collective. Builds job->cfg's index from job->ref. An existing index file is replaced when
 * `replace` is set or output.existing = overwrite, else refused. */
int af_build_index(const af_job *job, int replace, af_error *err);

/* Collective. Whether job->cfg's index is missing or stale: no .meta, a size that differs from
 * it, other build keys or shard count, or a reference of another shape or size. *why gets a
 * short reason for the log. */
int af_index_needs_build(const af_job *job, char *why, size_t cap);

#endif
