/* Writing matrices: round trips through the reader for every writable type and order, the exact
 * bigmemory descriptor text, existing = error | overwrite | into, atomicity, and unfit values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "matrix.h"
#include "matrix_out.h"

#include <dirent.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];

static int setup(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/af_test_out_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *in_dir(const char *name) {
    static char path[4][512];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, 512, "%s/%s", dir, name);
    return p;
}

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static int temp_files_left(void) {
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)))
        n += strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    return n;
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static double value_for(af_elem_type t, uint64_t r, uint64_t c) {
    if (af_elem_has_r_na(t) && (r + 2 * c) % 5 == 0)
        return t == AF_T_DOUBLE && r == 0 ? NAN : af_na_real();
    double lo, hi;
    af_elem_range(t, &lo, &hi);
    if (af_elem_is_float(t))
        return (double)(float)((double)(r * 10 + c) / 4.0 - 3.0);
    return c == 0 ? lo : c == 1 ? hi : lo + (double)((r * 13 + c) % (uint64_t)(hi - lo + 1));
}

/* Write rows x cols of type t in two blocks, publish, read back and compare. */
static void round_trip(const char *name, af_elem_type t, int order) {
    const uint64_t rows = 37, cols = 4;
    double *v = malloc(rows * cols * sizeof *v), *back = malloc(rows * cols * sizeof *back);
    for (uint64_t r = 0; r < rows; r++)
        for (uint64_t c = 0; c < cols; c++)
            v[r * cols + c] = value_for(t, r, c);
    af_error err = {0};
    unlink(in_dir(name)); /* so that "not visible before publish" means something */
    af_output_spec spec = {in_dir(name), t, order, rows, cols, AF_EXISTING_OVERWRITE};
    af_output_plan plan;
    if (af_output_prepare(&spec, &plan, &err) != 0)
        fail_msg("prepare %s: %s", name, err.msg);
    assert_false(exists(in_dir(name))); /* nothing visible before publish */
    int fd = af_output_open_data(&plan, &err);
    assert_true(fd >= 0);
    assert_int_equal(af_output_write_rows_f64(&plan, fd, 20, rows - 20, v + 20 * cols, &err), 0);
    assert_int_equal(af_output_write_rows_f64(&plan, fd, 0, 20, v, &err), 0);
    close(fd);
    if (af_output_publish(&plan, &err) != 0)
        fail_msg("publish %s: %s", name, err.msg);
    af_output_discard(&plan);
    assert_int_equal(temp_files_left(), 0);
    af_matrix_desc d;
    af_matrix *m = NULL;
    if (af_matrix_describe(in_dir(name), &d, &err) != 0 || af_matrix_open(&d, &m, &err) != 0)
        fail_msg("reading back %s: %s", name, err.msg);
    assert_int_equal(d.type, t);
    assert_int_equal(d.order, order);
    assert_int_equal(af_matrix_read_f64(m, 0, rows, back, NULL, &err), 0);
    for (uint64_t i = 0; i < rows * cols; i++) {
        if (isnan(v[i]))
            assert_true(isnan(back[i]));
        else if (back[i] != v[i])
            fail_msg("%s (%s): cell %llu: wrote %.17g, read %.17g", name, af_elem_name(t),
                     (unsigned long long)i, v[i], back[i]);
    }
    if (t == AF_T_DOUBLE) { /* NA_real_ and a plain NaN both keep their bits */
        assert_true(af_is_na_real(back[5 * cols]));
        assert_false(af_is_na_real(back[0]));
    }
    af_matrix_close(m);
    free(v), free(back);
}

static void round_trips(void **state) {
    (void)state;
    const af_elem_type bm[] = {AF_T_BYTE,   AF_T_SHORT,  AF_T_INTEGER,
                               AF_T_SINGLE, AF_T_DOUBLE, AF_T_RAW};
    for (size_t i = 0; i < sizeof bm / sizeof bm[0]; i++)
        round_trip("bm.desc", bm[i], AF_ORDER_COLUMN);
    const af_elem_type nat[] = {AF_T_BYTE,   AF_T_UBYTE,   AF_T_RAW,    AF_T_SHORT,
                                AF_T_USHORT, AF_T_INTEGER, AF_T_SINGLE, AF_T_DOUBLE};
    for (size_t i = 0; i < sizeof nat / sizeof nat[0]; i++)
        for (int order = 0; order < 2; order++)
            round_trip("nat.afm", nat[i], order);
}

