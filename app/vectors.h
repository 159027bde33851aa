/* Reading rows of a matrix as the vectors an index of a given metric holds: float32 for the
 * real-valued metrics, packed 64-bit words for hamming. */
#ifndef AF_VECTORS_H
#define AF_VECTORS_H

#include "af_metric.h"
#include "matrix.h"

/* Elements per vector: cols floats, or the words holding cols bits for hamming. */
int af_vector_dim(af_metric m, uint64_t cols);
/* Bytes per vector. */
size_t af_vector_bytes(af_metric m, uint64_t cols);

/* Collective over af_matrix_comm(mx) (see "collective reads" in matrix.h): every rank calls,
 * with its own rows [r0, r1), possibly none. Rows into dst ((r1 - r0) * af_vector_bytes bytes);
 * row_na as af_matrix_read_f32. Reads in windows so a progress report (may be NULL) advances as
 * it goes. Returns the agreed result. */
struct af_progress;
int af_read_vectors(af_matrix *mx, af_metric m, uint64_t r0, uint64_t r1, void *dst,
                    uint8_t *row_na, struct af_progress *progress, uint64_t progress_base,
                    af_error *err);

/* Collective over MPI_COMM_WORLD: every rank calls, with its own rows (n may be 0). Reference
 * rows [row_lo, row_lo + n) of job->ref as vectors of `m` (malloc'd into *vectors, NA flags
 * into *na), with progress, read collectively. Under [reference] na = error a row holding NA
 * fails, named (1-based); under na = skip it is only flagged. Allocation and read failures are
 * agreed; the NA check is local: the caller agrees on failure. */
struct af_job;
int af_read_reference_rows(const struct af_job *job, af_metric m, int64_t row_lo, int64_t n,
                           void **vectors, uint8_t **na, af_error *err);

#endif
