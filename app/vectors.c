#include "vectors.h"
#include "progress.h"

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
    for (uint64_t a = r0; a < r1; a += step) {
        uint64_t b = r1 - a < step ? r1 : a + step;
        void *out = (char *)dst + (a - r0) * row_bytes;
        uint8_t *na = row_na ? row_na + (a - r0) : NULL;
        int rc = m == AF_HAMMING ? af_matrix_read_bits(mx, a, b, out, na, err)
                                 : af_matrix_read_f32(mx, a, b, out, na, err);
        if (rc != 0)
            return -1;
        if (progress)
            af_progress_update(progress, progress_base + (b - r0));
    }
    return 0;
}
