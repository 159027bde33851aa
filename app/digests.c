#include "digests.h"
#include "file_digest.h"
#include "progress.h"

#include <stdlib.h>
#include <string.h>

/* The bar starts at the first report, when rank 0 knows the size of its share. */
typedef struct digest_progress {
    const char *label;
    af_progress *bar;
} digest_progress;

static void report(void *ctx, uint64_t done, uint64_t total) {
    digest_progress *p = ctx;
    if (!p->bar)
        p->bar = af_progress_start(p->label, "bytes", total);
    af_progress_update(p->bar, done);
}

static int digest_paths(const char *const *paths, int n, int threads, const char *label,
                        uint64_t *size, char hex[17], af_error *err) {
    digest_progress prog = {label, NULL};
    af_digest_request req = {paths, n, threads, report, &prog};
    int rc = af_files_digest(&req, size, hex, err);
    if (prog.bar)
        af_progress_finish(prog.bar);
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
