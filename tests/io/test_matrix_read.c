/* Reading matrices: every element type x layout x view, through small mapping windows, against
 * values the test encodes itself; and every kind of bad descriptor or backing file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "elem_type.h"
#include "matrix.h"

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
    snprintf(dir, sizeof dir, "/tmp/af_test_read_XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    af_matrix_set_window_bytes(8192); /* force many windows and split runs */
    return 0;
}

static int teardown(void **state) {
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *name, const void *data, size_t len) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (len)
        assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void write_text(const char *name, const char *text) {
    write_file(name, text, strlen(text));
}

static const char *in_dir(const char *name) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

/* The value of cell (r, c) for type t: NaN marks NA (only for types that have one). */
static double cell_value(af_elem_type t, uint64_t r, uint64_t c) {
    if (af_elem_has_r_na(t) && (r * 3 + c) % 7 == 0)
        return NAN;
    double lo, hi;
    af_elem_range(t, &lo, &hi);
    int64_t k = (int64_t)(r * 31 + c * 17 + 5);
    switch (t) {
    case AF_T_SINGLE:
        return (float)((double)k * 0.25 - 100.0);
    case AF_T_DOUBLE:
        return (double)k * 1e-3 - 7.5 + (r == 1 && c == 1 ? 1e300 : 0);
    case AF_T_LOGICAL:
        return (double)(k % 2);
    default:
        return lo + (double)(k % (int64_t)(hi - lo + 1));
    }
}

/* Store the raw code of v (NA: R's code) at element index idx of buf (packed LSB first). */
static void put_raw(unsigned char *buf, af_elem_type t, uint64_t idx, double v) {
    unsigned bits = af_elem_bits(t);
    if (isnan(v) && !af_elem_is_float(t))
        v = af_elem_r_na_code(t);
    if (bits < 8) {
        uint64_t bitpos = idx * bits;
        buf[bitpos >> 3] |= (unsigned char)((unsigned)v << (bitpos & 7));
        return;
    }
    unsigned char *p = buf + idx * (bits / 8);
    switch (t) {
    case AF_T_BYTE: {
        int8_t x = (int8_t)v;
        memcpy(p, &x, 1);
        break;
    }
    case AF_T_UBYTE:
    case AF_T_RAW: {
        uint8_t x = (uint8_t)v;
        memcpy(p, &x, 1);
        break;
    }
    case AF_T_SHORT: {
        int16_t x = (int16_t)v;
        memcpy(p, &x, 2);
        break;
    }
    case AF_T_USHORT: {
        uint16_t x = (uint16_t)v;
        memcpy(p, &x, 2);
        break;
    }
    case AF_T_INTEGER: {
        int32_t x = (int32_t)v;
        memcpy(p, &x, 4);
        break;
    }
    case AF_T_SINGLE: {
        float x = isnan(v) ? NAN : (float)v;
        memcpy(p, &x, 4);
        break;
    }
    case AF_T_DOUBLE: {
        double x = isnan(v) ? af_na_real() : v;
        memcpy(p, &x, 8);
        break;
    }
    default:
        fail();
    }
}

