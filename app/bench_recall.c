/* recall@k by the ann-benchmarks rule: a returned neighbour counts when its distance is within
 * the true k-th distance + 1e-3 (for dot, where larger is nearer: at least the k-th - 1e-3), so
 * ties and float rounding never count against a search. Each rank scores its block of rows. */
#include "af_metric.h"
#include "bench.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

enum { FIXED_BITS = 32 }; /* a row's recall in units of 2^-32: 2^31 rows fit an int64 sum */

static int within(double d, double kth, int larger_first) {
    return larger_first ? d >= kth - AF_BENCH_EPSILON : d <= kth + AF_BENCH_EPSILON;
}

int af_bench_recall(const af_job *job, const char *distance_path, const af_bench_truth *t,
                    double *recall, af_error *err) {
    int k = job->cfg.query.k;
    af_metric m = AF_EUCLIDEAN;
    af_metric_parse(af_config_metric_name(job->cfg.index.metric), &m);
    int larger_first = af_metric_larger_first(m);
    af_matrix_desc d;
    if (af_job_describe(distance_path, "bench result", &d, err) != 0)
        return -1;
    af_matrix *mx = NULL;
    double *rows = malloc(sizeof *rows * (size_t)(t->qn ? t->qn : 1) * (size_t)k);
    int failed = !rows ? af_fail(err, AF_E_INTERNAL, "out of memory reading %s", distance_path)
                       : af_matrix_open(&d, &mx, err) != 0;
    if (!failed && t->qn > 0)
        failed = af_matrix_read_f64(mx, (uint64_t)t->q0, (uint64_t)(t->q0 + t->qn), rows, NULL,
                                    err) != 0;
    /* [0] the sum of the rows' recalls in fixed point (integers add up the same in any order,
     * so the recall is the same for any number of ranks), [1] how many rows have truth */
    int64_t sums[2] = {0, 0};
    for (int64_t i = 0; !failed && i < t->qn; i++) {
        if (t->n_true[i] == 0)
            continue;
        int hits = 0;
        for (int j = 0; j < k; j++) {
            double dist = rows[i * k + j];
            if (t->units[0])
                dist = af_annbench_distance(t->units, dist);
            hits += !isnan(dist) && within(dist, t->kth[i], larger_first);
        }
        double row = (double)(hits < t->n_true[i] ? hits : t->n_true[i]) / t->n_true[i];
        sums[0] += llround(ldexp(row, FIXED_BITS));
        sums[1] += 1;
    }
    if (mx)
        af_matrix_close(mx);
    free(rows);
    if (af_mpi_agree(failed, err) != 0)
        return -1;
    MPI_Allreduce(MPI_IN_PLACE, sums, 2, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
    *recall = sums[1] > 0 ? ldexp((double)sums[0], -FIXED_BITS) / (double)sums[1] : NAN;
    return 0;
}
