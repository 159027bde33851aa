/* ann-benchmarks files: see annbench.h. */
#include "annbench.h"

#include "hdf5_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

double af_annbench_distance(const char *metric, double d) {
    if (strcmp(metric, "angular") == 0)
        return d * d / 2;
    return d;
}

int af_annbench_hits(const double *true_dist, const double *found_dist, uint64_t k,
                     double epsilon) {
    if (k == 0)
        return 0;
    double threshold = true_dist[k - 1] + epsilon;
    int hits = 0;
    for (uint64_t j = 0; j < k; j++)
        hits += found_dist[j] <= threshold; /* NaN (no neighbour) never counts */
    return hits;
}

#if AF_HAVE_HDF5
static int describe_part(const char *file, const char *name, af_matrix_desc *d, af_error *err) {
    char path[AF_MATRIX_PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s:/%s", file, name) >= sizeof path)
        return af_fail(err, AF_E_INPUT, "path too long: %s", file);
    if (af_matrix_describe(path, d, err) != 0) {
        af_error_prefix(err, "ann-benchmarks file");
        return -1;
    }
    return 0;
}

/* The file's `distance` attribute (a string, fixed or variable length). */
static int read_metric(const char *file, char *out, size_t cap, af_error *err) {
    hid_t fid = af_h5_open_file(file, 0, MPI_COMM_NULL, AF_E_INPUT, err);
    if (fid < 0)
        return -1;
    int rc = 0;
    if (H5Aexists(fid, "distance") <= 0) {
        rc = af_fail(err, AF_E_INPUT,
                     "%s: no 'distance' attribute on the file: an ann-benchmarks file names its "
                     "metric there (euclidean, angular, ...)",
                     file);
    } else {
        hid_t a = H5Aopen(fid, "distance", H5P_DEFAULT);
        hid_t t = H5Aget_type(a);
        if (H5Tget_class(t) != H5T_STRING) {
            rc = af_fail(err, AF_E_INPUT, "%s: the 'distance' attribute is not a string", file);
        } else if (H5Tis_variable_str(t) > 0) {
            char *s = NULL;
            hid_t mt = H5Tcopy(H5T_C_S1);
            H5Tset_size(mt, H5T_VARIABLE);
            H5Tset_cset(mt, H5Tget_cset(t));
            rc = H5Aread(a, mt, &s) < 0 ? -1 : 0;
            if (rc == 0 && s)
                snprintf(out, cap, "%s", s);
            if (s)
                H5free_memory(s);
            H5Tclose(mt);
        } else {
            size_t n = H5Tget_size(t);
            char *buf = calloc(n + 1, 1);
            rc = !buf || H5Aread(a, t, buf) < 0 ? -1 : 0;
            if (rc == 0)
                snprintf(out, cap, "%s", buf);
            free(buf);
        }
        if (rc != 0 && !err->msg[0])
            af_h5_fail(err, AF_E_INPUT, "%s: cannot read the 'distance' attribute", file);
        H5Tclose(t);
        H5Aclose(a);
    }
    H5Fclose(fid);
    return rc;
}

static const char *annforest_metric(const char *m) {
    static const char *const same[] = {"euclidean", "angular", "hamming"};
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++)
        if (strcmp(m, same[i]) == 0)
            return same[i];
    return "";
}

int af_annbench_describe(const char *file, af_annbench *b, af_error *err) {
    memset(b, 0, sizeof *b);
    err->msg[0] = '\0';
    if (describe_part(file, "train", &b->train, err) != 0 ||
        describe_part(file, "test", &b->test, err) != 0 ||
        describe_part(file, "neighbors", &b->neighbors, err) != 0 ||
        describe_part(file, "distances", &b->distances, err) != 0 ||
        read_metric(file, b->metric, sizeof b->metric, err) != 0)
        return -1;
    snprintf(b->af_metric, sizeof b->af_metric, "%s", annforest_metric(b->metric));
    b->truth_k = b->neighbors.cols;
    if (b->train.cols != b->test.cols)
        return af_fail(err, AF_E_MISMATCH,
                       "%s: train has %llu columns but test has %llu: not one ann-benchmarks set",
                       file, (unsigned long long)b->train.cols, (unsigned long long)b->test.cols);
    if (b->neighbors.rows != b->test.rows || b->distances.rows != b->test.rows)
        return af_fail(err, AF_E_MISMATCH,
                       "%s: neighbors has %llu rows and distances %llu, but test has %llu: the "
                       "truth must have one row per test row",
                       file, (unsigned long long)b->neighbors.rows,
                       (unsigned long long)b->distances.rows, (unsigned long long)b->test.rows);
    if (b->distances.cols != b->truth_k)
        return af_fail(err, AF_E_MISMATCH, "%s: neighbors has %llu columns but distances %llu",
                       file, (unsigned long long)b->truth_k, (unsigned long long)b->distances.cols);
    if (af_elem_is_float(b->neighbors.type))
        return af_fail(err, AF_E_INPUT,
                       "%s: dataset /neighbors holds floats; ann-benchmarks stores neighbour ids "
                       "as integers",
                       file);
    return 0;
}

int af_annbench_read_truth(const af_annbench *b, uint64_t r0, uint64_t r1, uint64_t k, int64_t *ids,
                           double *dist, af_error *err) {
    if (k > b->truth_k)
        return af_fail(err, AF_E_MISMATCH,
                       "%s: k = %llu, but the file holds only %llu true neighbours per query",
                       b->neighbors.data_path, (unsigned long long)k,
                       (unsigned long long)b->truth_k);
    uint64_t K = b->truth_k, n = r1 - r0;
    double *row = malloc((n ? n : 1) * (K ? K : 1) * sizeof *row);
    if (!row)
        return af_fail(err, AF_E_INTERNAL, "out of memory reading the truth");
    const af_matrix_desc *parts[2] = {&b->neighbors, &b->distances};
    int rc = 0;
    for (int p = 0; p < 2 && rc == 0; p++) {
        af_matrix *m = NULL;
        rc = af_matrix_open(parts[p], &m, err);
        if (rc == 0)
            rc = af_matrix_read_f64(m, r0, r1, row, NULL, err);
        af_matrix_close(m);
        for (uint64_t i = 0; rc == 0 && i < n; i++)
            for (uint64_t j = 0; j < k; j++) {
                double v = row[i * K + j];
                if (p == 1)
                    dist[i * k + j] = v;
                else
                    ids[i * k + j] = (int64_t)v;
            }
    }
    free(row);
    return rc;
}
#else
int af_annbench_describe(const char *file, af_annbench *b, af_error *err) {
    memset(b, 0, sizeof *b);
    return af_fail(err, AF_E_INPUT,
                   "%s: this annforest build has no HDF5 support, which ann-benchmarks files need",
                   file);
}

int af_annbench_read_truth(const af_annbench *b, uint64_t r0, uint64_t r1, uint64_t k, int64_t *ids,
                           double *dist, af_error *err) {
    (void)r0, (void)r1, (void)k, (void)ids, (void)dist;
    return af_fail(err, AF_E_INPUT, "%s: this annforest build has no HDF5 support",
                   b->train.data_path);
}
#endif
