/* The chunked XXH3 digest (checksum.h) of a list of files, computed by every rank of the job
 * together: the chunks of all files are numbered in order and each rank hashes one contiguous
 * block of them with its OpenMP threads, so a 100 GB index is hashed at the speed of all the
 * job's disks and cores, and the digest is the same for any number of ranks or threads. */
#ifndef AF_FILE_DIGEST_H
#define AF_FILE_DIGEST_H

#include "af_error.h"

#include <stdint.h>

/* Called on rank 0 as its own share is hashed: bytes done and its share's total. */
typedef void (*af_digest_progress_fn)(void *ctx, uint64_t done, uint64_t total);

typedef struct af_digest_request {
    const char *const *paths; /* the files, in order; the same list on every rank */
    int n_paths;
    int threads;                    /* OpenMP threads per rank; 0 = OpenMP's default */
    af_digest_progress_fn progress; /* may be NULL */
    void *progress_ctx;
} af_digest_request;

/* Collective over MPI_COMM_WORLD. On success every rank gets the total size and the digest;
 * on failure every rank gets -1 and the same message. */
int af_files_digest(const af_digest_request *req, uint64_t *total_bytes, char hex[17],
                    af_error *err);

#endif
