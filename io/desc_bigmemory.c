/* bigmemory descriptors: the text `dput(describe(x))` writes, e.g.
 *   new("big.matrix.descriptor", description = list(sharedType = "FileBacked",
 *       filename = "x.bin", dirname = "/tmp/", totalRows = 3L, totalCols = 2L,
 *       rowOffset = c(0, 3), colOffset = c(0, 2), nrow = 3, ncol = 2, rowNames = NULL,
 *       colNames = NULL, type = "integer", separated = FALSE))
 * Like attach.big.matrix("x.desc"), the backing file is looked for in the descriptor's own
 * directory: the stored dirname is ignored (R replaces it with dirname(descriptor path)). */
#include "matrix_backend.h"
#include "rdput.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct bm_ctx {
    const char *path;
    const af_rnode *fields; /* the list(...) call */
    af_error *err;
} bm_ctx;

static int bad_field(bm_ctx *c, const char *field, const char *what) {
    return af_fail(c->err, AF_E_INPUT, "%s: bigmemory descriptor field '%s' %s", c->path, field,
                   what);
}

static const af_rnode *field(bm_ctx *c, const char *name) {
    const af_rnode *f = af_rnode_arg(c->fields, name);
    if (!f)
        bad_field(c, name, "is missing");
    return f;
}

static int get_string(bm_ctx *c, const char *name, const char **out) {
    const af_rnode *f = field(c, name);
    if (!f)
        return -1;
    const af_rnode *s = af_rnode_scalar(f);
    if (!s || s->kind != AF_R_STRING || s->is_na)
        return bad_field(c, name, "must be one character string");
    *out = s->str;
    return 0;
}

/* A count: a non-negative whole number (integer or double, as R writes them). */
static int count_value(bm_ctx *c, const char *name, const af_rnode *v, uint64_t *out) {
    if (!v || (v->kind != AF_R_INTEGER && v->kind != AF_R_DOUBLE))
        return bad_field(c, name, "must be a number");
    if (v->is_na || !isfinite(v->num))
        return bad_field(c, name, "is NA or infinite");
    if (v->num < 0)
        return af_fail(c->err, AF_E_INPUT, "%s: bigmemory descriptor field '%s' is negative (%g)",
                       c->path, name, v->num);
    if (v->num != floor(v->num))
        return af_fail(c->err, AF_E_INPUT,
                       "%s: bigmemory descriptor field '%s' is not a whole number (%g)", c->path,
                       name, v->num);
    if (v->num > 9007199254740992.0) /* 2^53: beyond it doubles skip whole numbers */
        return af_fail(c->err, AF_E_INPUT,
                       "%s: bigmemory descriptor field '%s' is absurdly large "
                       "(%g)",
                       c->path, name, v->num);
    *out = (uint64_t)v->num;
    return 0;
}

static int get_count(bm_ctx *c, const char *name, uint64_t *out) {
    const af_rnode *f = field(c, name);
    if (!f)
        return -1;
    return count_value(c, name, af_rnode_scalar(f), out);
}

/* rowOffset / colOffset: c(offset, length). */
static int get_offset(bm_ctx *c, const char *name, uint64_t total, uint64_t *off, uint64_t *n) {
    const af_rnode *f = field(c, name);
    if (!f)
        return -1;
    if (af_rnode_length(f) != 2)
        return bad_field(c, name, "must be two numbers, c(offset, length)");
    if (count_value(c, name, af_rnode_elem(f, 0), off) != 0 ||
        count_value(c, name, af_rnode_elem(f, 1), n) != 0)
        return -1;
    if (*off > total || *n > total - *off)
        return af_fail(c->err, AF_E_INPUT,
                       "%s: bigmemory descriptor field '%s' = c(%llu, %llu) reaches past the %llu "
                       "stored rows or columns",
                       c->path, name, (unsigned long long)*off, (unsigned long long)*n,
                       (unsigned long long)total);
    return 0;
}

static int get_type(bm_ctx *c, af_elem_type *t) {
    const char *name;
    if (get_string(c, "type", &name) != 0)
        return -1;
    static const struct {
        const char *name;
        af_elem_type t;
    } types[] = {{"char", AF_T_BYTE},    {"short", AF_T_SHORT},   {"integer", AF_T_INTEGER},
                 {"float", AF_T_SINGLE}, {"double", AF_T_DOUBLE}, {"raw", AF_T_RAW}};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(name, types[i].name) == 0) {
            *t = types[i].t;
            return 0;
        }
    return af_fail(c->err, AF_E_INPUT,
                   "%s: unknown bigmemory type '%s' (expected char, short, integer, float, double "
                   "or raw)",
                   c->path, name);
}

static int get_flag(bm_ctx *c, const char *name, int *out) {
    const af_rnode *f = field(c, name);
    if (!f)
        return -1;
    const af_rnode *v = af_rnode_scalar(f);
    if (!v || v->kind != AF_R_LOGICAL || v->is_na)
        return bad_field(c, name, "must be TRUE or FALSE");
    *out = v->lgl;
    return 0;
}

