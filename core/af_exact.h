/* af_exact: the true k nearest neighbours by blocked brute force.
 *
 * Works on one block of reference rows whose first row has global id ref_id_base, so that
 * each rank can search its own rows and merge the partial lists (af_topk_merge). Euclidean,
 * angular and dot rank candidates with OpenBLAS sgemm (or exact 8-bit products when every value
 * is a whole number 0..255: af_gemm_u8.h), then recompute the distances of the final candidates
 * with the same kernel as the approximate search, so both report identical distances for the
 * same pair. */
#ifndef AF_EXACT_H
#define AF_EXACT_H

#include <stdint.h>

#include "af_error.h"
#include "af_metric.h"
#include "af_neighbor.h"

typedef struct af_exact_params {
    af_metric metric;
    int dim;
    int k;
    int threads; /* 0 = OpenMP's default */
} af_exact_params;

/* out gets k entries per query. ref_skip (may be NULL): reference rows to leave out.
 * exclude (may be NULL): per query, one global id not to return (-1 = none). */
int af_exact_knn(const af_exact_params *p, const void *ref, int64_t n_ref, int64_t ref_id_base,
                 const unsigned char *ref_skip, const void *queries, int64_t n_query,
                 const int64_t *exclude, af_neighbor *out, af_error *err);

#endif