static void bigmemory_descriptor_text(void **state) {
    (void)state;
    af_error err = {0};
    af_output_spec spec = {in_dir("x.desc"), AF_T_INTEGER, AF_ORDER_COLUMN, 3, 2,
                           AF_EXISTING_ERROR};
    af_output_plan plan;
    assert_int_equal(af_output_prepare(&spec, &plan, &err), 0);
    char real[PATH_MAX], expected[PATH_MAX + 256];
    assert_non_null(realpath(dir, real));
    /* what R 4 + bigmemory write for filebacked.big.matrix(3, 2, type = "integer", ...) when
     * the directory name is short; the line breaks follow R's 60-column cutoff */
    assert_int_equal(af_output_publish(&plan, &err), 0);
    snprintf(expected, sizeof expected,
             "new(\"big.matrix.descriptor\", description = list(sharedType = \"FileBacked\", \n"
             "    filename = \"x.bin\", dirname = \"%s/\", ",
             real);
    const char *text = slurp(in_dir("x.desc"));
    assert_memory_equal(text, expected, strlen(expected));
    assert_non_null(strstr(text, "totalRows = 3L"));
    assert_non_null(strstr(text, "rowOffset = c(0, 3)"));
    assert_non_null(strstr(text, "type = \"integer\""));
    assert_non_null(strstr(text, "separated = FALSE))\n"));
    /* large counts are written as R writes them: 100000L and 1e+05 */
    plan.rows = 100000;
    char *big = af_output_descriptor_text(&plan, &err);
    assert_non_null(strstr(big, "totalRows = 100000L"));
    assert_non_null(strstr(big, "nrow = 1e+05"));
    free(big);
    /* native text */
    af_output_spec nspec = {in_dir("n.afm"), AF_T_USHORT, AF_ORDER_ROW, 2, 3, AF_EXISTING_ERROR};
    assert_int_equal(af_output_prepare(&nspec, &plan, &err), 0);
    assert_int_equal(af_output_publish(&plan, &err), 0);
    assert_string_equal(slurp(in_dir("n.afm")),
                        "annforest-matrix: 1\nfile: n.dat\nrows: 2\ncols: 3\ntype: ushort\n"
                        "order: row\noffset: 0\nna: r\n");
}

