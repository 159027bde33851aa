/* The ann-benchmarks reader (io/annbench.h): describing a file made here with the HDF5 C API,
 * reading its truth, ann-benchmarks' recall rule, and one message for each way a file is not
 * an ann-benchmarks set. */
#include "annbench.h"
#include "hdf5_util.h"

#include <math.h>
#include <mpi.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static char dir[] = "/tmp/af_annbench_XXXXXX";

static void put(hid_t f, const char *name, hid_t type, hsize_t rows, hsize_t cols,
                const void *data) {
    hsize_t dims[2] = {rows, cols};
    hid_t s = H5Screate_simple(2, dims, NULL);
    hid_t d = H5Dcreate2(f, name, type, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(d >= 0);
    assert_true(H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);
    H5Dclose(d);
    H5Sclose(s);
}

/* The metric attribute: fixed-length ASCII (older writers), or variable-length UTF-8 as h5py
 * 3 writes a str (for the metric "jaccard" here, to test both). */
static void put_metric(hid_t f, const char *metric) {
    int vlen = strcmp(metric, "jaccard") == 0;
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, vlen ? H5T_VARIABLE : strlen(metric));
    if (vlen)
        H5Tset_cset(t, H5T_CSET_UTF8);
    hid_t s = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(f, "distance", t, s, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, t, vlen ? (const void *)&metric : (const void *)metric);
    H5Aclose(a);
    H5Sclose(s);
    H5Tclose(t);
}

/* An ann-benchmarks-shaped file: train 6 x 2, test 3 x 2, truth K = 4; `skip` leaves one
 * part out, `short_truth` gives neighbors 2 rows instead of 3. */
static const char *make_file(const char *name, const char *metric, const char *skip,
                             int short_truth) {
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    float train[12] = {0, 0, 1, 0, 0, 1, 1, 1, 2, 2, 3, 3}, test[6] = {0, 0, 1, 1, 3, 3};
    int32_t nb[12] = {0, 1, 2, 3, 3, 1, 2, 4, 5, 4, 3, 1};
    float d[12] = {0, 1, 1, 1.4142135f, 0, 1, 1, 1.4142135f, 0, 1.4142135f, 2.828427f, 3.6055512f};
    if (!skip || strcmp(skip, "train") != 0)
        put(f, "train", H5T_NATIVE_FLOAT, 6, 2, train);
    put(f, "test", H5T_NATIVE_FLOAT, 3, 2, test);
    if (!skip || strcmp(skip, "neighbors") != 0)
        put(f, "neighbors", H5T_NATIVE_INT32, short_truth ? 2 : 3, 4, nb);
    put(f, "distances", H5T_NATIVE_FLOAT, 3, 4, d);
    if (metric)
        put_metric(f, metric);
    H5Fclose(f);
    return path;
}

static void describes_and_reads_truth(void **state) {
    (void)state;
    af_annbench b;
    af_error err = {0};
    const char *file = make_file("good.hdf5", "euclidean", NULL, 0);
    assert_int_equal(af_annbench_describe(file, &b, &err), 0);
    assert_int_equal(b.train.rows, 6);
    assert_int_equal(b.test.rows, 3);
    assert_int_equal(b.train.cols, 2);
    assert_int_equal(b.truth_k, 4);
    assert_string_equal(b.metric, "euclidean");
    assert_string_equal(b.af_metric, "euclidean");
    int64_t ids[4];
    double dist[4];
    assert_int_equal(af_annbench_read_truth(&b, 1, 3, 2, ids, dist, &err), 0);
    assert_int_equal(ids[0], 3);
    assert_int_equal(ids[1], 1);
    assert_int_equal(ids[2], 5);
    assert_int_equal(ids[3], 4);
    assert_float_equal(dist[1], 1.0, 1e-7);
    assert_float_equal(dist[3], 1.4142135, 1e-6);
    assert_int_equal(af_annbench_read_truth(&b, 0, 1, 5, ids, dist, &err), -1);
    assert_non_null(strstr(err.msg, "only 4 true neighbours"));
}

static void recall_rule(void **state) {
    (void)state;
    double truth[3] = {1, 2, 3};
    double within[3] = {1, 2, 3.0009}, beyond[3] = {1, 2, 3.002}, none[3] = {1, NAN, NAN};
    assert_int_equal(af_annbench_hits(truth, within, 3, 1e-3), 3);
    assert_int_equal(af_annbench_hits(truth, beyond, 3, 1e-3), 2);
    assert_int_equal(af_annbench_hits(truth, none, 3, 1e-3), 1);
    assert_int_equal(af_annbench_hits(truth, within, 0, 1e-3), 0);
    /* a farther true neighbour set raises the bar: all within 3 + 1e-3 */
    double swapped[3] = {3, 1, 2};
    assert_int_equal(af_annbench_hits(truth, swapped, 3, 1e-3), 3);
    assert_float_equal(af_annbench_distance("angular", sqrt(2.0)), 1.0, 1e-12);
    assert_float_equal(af_annbench_distance("euclidean", 2.5), 2.5, 0);
}

static void refuses_what_is_not_a_set(void **state) {
    (void)state;
    af_annbench b;
    af_error err = {0};
    assert_int_equal(
        af_annbench_describe(make_file("nonb.hdf5", "angular", "neighbors", 0), &b, &err), -1);
    assert_non_null(strstr(err.msg, "has no dataset /neighbors"));
    assert_int_equal(af_annbench_describe(make_file("short.hdf5", "angular", NULL, 1), &b, &err),
                     -1);
    assert_non_null(strstr(err.msg, "neighbors has 2 rows"));
    assert_non_null(strstr(err.msg, "one row per test row"));
    assert_int_equal(af_annbench_describe(make_file("nom.hdf5", NULL, NULL, 0), &b, &err), -1);
    assert_non_null(strstr(err.msg, "no 'distance' attribute"));
    assert_int_equal(af_annbench_describe(make_file("j.hdf5", "jaccard", NULL, 0), &b, &err), 0);
    assert_string_equal(b.metric, "jaccard");
    assert_string_equal(b.af_metric, ""); /* annforest has no jaccard */
    assert_int_equal(af_annbench_describe("/nonexistent/x.hdf5", &b, &err), -1);
    assert_non_null(strstr(err.msg, "cannot open HDF5 file /nonexistent/x.hdf5"));
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    af_h5_init();
    if (!mkdtemp(dir))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(describes_and_reads_truth),
        cmocka_unit_test(recall_rule),
        cmocka_unit_test(refuses_what_is_not_a_set),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        rc = rc ? rc : 1;
    MPI_Finalize();
    return rc;
}
