/* ann-benchmarks files (https://github.com/erikbern/ann-benchmarks): one HDF5 file holding
 * `train` (the reference, n x d), `test` (the queries, q x d), `neighbors` (q x K true
 * neighbour ids, 0-based) and `distances` (q x K true distances, nearest first), with the
 * metric in the file's `distance` attribute. What `annforest bench` needs to use one: the four
 * datasets described and checked against each other (rank 0), the truth read row by row (any
 * rank, through the matrix layer), and ann-benchmarks' own definition of recall. */
#ifndef AF_ANNBENCH_H
#define AF_ANNBENCH_H

#include "af_error.h"
#include "matrix.h"

#include <stdint.h>

typedef struct af_annbench {
    af_matrix_desc train, test;          /* reference and queries, as the matrix layer reads them */
    af_matrix_desc neighbors, distances; /* the truth */
    uint64_t truth_k;                    /* K: true neighbours per query in the file */
    char metric[32];                     /* the file's `distance` attribute, e.g. "angular" */
    char af_metric[32]; /* annforest's metric of the same distance, "" when it has none */
} af_annbench;

/* Rank 0 (serial HDF5): describe FILE's four datasets and check that they fit together (train
 * and test have the same columns; neighbors and distances have one row per test row and the
 * same K; neighbors holds integers). The plain struct can be broadcast byte for byte. Fails
 * with one message naming the file and what is wrong, or saying that this build has no HDF5. */
int af_annbench_describe(const char *file, af_annbench *out, af_error *err);

/* The truth of test rows [r0, r1): the first k (<= truth_k) ids of each row, as annforest ids
 * (0-based, as in the file), and the first k true distances. ids: (r1 - r0) * k int64;
 * dist: (r1 - r0) * k doubles. Any rank, independently. */
int af_annbench_read_truth(const af_annbench *b, uint64_t r0, uint64_t r1, uint64_t k, int64_t *ids,
                           double *dist, af_error *err);

/* An annforest distance as ann-benchmarks measures it for its metric: angular is 1 - cos
 * there and sqrt(2 - 2 cos) in annforest (so d * d / 2); euclidean and hamming are the same. */
double af_annbench_distance(const char *metric, double af_distance);

/* ann-benchmarks' recall of one query: how many of the k found distances (ann-benchmarks'
 * measure, nearest first; NaN = no neighbour) are within the true k-th distance + epsilon
 * (ann-benchmarks uses 1e-3). Divide by k for the query's recall@k. */
int af_annbench_hits(const double *true_dist, const double *found_dist, uint64_t k, double epsilon);

#endif
