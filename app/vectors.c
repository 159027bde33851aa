#include "vectors.h"

#include "af_memory.h"
#include "job.h"
#include "progress.h"

#include <inttypes.h>
#include <stdlib.h>

int af_vector_dim(af_metric m, uint64_t cols) {
    return (int)(m == AF_HAMMING ? af_bits_words(cols) : cols);
}

size_t af_vector_bytes(af_metric m, uint64_t cols) {
    return (size_t)af_vector_dim(m, cols) * af_metric_elem_size(m);
}

int af_read_vectors(af_matrix *mx, af_metric m, uint64_t r0, uint64_t r1, void *dst,
                    uint8_t *row_na, af_progress *progress, uint64_t progress_base, af_error *err) {
    uint64_t cols = af_matrix_cols(mx), step = 1 << 14;
    size_t row_bytes = af_vector_bytes(m, cols);
    /* Every rank reads in as many windows as the rank with most rows (its last ones empty). */
    uint64_t windows = (r1 - r0 + step - 1) / step;
    MPI_Allreduce(MPI_IN_PLACE, &windows, 1, MPI_UINT64_T, MPI_MAX, af_matrix_comm(mx));
    for (uint64_t w = 0; w < windows; w++) {
        uint64_t a = r0 + w * step < r1 ? r0 + w * step : r1;
        uint64_t b = r1 - a < step ? r1 : a + step;
        void *out = (char *)dst + (a - r0) * row_bytes;
        uint8_t *na = row_na ? row_na + (a - r0) : NULL;
        int rc = m == AF_HAMMING ? af_matrix_read_bits_all(mx, a, b, out, na, err)
                                 : af_matrix_read_f32_all(mx, a, b, out, na, err);
        if (rc != 0)
            return -1;
        if (progress && b > a)
            af_progress_update(progress, progress_base + (b - r0));
    }
    return 0;
}

int af_read_reference_rows(const af_job *job, af_metric m, int64_t row_lo, int64_t n,
                           void **vectors, uint8_t **na, af_error *err) {
    /* the build reads these rows in scattered orders: on large pages (af_memory.h) */
    *vectors = af_alloc_large((size_t)(n ? n : 1) * af_vector_bytes(m, job->ref.cols));
    *na = calloc((size_t)(n ? n : 1), 1);
    int failed = (!*vectors || !*na) &&
                 af_fail(err, AF_E_INTERNAL, "out of memory for %" PRId64 " reference rows", n);
    af_matrix *mx = NULL;
    if (af_mpi_agree(failed, err) != 0 ||
        af_matrix_open_all(&job->ref, MPI_COMM_WORLD, &mx, err) != 0)
        return -1;
    af_progress *prog = af_progress_start("reading reference", "rows", (uint64_t)n);
    int rc = af_read_vectors(mx, m, (uint64_t)row_lo, (uint64_t)(row_lo + n), *vectors, *na, prog,
                             0, err);
    af_progress_finish(prog);
    af_matrix_close(mx); /* collective, like the open */
    if (rc != 0 || job->cfg.reference.na == AF_CONFIG_NA_SKIP)
        return rc;
    for (int64_t i = 0; i < n; i++)
        if ((*na)[i])
            return af_fail(err, AF_E_INPUT,
                           "%s: row %" PRId64 " holds NA (set [reference] na = skip to leave "
                           "such rows out)",
                           job->cfg.reference.path, row_lo + i + 1);
    return 0;
}