static void existing_policies(void **state) {
    (void)state;
    af_error err = {0};
    af_output_plan plan;
    af_output_spec spec = {in_dir("e.desc"), AF_T_INTEGER, AF_ORDER_COLUMN, 4, 2,
                           AF_EXISTING_ERROR};
    assert_int_equal(af_output_prepare(&spec, &plan, &err), 0);
    int fd = af_output_open_data(&plan, &err);
    double ids[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    assert_int_equal(af_output_write_rows_f64(&plan, fd, 0, 4, ids, &err), 0);
    close(fd);
    assert_int_equal(af_output_publish(&plan, &err), 0);
    /* error: refuses */
    assert_int_equal(af_output_prepare(&spec, &plan, &err), -1);
    assert_non_null(strstr(err.msg, "e.desc already exists"));
    assert_int_equal(err.code, AF_E_OUTPUT);
    /* a stray data file alone also counts */
    af_output_spec other = {in_dir("f.desc"), AF_T_INTEGER, AF_ORDER_COLUMN, 1, 1,
                            AF_EXISTING_ERROR};
    FILE *f = fopen(in_dir("f.bin"), "w");
    fclose(f);
    assert_int_equal(af_output_prepare(&other, &plan, &err), -1);
    assert_non_null(strstr(err.msg, "f.bin already exists"));
    /* into: wrong shape, wrong type, missing */
    af_output_spec into = {in_dir("e.desc"), AF_T_INTEGER, AF_ORDER_COLUMN, 5, 2, AF_EXISTING_INTO};
    assert_int_equal(af_output_prepare(&into, &plan, &err), -1);
    assert_non_null(strstr(err.msg, "is 4 x 2, but the output is 5 x 2"));
    into.rows = 4;
    into.type = AF_T_DOUBLE;
    assert_int_equal(af_output_prepare(&into, &plan, &err), -1);
    assert_non_null(strstr(err.msg, "type 'integer', which cannot receive double"));
    into.path = in_dir("nothere.desc");
    assert_int_equal(af_output_prepare(&into, &plan, &err), -1);
    assert_non_null(strstr(err.msg, "does not exist"));
    /* into: writes go to a temporary copy; the destination changes only on publish */
    into.path = in_dir("e.desc");
    into.type = AF_T_INTEGER;
    char before[4096];
    snprintf(before, sizeof before, "%s", slurp(in_dir("e.desc")));
    assert_int_equal(af_output_prepare(&into, &plan, &err), 0);
    assert_int_equal(plan.into, 1);
    assert_int_equal(plan.type, AF_T_INTEGER);
    fd = af_output_open_data(&plan, &err);
    double more[8] = {10, 20, 30, 40, 50, 60, 70, 80};
    assert_int_equal(af_output_write_rows_f64(&plan, fd, 0, 4, more, &err), 0);
    close(fd);
    af_matrix_desc d;
    af_matrix *m;
    double back[8];
    assert_int_equal(af_matrix_describe(in_dir("e.desc"), &d, &err), 0);
    assert_int_equal(af_matrix_open(&d, &m, &err), 0);
    assert_int_equal(af_matrix_read_f64(m, 0, 4, back, NULL, &err), 0);
    assert_true(back[0] == 1 && back[7] == 8); /* untouched until publish */
    af_matrix_close(m);
    assert_int_equal(af_output_publish(&plan, &err), 0);
    assert_int_equal(af_matrix_open(&d, &m, &err), 0);
    assert_int_equal(af_matrix_read_f64(m, 0, 4, back, NULL, &err), 0);
    assert_true(back[0] == 10 && back[7] == 80);
    af_matrix_close(m);
    assert_string_equal(slurp(in_dir("e.desc")), before); /* descriptor kept */
    /* into a double matrix with integer ids */
    af_output_spec dbl = {in_dir("g.desc"), AF_T_DOUBLE, AF_ORDER_COLUMN, 4, 2, AF_EXISTING_ERROR};
    assert_int_equal(af_output_prepare(&dbl, &plan, &err), 0);
    assert_int_equal(af_output_publish(&plan, &err), 0);
    into.path = in_dir("g.desc");
    assert_int_equal(af_output_prepare(&into, &plan, &err), 0);
    assert_int_equal(plan.type, AF_T_DOUBLE);
    af_output_discard(&plan);
    assert_int_equal(temp_files_left(), 0);
    /* overwrite: replaces, with a new shape */
    af_output_spec ow = {in_dir("e.desc"),     AF_T_SHORT, AF_ORDER_COLUMN, 1, 3,
                         AF_EXISTING_OVERWRITE};
    assert_int_equal(af_output_prepare(&ow, &plan, &err), 0);
    assert_int_equal(af_output_publish(&plan, &err), 0);
    assert_int_equal(af_matrix_describe(in_dir("e.desc"), &d, &err), 0);
    assert_int_equal(d.rows, 1);
    assert_int_equal(d.type, AF_T_SHORT);
    /* discard: nothing published, no temporary left */
    af_output_spec gone = {in_dir("gone.afm"), AF_T_DOUBLE, AF_ORDER_ROW, 2, 2, AF_EXISTING_ERROR};
    assert_int_equal(af_output_prepare(&gone, &plan, &err), 0);
    af_output_discard(&plan);
    af_output_discard(&plan);
    assert_false(exists(in_dir("gone.afm")));
    assert_false(exists(in_dir("gone.dat")));
    assert_int_equal(temp_files_left(), 0);
    /* bad requests */
    af_output_spec bad = {in_dir("x.txt"), AF_T_DOUBLE, AF_ORDER_ROW, 2, 2, AF_EXISTING_ERROR};
    assert_int_equal(af_output_prepare(&bad, &plan, &err), -1);
    assert_non_null(strstr(err.msg, "must end in .desc"));
    af_output_spec row_bm = {in_dir("r.desc"), AF_T_DOUBLE, AF_ORDER_ROW, 2, 2, AF_EXISTING_ERROR};
    assert_int_equal(af_output_prepare(&row_bm, &plan, &err), -1);
    assert_non_null(strstr(err.msg, "column-major"));
    af_output_spec ushort_bm = {in_dir("u.desc"), AF_T_USHORT, AF_ORDER_COLUMN, 2, 2,
                                AF_EXISTING_ERROR};
    assert_int_equal(af_output_prepare(&ushort_bm, &plan, &err), -1);
    assert_non_null(strstr(err.msg, "cannot hold type 'ushort'"));
    af_output_spec huge = {in_dir("h.afm"), AF_T_DOUBLE, AF_ORDER_ROW,
                           UINT64_MAX / 4,  8,           AF_EXISTING_ERROR};
    assert_int_equal(af_output_prepare(&huge, &plan, &err), -1);
    assert_non_null(strstr(err.msg, "too large"));
}

static void expect_unfit(af_elem_type t, double v, const char *fragment) {
    af_error err = {0};
    af_output_plan plan;
    af_output_spec spec = {in_dir("u.afm"), t, AF_ORDER_COLUMN, 3, 2, AF_EXISTING_OVERWRITE};
    assert_int_equal(af_output_prepare(&spec, &plan, &err), 0);
    double rows[6] = {1, 1, 1, 1, 1, 1};
    rows[2 * 2 + 1] = v; /* row 3, column 2 */
    int fd = af_output_open_data(&plan, &err);
    assert_int_equal(af_output_write_rows_f64(&plan, fd, 0, 3, rows, &err), -1);
    close(fd);
    if (!strstr(err.msg, fragment) || !strstr(err.msg, "row 3, column 2"))
        fail_msg("message '%s' lacks '%s' or the cell", err.msg, fragment);
    af_output_discard(&plan);
}

static void unfit_values(void **state) {
    (void)state;
    expect_unfit(AF_T_INTEGER, 2147483648.0, "does not fit type 'integer'");
    expect_unfit(AF_T_INTEGER, -2147483648.0, "does not fit"); /* that is NA's code */
    expect_unfit(AF_T_INTEGER, 1.5, "not a whole number");
    expect_unfit(AF_T_INTEGER, INFINITY, "not a whole number");
    expect_unfit(AF_T_BYTE, 128, "does not fit");
    expect_unfit(AF_T_UBYTE, -1, "does not fit");
    expect_unfit(AF_T_RAW, NAN, "has no NA");
    expect_unfit(AF_T_USHORT, 65536, "does not fit");
    expect_unfit(AF_T_SINGLE, 1e300, "does not fit type 'single'");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trips),
        cmocka_unit_test(bigmemory_descriptor_text),
        cmocka_unit_test(existing_policies),
        cmocka_unit_test(unfit_values),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
