#include "digests.h"
#include "file_digest.h"
#include "progress.h"

#include <stdlib.h>
#include <string.h>

/* While hashing, the bar follows rank 0's share of the chunks (its size is known at the first
 * report); the final line gives the whole: every rank's bytes in the collective's time. */
static void report(void *ctx, uint64_t done, uint64_t total) {
    af_progress *bar = ctx;
    af_progress_set_total(bar, total);
    af_progress_update(bar, done);
}

static int digest_paths(const char *const *paths, int n, int threads, const char *label,
                        uint64_t *size, char hex[17], af_error *err) {
    af_progress *bar = af_progress_start(label, "bytes", 0);
    af_digest_request req = {paths, n, threads, report, bar};
    int rc = af_files_digest(&req, size, hex, err);
    if (rc == 0) {
        af_progress_set_total(bar, *size);
        af_progress_update(bar, *size);
    }
    af_progress_finish(bar);
    return rc;
}

int af_digest_file(const char *path, int threads, const char *label, uint64_t *size, char hex[17],
                   af_error *err) {
    const char *paths[1] = {path};
    return digest_paths(paths, 1, threads, label, size, hex, err);
}

int af_digest_matrix(const af_matrix_desc *d, int threads, uint64_t *size, int64_t *n_files,
                     char hex[17], af_error *err) {
    uint64_t n = d->separated ? d->total_cols : 1;
    char **paths = calloc((size_t)n, sizeof *paths);
    /* Every rank lists the same paths, so a failure here is the same on all of them. */
    int rc = paths ? 0 : af_fail(err, AF_E_INTERNAL, "out of memory listing %s", d->path);
    for (uint64_t c = 0; rc == 0 && c < n; c++) {
        char file[AF_MATRIX_PATH_MAX + 32];
        rc = af_matrix_data_file(d, c, file, sizeof file, err);
        if (rc == 0 && !(paths[c] = strdup(file)))
            rc = af_fail(err, AF_E_INTERNAL, "out of memory listing %s", d->path);
    }
    if (rc == 0)
        rc = digest_paths((const char *const *)paths, (int)n, threads, "hashing reference", size,
                          hex, err);
    for (uint64_t c = 0; paths && c < n; c++)
        free(paths[c]);
    free(paths);
    *n_files = (int64_t)n;
    return rc;
}
