/* annforest's native matrix descriptor (docs/formats.md): DCF `key: value` lines, e.g.
 *   annforest-matrix: 1
 *   file: ref.bin
 *   rows: 1000
 *   cols: 128
 *   type: single
 *   order: row
 *   offset: 0
 *   na: r
 * A relative `file` is relative to the descriptor's directory. */
#include "dcf.h"
#include "matrix_backend.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const known_keys[] = {
    "annforest-matrix", "file", "rows", "cols", "type", "order", "offset", "na"};

typedef struct nat_ctx {
    const char *path;
    const af_dcf *dcf;
    af_error *err;
} nat_ctx;

static int line_of(const nat_ctx *c, const char *key) {
    for (size_t i = 0; i < c->dcf->count; i++)
        if (strcmp(c->dcf->fields[i].key, key) == 0)
            return c->dcf->fields[i].line;
    return 0;
}

static int bad_value(nat_ctx *c, const char *key, const char *value, const char *expected) {
    return af_fail(c->err, AF_E_INPUT, "%s:%d: bad value '%s' for '%s' (expected %s)", c->path,
                   line_of(c, key), value, key, expected);
}

static const char *required(nat_ctx *c, const char *key) {
    const char *v = af_dcf_get(c->dcf, key);
    if (!v)
        af_fail(c->err, AF_E_INPUT, "%s: native matrix descriptor lacks the required field '%s'",
                c->path, key);
    return v;
}

/* A whole number of decimal digits that fits 64 bits (no sign, no spaces inside). */
static int parse_u64(const char *s, uint64_t *out) {
    if (!*s)
        return -1;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        if (__builtin_mul_overflow(v, 10, &v) ||
            __builtin_add_overflow(v, (uint64_t)(*p - '0'), &v))
            return -1;
    }
    *out = v;
    return 0;
}

static int get_u64(nat_ctx *c, const char *key, const char *fallback, uint64_t *out) {
    const char *v = fallback ? af_dcf_get(c->dcf, key) : required(c, key);
    if (!v && !fallback)
        return -1;
    if (!v)
        v = fallback;
    if (parse_u64(v, out) != 0)
        return bad_value(c, key, v, "a non-negative whole number");
    return 0;
}

static int check_keys(nat_ctx *c) {
    for (size_t i = 0; i < c->dcf->count; i++) {
        int known = 0;
        for (size_t k = 0; k < sizeof known_keys / sizeof known_keys[0]; k++)
            known |= strcmp(c->dcf->fields[i].key, known_keys[k]) == 0;
        if (!known)
            return af_fail(c->err, AF_E_INPUT,
                           "%s:%d: unknown field '%s' in a native matrix descriptor (known: "
                           "annforest-matrix, file, rows, cols, type, order, offset, na)",
                           c->path, c->dcf->fields[i].line, c->dcf->fields[i].key);
    }
    if (c->dcf->count == 0 || strcmp(c->dcf->fields[0].key, "annforest-matrix") != 0)
        return af_fail(c->err, AF_E_INPUT,
                       "%s: a native matrix descriptor starts with 'annforest-matrix: 1'", c->path);
    if (strcmp(c->dcf->fields[0].value, "1") != 0)
        return af_fail(c->err, AF_E_INPUT,
                       "%s:%d: native matrix descriptor version '%s' is not one this annforest "
                       "reads (1)",
                       c->path, c->dcf->fields[0].line, c->dcf->fields[0].value);
    return 0;
}

static int get_na(nat_ctx *c, af_matrix_desc *out) {
    const char *v = af_dcf_get(c->dcf, "na");
    out->na_mode = AF_NA_R;
    if (!v || strcmp(v, "r") == 0 || strcmp(v, "R") == 0)
        return 0;
    if (strcmp(v, "none") == 0) {
        out->na_mode = AF_NA_NONE;
        return 0;
    }
    if (strcmp(v, "bigmemory") == 0) {
        out->na_mode = AF_NA_BIGMEMORY;
        return 0;
    }
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (*end || end == v || errno || !isfinite(x))
        return bad_value(c, "na", v, "r, none, bigmemory or a finite number");
    double lo, hi;
    af_elem_range(out->type, &lo, &hi);
    double code = af_elem_r_na_code(out->type);
    int fits = (x >= lo && x <= hi) || (af_elem_has_r_na(out->type) && x == code);
    if (!fits || (!af_elem_is_float(out->type) && x != floor(x)))
        return bad_value(c, "na", v, "a value the element type can hold");
    out->na_mode = AF_NA_VALUE;
    out->na_value = x;
    return 0;
}

static int fill(nat_ctx *c, af_matrix_desc *out) {
    if (check_keys(c) != 0)
        return -1;
    const char *file = required(c, "file"), *type = file ? required(c, "type") : NULL;
    if (!file || !type)
        return -1;
    out->type = af_elem_from_name(type);
    if (!out->type)
        return bad_value(c, "type", type,
                         "boolean, logical, quad, nibble, byte, ubyte, raw, short, ushort, "
                         "integer, single or double");
    const char *order = af_dcf_get(c->dcf, "order");
    if (!order || strcmp(order, "column") == 0)
        out->order = AF_ORDER_COLUMN;
    else if (strcmp(order, "row") == 0)
        out->order = AF_ORDER_ROW;
    else
        return bad_value(c, "order", order, "row or column");
    if (get_u64(c, "rows", NULL, &out->total_rows) != 0 ||
        get_u64(c, "cols", NULL, &out->total_cols) != 0 ||
        get_u64(c, "offset", "0", &out->byte_offset) != 0 || get_na(c, out) != 0)
        return -1;
    if (!*file)
        return bad_value(c, "file", file, "a file name");
    out->rows = out->total_rows;
    out->cols = out->total_cols;
    out->format = AF_FMT_NATIVE;
    out->backend = AF_BACKEND_MMAP;
    char dir[AF_MATRIX_PATH_MAX];
    af_path_dirname(c->path, dir, sizeof dir);
    if (af_path_join(out->data_path, sizeof out->data_path, file[0] == '/' ? NULL : dir, file,
                     c->err) != 0)
        return -1;
    uint64_t bytes;
    return af_matrix_required_bytes(out, &bytes, c->err);
}

int af_describe_native(const char *path, const char *text, size_t len, af_matrix_desc *out,
                       af_error *err) {
    af_dcf dcf;
    if (af_dcf_parse(text, len, path, &dcf, err) != 0)
        return -1;
    snprintf(out->path, sizeof out->path, "%s", path);
    nat_ctx c = {path, &dcf, err};
    int rc = fill(&c, out);
    af_dcf_free(&dcf);
    return rc;
}