/* Read the whole matrix every way and compare with expected (rows x cols, row-major). */
static void check_reads(const char *path, const double *expected, uint64_t rows, uint64_t cols) {
    af_error err = {0};
    af_matrix_desc d, d2;
    if (af_matrix_describe(path, &d, &err) != 0)
        fail_msg("describe %s: %s", path, err.msg);
    /* what other ranks would get */
    unsigned char packed[AF_MATRIX_DESC_PACKED_SIZE];
    af_matrix_desc_pack(&d, packed);
    assert_int_equal(af_matrix_desc_unpack(packed, sizeof packed, &d2, &err), 0);
    af_matrix *m;
    if (af_matrix_open(&d2, &m, &err) != 0)
        fail_msg("open %s: %s", path, err.msg);
    assert_int_equal(af_matrix_rows(m), rows);
    assert_int_equal(af_matrix_cols(m), cols);
    double *f64 = calloc(rows * cols + 1, sizeof *f64);
    float *f32 = calloc(rows * cols + 1, sizeof *f32);
    uint64_t words = af_bits_words(cols);
    uint64_t *bits = calloc(rows * words + 1, sizeof *bits);
    uint8_t *na = calloc(rows + 1, 1);
    /* whole, then in uneven blocks */
    assert_int_equal(af_matrix_read_f64(m, 0, rows, f64, na, &err), 0);
    uint64_t block = rows > 3 ? rows / 3 + 1 : 1;
    for (uint64_t r = 0; r < rows; r += block) {
        uint64_t r1 = r + block < rows ? r + block : rows;
        if (af_matrix_read_f32(m, r, r1, f32 + r * cols, NULL, &err) != 0)
            fail_msg("read_f32 %s: %s", path, err.msg);
    }
    assert_int_equal(af_matrix_read_bits(m, 0, rows, bits, NULL, &err), 0);
    for (uint64_t r = 0; r < rows; r++) {
        int row_has_na = 0;
        for (uint64_t c = 0; c < cols; c++) {
            double e = expected[r * cols + c], g = f64[r * cols + c];
            int bit = (bits[r * words + c / 64] >> (c % 64)) & 1;
            if (isnan(e)) {
                row_has_na = 1;
                if (!isnan(g) || !isnan(f32[r * cols + c]) || bit)
                    fail_msg("%s: cell %llu,%llu should be NA, got %g", path, (unsigned long long)r,
                             (unsigned long long)c, g);
            } else {
                if (g != e || f32[r * cols + c] != (float)e || bit != (e != 0))
                    fail_msg("%s: cell %llu,%llu: expected %.17g, got %.17g / %g / bit %d", path,
                             (unsigned long long)r, (unsigned long long)c, e, g, f32[r * cols + c],
                             bit);
            }
        }
        assert_int_equal(na[r], row_has_na);
    }
    /* a row range past the end is refused */
    assert_int_equal(af_matrix_read_f64(m, rows, rows + 1, f64, NULL, &err), -1);
    af_matrix_close(m);
    free(f64), free(f32), free(bits), free(na);
}

/* Column-major reads go through tiles of 16 columns by 8192 rows: a matrix larger than one tile
 * both ways (with NA cells on the tiles' edges) reads the same as cell by cell. */
static void column_major_tiles(void **state) {
    (void)state;
    const uint64_t rows = 17000, cols = 37;
    const af_elem_type types[] = {AF_T_DOUBLE, AF_T_SINGLE, AF_T_SHORT};
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        af_elem_type t = types[ti];
        size_t bytes = rows * cols * af_elem_bits(t) / 8;
        unsigned char *buf = calloc(bytes, 1);
        double *expected = malloc(rows * cols * sizeof *expected);
        for (uint64_t r = 0; r < rows; r++)
            for (uint64_t c = 0; c < cols; c++) {
                double v = cell_value(t, r, c);
                if ((r == 8191 || r == 8192 || r == 16383) && (c == 15 || c == 16))
                    v = NAN;
                expected[r * cols + c] = v;
                put_raw(buf, t, c * rows + r, v);
            }
        write_file("tile.data", buf, bytes);
        char desc[512];
        snprintf(desc, sizeof desc,
                 "annforest-matrix: 1\nfile: tile.data\nrows: %llu\ncols: %llu\ntype: %s\n"
                 "order: column\nna: r\n",
                 (unsigned long long)rows, (unsigned long long)cols, af_elem_name(t));
        write_text("tile.afm", desc);
        check_reads(in_dir("tile.afm"), expected, rows, cols);
        free(buf), free(expected);
    }
}

static void native_all_types_and_orders(void **state) {
    (void)state;
    const uint64_t rows = 301, cols = 7;
    for (int t = 1; t < AF_T_COUNT; t++) {
        for (int order = 0; order < 2; order++) {
            for (uint64_t offset = 0; offset <= 5; offset += 5) {
                unsigned bits = af_elem_bits(t);
                size_t bytes = offset + (rows * cols * bits + 31) / 32 * 4; /* ff: 32-bit words */
                unsigned char *buf = calloc(bytes, 1);
                double *expected = malloc(rows * cols * sizeof *expected);
                for (uint64_t r = 0; r < rows; r++)
                    for (uint64_t c = 0; c < cols; c++) {
                        double v = cell_value(t, r, c);
                        expected[r * cols + c] = v;
                        uint64_t idx = order == AF_ORDER_ROW ? r * cols + c : c * rows + r;
                        put_raw(buf + offset, t, idx, v);
                    }
                write_file("n.data", buf, bytes);
                char desc[512];
                snprintf(desc, sizeof desc,
                         "annforest-matrix: 1\nfile: n.data\nrows: %llu\ncols: %llu\ntype: %s\n"
                         "order: %s\noffset: %llu\nna: r\n",
                         (unsigned long long)rows, (unsigned long long)cols, af_elem_name(t),
                         order == AF_ORDER_ROW ? "row" : "column", (unsigned long long)offset);
                write_text("n.afm", desc);
                check_reads(in_dir("n.afm"), expected, rows, cols);
                free(buf), free(expected);
            }
        }
    }
}

