/* INDEX.meta: the sidecar that describes an index file, in DCF so R's read.dcf() reads it.
 * It carries the fields bigANNOY users know (metadata_version ... index_file) plus annforest's
 * own: the shard table that lets a query map just its shards' byte ranges, the node format, and
 * what the index was built from so that `run` and `validate` can tell a stale index. */
#ifndef AF_INDEX_META_H
#define AF_INDEX_META_H

#include "af_error.h"

#include <limits.h>
#include <stdint.h>

#define AF_META_VERSION 1

typedef struct af_shard_info {
    int64_t row_start, row_count;   /* reference rows [row_start, row_start + row_count) */
    int64_t node_start, node_count; /* its tree nodes, as node ids in the file */
    int64_t root_start;             /* node id of its first root copy; trees_per_shard follow */
} af_shard_info;

typedef struct af_index_meta {
    /* bigANNOY's fields */
    char index_id[48];
    char metric[16];
    int64_t n_dim;
    int64_t n_ref;
    int64_t n_trees; /* all trees of all shards: the roots Annoy sees */
    uint64_t build_seed;
    int64_t build_threads;
    char build_backend[32];
    uint64_t file_size;
    char file_mtime[32];
    char file_md5[33];
    char load_mode[8];
    char index_file[256]; /* basename of the index file */
    /* annforest's own */
    char annforest_version[16];
    char node_format[16]; /* "annoy-int32" (narrow) or "annoy-int64" (wide) */
    int64_t node_size;
    int64_t n_nodes;
    int64_t leaf_size;
    int64_t shards;
    int64_t trees_per_shard;
    int64_t build_ranks;
    char file_xxh3[17];
    char checksum_scheme[32]; /* AF_DIGEST_SCHEME: how file_xxh3 and reference_checksum are made */
    char build_config_hash[17];
    char reference_path[PATH_MAX];
    int64_t reference_rows, reference_cols;
    char reference_type[16];
    uint64_t reference_bytes;    /* total size of its backing file(s) */
    char reference_checksum[17]; /* chunked XXH3 of the backing file(s), see checksum.h */
    int64_t reference_files;     /* how many backing files that covers */
    char na_policy[8];
    int64_t rows_skipped;
    af_shard_info *shard; /* `shards` entries, malloc'd */
    /* XXH3 of the formatted text of every other field: tells a hand-edited file. Written last;
     * empty when read from a file that has none. */
    char metadata_checksum[17];
} af_index_meta;

/* Parse the text of a .meta file; `source` names it in errors. */
int af_index_meta_parse(const char *text, size_t len, const char *source, af_index_meta *m,
                        af_error *err);

/* Read and parse PATH. */
int af_index_meta_read(const char *path, af_index_meta *m, af_error *err);

/* malloc'd DCF text. */
char *af_index_meta_format(const af_index_meta *m);

/* What metadata_checksum must be for the fields of m (16 hex digits). Fails only on memory. */
int af_index_meta_digest(const af_index_meta *m, char hex[17]);

/* The fields agree with each other: counts, sizes (overflow-checked) and a shard table that
 * tiles the rows, the tree nodes and the root copies of the file in order. `source` names the
 * file in the error. A loader calls it before mapping anything the table describes. */
int af_index_meta_check(const af_index_meta *m, const char *source, af_error *err);

/* Write PATH whole or not at all (temporary file, fsync, rename), with metadata_checksum set
 * from the other fields. */
int af_index_meta_write(const af_index_meta *m, const char *path, af_error *err);

void af_index_meta_free(af_index_meta *m);

/* "<index>.meta" */
void af_index_meta_path(const char *index_path, char *out, size_t cap);

#endif