/* The list(...) of fields inside new("big.matrix.descriptor", description = list(...)). */
static const af_rnode *description_list(const char *path, const af_rnode *root, af_error *err) {
    const af_rnode *list = NULL;
    if (af_rnode_is_call(root, "new")) {
        const af_rnode *cls = root->nargs ? &root->args[0] : NULL;
        if (!cls || cls->kind != AF_R_STRING || strcmp(cls->str, "big.matrix.descriptor") != 0)
            return af_fail(err, AF_E_INPUT,
                           "%s: not a bigmemory descriptor: new(...) of another class", path),
                   NULL;
        list = af_rnode_arg(root, "description");
    } else if (af_rnode_is_call(root, "structure") || af_rnode_is_call(root, "list")) {
        /* older or hand-made forms: structure(list(description = list(...)), ...) or a bare
         * list of the fields */
        const af_rnode *inner =
            af_rnode_is_call(root, "structure") && root->nargs ? &root->args[0] : root;
        list = af_rnode_arg(inner, "description");
        if (!list && af_rnode_arg(inner, "sharedType"))
            list = inner;
    }
    if (!list || !af_rnode_is_call(list, "list"))
        return af_fail(err, AF_E_INPUT,
                       "%s: not a bigmemory descriptor: expected new(\"big.matrix.descriptor\", "
                       "description = list(...))",
                       path),
               NULL;
    return list;
}

static int shared_memory_error(const char *path, af_error *err) {
    return af_fail(err, AF_E_INPUT,
                   "%s describes a shared-memory big.matrix, which lives only in the memory of "
                   "the R session's machine, not in a file annforest can read; in R, copy it to "
                   "a file-backed one and describe that: y <- deepcopy(x, backingfile = "
                   "\"x.bin\", descriptorfile = \"x.desc\", backingpath = \".\") (or "
                   "dput(describe(y), \"x.desc\") for a file-backed y)",
                   path);
}

static int fill(bm_ctx *c, af_matrix_desc *out) {
    const char *shared, *filename;
    if (get_string(c, "sharedType", &shared) != 0)
        return -1;
    if (strcmp(shared, "SharedMemory") == 0)
        return shared_memory_error(c->path, c->err);
    if (strcmp(shared, "FileBacked") != 0)
        return af_fail(c->err, AF_E_INPUT,
                       "%s: unknown bigmemory sharedType '%s' (expected FileBacked)", c->path,
                       shared);
    af_elem_type type = AF_T_DOUBLE; /* set by get_type; initialised for -O2 flow analysis */
    int separated = 0;
    uint64_t nrow, ncol;
    if (get_string(c, "filename", &filename) != 0 || get_type(c, &type) != 0 ||
        get_flag(c, "separated", &separated) != 0 ||
        get_count(c, "totalRows", &out->total_rows) != 0 ||
        get_count(c, "totalCols", &out->total_cols) != 0 ||
        get_offset(c, "rowOffset", out->total_rows, &out->row_offset, &out->rows) != 0 ||
        get_offset(c, "colOffset", out->total_cols, &out->col_offset, &out->cols) != 0 ||
        get_count(c, "nrow", &nrow) != 0 || get_count(c, "ncol", &ncol) != 0)
        return -1;
    if (!*filename)
        return bad_field(c, "filename", "is empty");
    if (nrow != out->rows || ncol != out->cols)
        return af_fail(c->err, AF_E_INPUT,
                       "%s: bigmemory descriptor says nrow = %llu, ncol = %llu but rowOffset and "
                       "colOffset give %llu x %llu",
                       c->path, (unsigned long long)nrow, (unsigned long long)ncol,
                       (unsigned long long)out->rows, (unsigned long long)out->cols);
    out->format = AF_FMT_BIGMEMORY;
    out->backend = AF_BACKEND_MMAP;
    out->type = type;
    out->order = AF_ORDER_COLUMN;
    out->separated = separated;
    out->na_mode = AF_NA_BIGMEMORY;
    char dir[AF_MATRIX_PATH_MAX];
    af_path_dirname(c->path, dir, sizeof dir);
    if (af_path_join(out->data_path, sizeof out->data_path, dir, filename, c->err) != 0)
        return -1;
    uint64_t bytes;
    return af_matrix_required_bytes(out, &bytes, c->err);
}

int af_describe_bigmemory(const char *path, const char *text, size_t len, af_matrix_desc *out,
                          af_error *err) {
    af_rnode *root = af_rdput_parse(text, len, path, err);
    if (!root)
        return -1;
    int rc = -1;
    const af_rnode *list = description_list(path, root, err);
    if (list) {
        bm_ctx c = {path, list, err};
        snprintf(out->path, sizeof out->path, "%s", path);
        rc = fill(&c, out);
    }
    af_rnode_free(root);
    return rc;
}