static const char *bm_names[] = {"char", "short", "integer", "float", "double", "raw"};
static const af_elem_type bm_types[] = {AF_T_BYTE,   AF_T_SHORT,  AF_T_INTEGER,
                                        AF_T_SINGLE, AF_T_DOUBLE, AF_T_RAW};

static void write_bigmemory_desc(const char *name, const char *file, const char *type,
                                 uint64_t total_rows, uint64_t total_cols, uint64_t r0, uint64_t nr,
                                 uint64_t c0, uint64_t nc, int separated) {
    char text[1024];
    snprintf(text, sizeof text,
             "new(\"big.matrix.descriptor\", description = list(sharedType = \"FileBacked\", \n"
             "    filename = \"%s\", dirname = \"/nowhere/else/\", totalRows = %lluL, \n"
             "    totalCols = %lluL, rowOffset = c(%llu, %llu), colOffset = c(%llu, %llu), \n"
             "    nrow = %llu, ncol = %llu, rowNames = NULL, colNames = NULL, type = \"%s\", \n"
             "    separated = %s))\n",
             file, (unsigned long long)total_rows, (unsigned long long)total_cols,
             (unsigned long long)r0, (unsigned long long)nr, (unsigned long long)c0,
             (unsigned long long)nc, (unsigned long long)nr, (unsigned long long)nc, type,
             separated ? "TRUE" : "FALSE");
    write_text(name, text);
}

static void bigmemory_types_layouts_views(void **state) {
    (void)state;
    const uint64_t TR = 403, TC = 6;
    for (size_t ti = 0; ti < 6; ti++) {
        af_elem_type t = bm_types[ti];
        size_t es = af_elem_bits(t) / 8;
        for (int separated = 0; separated < 2; separated++) {
            unsigned char *buf = calloc(TR * TC * es, 1);
            for (uint64_t c = 0; c < TC; c++)
                for (uint64_t r = 0; r < TR; r++)
                    put_raw(buf, t, c * TR + r, cell_value(t, r, c));
            if (separated) {
                for (uint64_t c = 0; c < TC; c++) {
                    char name[64];
                    snprintf(name, sizeof name, "b.bin_column_%llu", (unsigned long long)c);
                    write_file(name, buf + c * TR * es, TR * es);
                }
            } else {
                write_file("b.bin", buf, TR * TC * es);
            }
            /* the full matrix, then a sub.big.matrix view */
            const uint64_t views[2][4] = {{0, TR, 0, TC}, {3, 250, 2, 3}};
            for (int v = 0; v < 2; v++) {
                const uint64_t *w = views[v];
                write_bigmemory_desc("b.desc", "b.bin", bm_names[ti], TR, TC, w[0], w[1], w[2],
                                     w[3], separated);
                double *expected = malloc(w[1] * w[3] * sizeof *expected);
                for (uint64_t r = 0; r < w[1]; r++)
                    for (uint64_t c = 0; c < w[3]; c++)
                        expected[r * w[3] + c] = cell_value(t, w[0] + r, w[2] + c);
                check_reads(in_dir("b.desc"), expected, w[1], w[3]);
                free(expected);
            }
            if (separated) {
                /* a missing column file is named */
                char col[512];
                snprintf(col, sizeof col, "%s/b.bin_column_4", dir);
                unlink(col);
                af_error err = {0};
                af_matrix_desc d;
                af_matrix *m;
                assert_int_equal(af_matrix_describe(in_dir("b.desc"), &d, &err), 0);
                assert_int_equal(af_matrix_open(&d, &m, &err), -1);
                assert_non_null(strstr(err.msg, "b.bin_column_4"));
            }
            free(buf);
        }
    }
}

