/* The checksums an index carries, computed by all ranks together (file_digest.h): the index
 * file's own, and the reference's (every backing file of the matrix it was built from, whole,
 * so that a changed value anywhere in them marks the index stale). Rank 0 shows progress of
 * its share. */
#ifndef AF_DIGESTS_H
#define AF_DIGESTS_H

#include "af_error.h"
#include "matrix.h"

#include <stdint.h>

/* Collective: the chunked digest of one file; `label` names the progress phase. */
int af_digest_file(const char *path, int threads, const char *label, uint64_t *size, char hex[17],
                   af_error *err);

/* Collective: the digest of the matrix's backing file(s); *n_files gets their count. */
int af_digest_matrix(const af_matrix_desc *d, int threads, uint64_t *size, int64_t *n_files,
                     char hex[17], af_error *err);

#endif
