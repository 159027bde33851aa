/* Opening an index for queries on every rank: rank 0 reads the .meta sidecar (or, for an Annoy
 * file made elsewhere, finds its roots the way Annoy does) and broadcasts what the others need;
 * each rank then maps only the byte ranges of the shards it searches. */
#ifndef AF_INDEX_OPEN_H
#define AF_INDEX_OPEN_H

#include "af_index.h"
#include "index_meta.h"
#include "job.h"
#include "mapped_range.h"

typedef struct af_open_index {
    af_metric metric;
    af_node_format format; /* the metadata's node_format; foreign files: from index.format */
    int dim;               /* vector elements (floats, or words for hamming) */
    int64_t n_dim;         /* columns the queries must have */
    size_t node_size;
    int64_t n_items, n_nodes;
    int shards, trees_per_shard;
    int foreign;    /* an Annoy file without .meta: one shard, roots found by scanning */
    int64_t *roots; /* foreign only: the roots */
    int64_t n_roots;
    char index_id[48];
    af_index_meta meta; /* shard table (for foreign: one synthetic shard) */
} af_open_index;

/* Collective. query_cols: the width queries have (the dimension of a foreign Annoy file). */
int af_index_open(const af_job *job, uint64_t query_cols, af_open_index *ix, af_error *err);
void af_index_close(af_open_index *ix);

/* One shard mapped and ready to search. */
typedef struct af_shard_view {
    int shard;
    af_mapped_range items, trees, roots;
    af_index_view view;
} af_shard_view;

/* Map shard s of the open index (fd open on the index file) and make its view. */
int af_shard_view_open(const af_open_index *ix, int fd, const char *path, int s,
                       unsigned load_flags, af_shard_view *out, af_error *err);
void af_shard_view_close(af_shard_view *v);

#endif