static void bigmemory_float_na(void **state) {
    (void)state;
    float v[4] = {1.5f, NAN, FLT_MIN, -2.0f};
    write_file("f.bin", v, sizeof v);
    write_bigmemory_desc("f.desc", "f.bin", "float", 2, 2, 0, 2, 0, 2, 0);
    double expected[4] = {1.5, NAN, NAN, -2.0}; /* row-major; FLT_MIN is bigmemory's NA */
    check_reads(in_dir("f.desc"), expected, 2, 2);
}

static void native_na_conventions(void **state) {
    (void)state;
    int32_t v[4] = {INT_MIN, 7, -1, 3};
    write_file("i.data", v, sizeof v);
    write_text("i.afm", "annforest-matrix: 1\nfile: i.data\nrows: 2\ncols: 2\ntype: integer\n"
                        "na: none\n");
    double none[4] = {INT_MIN, -1, 7, 3};
    check_reads(in_dir("i.afm"), none, 2, 2);
    write_text("i.afm", "annforest-matrix: 1\nfile: i.data\nrows: 2\ncols: 2\ntype: integer\n"
                        "na: -1\n");
    double explicit_na[4] = {INT_MIN, NAN, 7, 3};
    check_reads(in_dir("i.afm"), explicit_na, 2, 2);
    write_text("i.afm", "annforest-matrix: 1\nfile: i.data\nrows: 2\ncols: 2\ntype: integer\n");
    double r_na[4] = {NAN, -1, 7, 3};
    check_reads(in_dir("i.afm"), r_na, 2, 2);
}

static void vecs_files(void **state) {
    (void)state;
    const int dim = 5, rows = 700;
    for (int kind = 0; kind < 3; kind++) {
        const char *name = kind == 0 ? "v.fvecs" : kind == 1 ? "v.bvecs" : "v.ivecs";
        af_elem_type t = kind == 0 ? AF_T_SINGLE : kind == 1 ? AF_T_UBYTE : AF_T_INTEGER;
        size_t es = af_elem_bits(t) / 8, row_bytes = 4 + dim * es;
        unsigned char *buf = calloc(rows, row_bytes);
        double *expected = malloc(rows * dim * sizeof *expected);
        for (int r = 0; r < rows; r++) {
            int32_t d = dim;
            memcpy(buf + r * row_bytes, &d, 4);
            for (int c = 0; c < dim; c++) {
                double v = kind == 1 ? (r * 7 + c) % 256 : (r * 7 + c) - 300;
                if (kind == 0 && r == 3 && c == 2)
                    v = NAN;
                expected[r * dim + c] = v;
                put_raw(buf + r * row_bytes + 4, t, c, v);
            }
        }
        write_file(name, buf, rows * row_bytes);
        check_reads(in_dir(name), expected, rows, dim);
        /* a row in the middle with another dimension */
        int32_t bad = 4;
        memcpy(buf + 500 * row_bytes, &bad, 4);
        write_file(name, buf, rows * row_bytes);
        af_error err = {0};
        af_matrix_desc d;
        af_matrix *m;
        assert_int_equal(af_matrix_describe(in_dir(name), &d, &err), 0);
        assert_int_equal(af_matrix_open(&d, &m, &err), 0);
        double *out = malloc(rows * dim * sizeof *out);
        assert_int_equal(af_matrix_read_f64(m, 0, rows, out, NULL, &err), -1);
        assert_non_null(strstr(err.msg, "row 501 declares dimension 4"));
        af_matrix_close(m);
        /* a size that is not whole rows */
        write_file(name, buf, rows * row_bytes - 1);
        assert_int_equal(af_matrix_describe(in_dir(name), &d, &err), -1);
        assert_non_null(strstr(err.msg, "not a whole number of rows"));
        free(buf), free(expected), free(out);
    }
}

static void expect_describe_error(const char *name, const char *fragment) {
    af_error err = {0};
    af_matrix_desc d;
    if (af_matrix_describe(in_dir(name), &d, &err) == 0)
        fail_msg("%s described without error; expected '%s'", name, fragment);
    if (!strstr(err.msg, fragment))
        fail_msg("message '%s' lacks '%s'", err.msg, fragment);
    assert_int_not_equal(err.code, 0);
}

static void expect_open_error(const char *name, const char *fragment) {
    af_error err = {0};
    af_matrix_desc d;
    af_matrix *m;
    if (af_matrix_describe(in_dir(name), &d, &err) != 0)
        fail_msg("describe %s: %s", name, err.msg);
    if (af_matrix_open(&d, &m, &err) == 0)
        fail_msg("%s opened without error; expected '%s'", name, fragment);
    if (!strstr(err.msg, fragment))
        fail_msg("message '%s' lacks '%s'", err.msg, fragment);
}

static void bad_bigmemory(void **state) {
    (void)state;
    const char *head = "new(\"big.matrix.descriptor\", description = list(sharedType = "
                       "\"FileBacked\", filename = \"e.bin\", dirname = \"/x/\", ";
    const struct {
        const char *rest, *fragment;
    } cases[] = {
        {"totalRows = -3L, totalCols = 2L, rowOffset = c(0, 3), colOffset = c(0, 2), nrow = 3, "
         "ncol = 2, type = \"double\", separated = FALSE))",
         "'totalRows' is negative"},
        {"totalRows = \"3\", totalCols = 2L, rowOffset = c(0, 3), colOffset = c(0, 2), nrow = 3, "
         "ncol = 2, type = \"double\", separated = FALSE))",
         "'totalRows' must be a number"},
        {"totalRows = 3L, totalCols = 2L, rowOffset = c(0, 3), colOffset = c(0, 2), nrow = 3, "
         "ncol = 2, type = \"complex\", separated = FALSE))",
         "unknown bigmemory type 'complex'"},
        {"totalRows = 4e15, totalCols = 4e15, rowOffset = c(0, 4e15), colOffset = c(0, 4e15), "
         "nrow = 4e15, ncol = 4e15, type = \"double\", separated = FALSE))",
         "overflows 64 bits"},
        {"totalRows = 1e300, totalCols = 2L, rowOffset = c(0, 3), colOffset = c(0, 2), "
         "nrow = 3, ncol = 2, type = \"double\", separated = FALSE))",
         "absurdly large"},
        {"totalRows = 3L, totalCols = 2L, rowOffset = c(2, 3), colOffset = c(0, 2), nrow = 3, "
         "ncol = 2, type = \"double\", separated = FALSE))",
         "reaches past"},
        {"totalRows = 3L, totalCols = 2L, rowOffset = c(0, 3), colOffset = c(0, 2), nrow = 2, "
         "ncol = 2, type = \"double\", separated = FALSE))",
         "nrow = 2"},
        {"totalRows = 3L, totalCols = 2L, rowOffset = c(0, 3), colOffset = c(0, 2), nrow = 3, "
         "ncol = 2, type = \"double\"))",
         "'separated' is missing"},
        {"totalRows = 3L, totalCols = 2L, rowOffset = c(0, 3), colOffset = c(0, 2), nrow = 3, "
         "ncol = 2.5, type = \"double\", separated = FALSE))",
         "not a whole number"},
        {"totalRows = 3L, totalCols = 2L, rowOffset = 0, colOffset = c(0, 2), nrow = 3, "
         "ncol = 2, type = \"double\", separated = FALSE))",
         "c(offset, length)"},
        {"totalRows = 3L, totalCols = 2L, rowOffset = c(0, 3), colOffset = c(0, 2), nrow = 3, "
         "ncol = 2, type = \"double\", separated = NA))",
         "TRUE or FALSE"},
        {"totalRows = 3L, totalCols = 2L, rowOffset = c(0, 3), colOffset = c(0, 2), nrow = 3, "
         "ncol = 2, type = \"double\", separated = FALSE)",
         "ends early"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[1024];
        snprintf(text, sizeof text, "%s%s\n", head, cases[i].rest);
        write_text("e.desc", text);
        expect_describe_error("e.desc", cases[i].fragment);
    }
    write_text("e.desc",
               "new(\"big.matrix.descriptor\", description = list(sharedType = \"SharedMemory\", "
               "sharedName = \"90825ad9\", totalRows = 2L, totalCols = 2L, rowOffset = c(0, 2), "
               "colOffset = c(0, 2), nrow = 2, ncol = 2, rowNames = NULL, colNames = NULL, type "
               "= \"double\", separated = FALSE))\n");
    expect_describe_error("e.desc", "shared-memory big.matrix");
    write_file("e.desc", "\x1f\x8b\x08\x00\x00\x00", 6);
    expect_describe_error("e.desc", "gzip-compressed binary R file");
    write_file("e.desc", "X\n\x00\x00\x00\x03", 6);
    expect_describe_error("e.desc", "dput(describe(x)");
    write_text("e.desc", "hello\n");
    expect_describe_error("e.desc", "not a matrix annforest recognises");
    write_text("e.desc", "new(\"other.class\", description = list())\n");
    expect_describe_error("e.desc", "another class");
    expect_describe_error(".", "is a directory");
    expect_describe_error("missing.desc", "No such file");
    /* backing files: missing, truncated, a directory */
    write_bigmemory_desc("t.desc", "t.bin", "double", 3, 2, 0, 3, 0, 2, 0);
    expect_open_error("t.desc", "t.bin");
    double six[6] = {0};
    write_file("t.bin", six, 5 * sizeof(double));
    expect_open_error("t.desc", "truncated: 40 bytes");
    write_bigmemory_desc("t.desc", "subdir", "double", 3, 2, 0, 3, 0, 2, 0);
    char sub[512];
    snprintf(sub, sizeof sub, "%s/subdir", dir);
    mkdir(sub, 0755);
    expect_open_error("t.desc", "not a regular file");
}

static void bad_native(void **state) {
    (void)state;
    const struct {
        const char *text, *fragment;
    } cases[] = {
        {"annforest-matrix: 1\nfile: x\nrows: 2\ncols: 2\ntype: float128\n",
         "bad value 'float128'"},
        {"annforest-matrix: 1\nfile: x\nrows: -2\ncols: 2\ntype: double\n", "bad value '-2'"},
        {"annforest-matrix: 1\nfile: x\nrows: two\ncols: 2\ntype: double\n", "bad value 'two'"},
        {"annforest-matrix: 1\nfile: x\ncols: 2\ntype: double\n", "required field 'rows'"},
        {"annforest-matrix: 1\nfile: x\nrows: 2\ncols: 2\ntype: double\nfoo: 1\n",
         ":6: unknown field 'foo'"},
        {"annforest-matrix: 2\nfile: x\nrows: 2\ncols: 2\ntype: double\n", "version '2'"},
        {"annforest-matrix: 1\nfile: x\nrows: 2\ncols: 2\ntype: double\norder: diagonal\n",
         "row or column"},
        {"annforest-matrix: 1\nfile: x\nrows: 99999999999999999999\ncols: 2\ntype: double\n",
         "bad value"},
        {"annforest-matrix: 1\nfile: x\nrows: 4294967296\ncols: 4294967296\ntype: double\n",
         "overflows 64 bits"},
        {"annforest-matrix: 1\nfile: x\nrows: 2\ncols: 2\ntype: byte\nna: 300\n", "na"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_text("bad.afm", cases[i].text);
        expect_describe_error("bad.afm", cases[i].fragment);
    }
    af_error err = {0};
    af_matrix_desc d;
    char h5[600];
    snprintf(h5, sizeof h5, "%s/data.h5:/group/x", dir);
    assert_int_equal(af_matrix_describe(h5, &d, &err), -1);
    assert_non_null(strstr(err.msg, "HDF5"));
    assert_non_null(strstr(err.msg, "data.h5"));
    /* a description from another build is refused */
    unsigned char junk[AF_MATRIX_DESC_PACKED_SIZE] = {0};
    assert_int_equal(af_matrix_desc_unpack(junk, sizeof junk, &d, &err), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(native_all_types_and_orders),
        cmocka_unit_test(column_major_tiles),
        cmocka_unit_test(bigmemory_types_layouts_views),
        cmocka_unit_test(bigmemory_float_na),
        cmocka_unit_test(native_na_conventions),
        cmocka_unit_test(vecs_files),
        cmocka_unit_test(bad_bigmemory),
        cmocka_unit_test(bad_native),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
