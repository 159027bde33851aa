/* Writing file-backed matrices through a plan: prepare (temporary data file), write, publish
 * (rename, descriptor last) or discard. See matrix_out.h. */
#include "matrix_out.h"

#include "file_util.h"
#include "matrix_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int af_existing_from_name(const char *name) {
    if (!name)
        return -1;
    if (strcmp(name, "error") == 0)
        return AF_EXISTING_ERROR;
    if (strcmp(name, "overwrite") == 0)
        return AF_EXISTING_OVERWRITE;
    if (strcmp(name, "into") == 0)
        return AF_EXISTING_INTO;
    return -1;
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a > b && strcmp(s + a - b, suffix) == 0;
}

int af_output_format_of(const char *path) {
    if (ends_with(path, ".desc"))
        return AF_FMT_BIGMEMORY;
    if (ends_with(path, ".afm"))
        return AF_FMT_NATIVE;
    return 0;
}

int af_output_type_compatible(int want, int have) {
    if (want == have)
        return 1;
    if (want == AF_T_INTEGER)
        return have == AF_T_DOUBLE;
    if (want == AF_T_DOUBLE)
        return have == AF_T_SINGLE;
    return 0;
}

/* NAME.desc -> NAME.bin; NAME.afm -> NAME.dat (a different name, so that a native copy of a
 * bigmemory matrix never lands on the .bin it is read from). */
static int data_path_for(const char *desc, int format, char *out, size_t cap, af_error *err) {
    size_t stem = strlen(desc) - (format == AF_FMT_BIGMEMORY ? 5 : 4);
    const char *ext = format == AF_FMT_BIGMEMORY ? ".bin" : ".dat";
    if (stem + 5 > cap)
        return af_fail(err, AF_E_OUTPUT, "output path too long: %s", desc);
    memcpy(out, desc, stem);
    strcpy(out + stem, ext);
    return 0;
}

static int exists(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0;
}

static int writable_type(int format, int type) {
    if (af_elem_is_packed(type) || af_elem_bits(type) == 0)
        return 0;
    return format == AF_FMT_NATIVE || af_elem_bigmemory_name(type) != NULL;
}

static int type_error(const af_output_spec *s, int format, af_error *err) {
    return af_fail(err, AF_E_OUTPUT, "%s: a %s cannot hold type '%s' (%s)", s->path,
                   format == AF_FMT_BIGMEMORY ? "bigmemory matrix" : "native matrix output",
                   af_elem_name(s->type),
                   format == AF_FMT_BIGMEMORY ? "bigmemory types: char, short, integer, float, "
                                                "double, raw"
                                              : "writable: byte, ubyte, raw, short, ushort, "
                                                "integer, single, double");
}

static int create_sized_temp(af_output_plan *p, af_error *err) {
    int fd = af_create_temp_beside(p->data_path, p->tmp_data_path, sizeof p->tmp_data_path, err);
    if (fd < 0) {
        p->tmp_data_path[0] = '\0';
        return -1;
    }
    /* Real blocks now: a full disk fails here, before any work, and never in mid-write (where
     * some MPI-IO layers lose the error). */
    if (af_reserve_file(fd, p->file_bytes, p->data_path, err) != 0) {
        close(fd);
        af_output_discard(p);
        return -1;
    }
    if (close(fd) != 0) {
        af_output_discard(p);
        return af_fail_errno(err, AF_E_OUTPUT, errno, "cannot create %s", p->data_path);
    }
    return 0;
}

/* Copy bytes [lo, hi) of src to the same place in the open fd. */
static int copy_range(int src, int dst, uint64_t lo, uint64_t hi, const char *name, af_error *err) {
    char buf[1 << 16];
    while (lo < hi) {
        size_t want = hi - lo < sizeof buf ? (size_t)(hi - lo) : sizeof buf;
        ssize_t n = pread(src, buf, want, (off_t)lo);
        if (n <= 0)
            return af_fail_errno(err, AF_E_OUTPUT, n < 0 ? errno : EIO, "cannot read %s", name);
        if (pwrite(dst, buf, (size_t)n, (off_t)lo) != n)
            return af_fail_errno(err, AF_E_OUTPUT, errno, "cannot copy %s", name);
        lo += (uint64_t)n;
    }
    return 0;
}

/* existing = into: describe the destination, check it, and start a temporary copy of its backing
 * file holding everything but the cells about to be written. */
static int prepare_into(const af_output_spec *s, af_output_plan *p, af_error *err) {
    af_matrix_desc d;
    if (af_matrix_describe(s->path, &d, err) != 0) {
        af_error_prefix(err, "output (existing = into)");
        return -1;
    }
    if (d.format != AF_FMT_BIGMEMORY && d.format != AF_FMT_NATIVE)
        return af_fail(err, AF_E_OUTPUT, "%s: cannot write into a %s", s->path,
                       af_matrix_format_name(d.format));
    if (d.separated || d.rows != d.total_rows || d.cols != d.total_cols)
        return af_fail(err, AF_E_OUTPUT,
                       "%s: cannot write into a %s matrix (existing = into needs a plain one)",
                       s->path, d.separated ? "separated" : "sub-matrix view of a");
    if (d.rows != s->rows || d.cols != s->cols)
        return af_fail(err, AF_E_MISMATCH,
                       "%s: existing matrix is %llu x %llu, but the output is %llu x %llu", s->path,
                       (unsigned long long)d.rows, (unsigned long long)d.cols,
                       (unsigned long long)s->rows, (unsigned long long)s->cols);
    if (!af_output_type_compatible(s->type, d.type) || af_elem_is_packed(d.type))
        return af_fail(err, AF_E_MISMATCH,
                       "%s: existing matrix has type '%s', which cannot receive %s values", s->path,
                       af_elem_name(d.type), af_elem_name(s->type));
    p->type = d.type;
    p->order = d.order;
    p->byte_offset = d.byte_offset;
    p->into = 1;
    snprintf(p->data_path, sizeof p->data_path, "%s", d.data_path);
    int src = open(d.data_path, O_RDONLY | O_CLOEXEC);
    if (src < 0)
        return af_fail_errno(err, AF_E_OUTPUT, errno, "%s: cannot open its backing file %s",
                             s->path, d.data_path);
    struct stat st;
    uint64_t need;
    int rc = fstat(src, &st) == 0
                 ? 0
                 : af_fail_errno(err, AF_E_OUTPUT, errno, "cannot stat %s", d.data_path);
    if (rc == 0)
        rc = af_matrix_required_bytes(&d, &need, err);
    if (rc == 0 && (uint64_t)st.st_size < need)
        rc = af_fail(err, AF_E_OUTPUT, "%s: backing file %s is truncated (%lld of %llu bytes)",
                     s->path, d.data_path, (long long)st.st_size, (unsigned long long)need);
    if (rc == 0) {
        p->file_bytes = (uint64_t)st.st_size;
        rc = create_sized_temp(p, err);
    }
    if (rc == 0) {
        int dst = open(p->tmp_data_path, O_WRONLY | O_CLOEXEC);
        rc = dst < 0 ? af_fail_errno(err, AF_E_OUTPUT, errno, "cannot open %s", p->tmp_data_path)
                     : 0;
        if (rc == 0) {
            rc = copy_range(src, dst, 0, p->byte_offset, d.data_path, err);
            if (rc == 0)
                rc = copy_range(src, dst, need, p->file_bytes, d.data_path, err);
            close(dst);
        }
        if (rc != 0)
            af_output_discard(p);
    }
    close(src);
    return rc;
}

static int plan_sizes(af_output_plan *p, af_error *err) {
    p->elem_bytes = af_elem_bits(p->type) / 8;
    uint64_t cells, bytes;
    if (__builtin_mul_overflow(p->rows, p->cols, &cells) ||
        __builtin_mul_overflow(cells, p->elem_bytes, &bytes) ||
        __builtin_add_overflow(bytes, p->byte_offset, &bytes) || bytes > (uint64_t)INT64_MAX)
        return af_fail(err, AF_E_OUTPUT, "%s: a %llu x %llu output is too large (bytes overflow)",
                       p->desc_path, (unsigned long long)p->rows, (unsigned long long)p->cols);
    if (!p->into)
        p->file_bytes = bytes;
    return 0;
}

static int prepare_locked(const af_output_spec *s, af_output_plan *p, af_error *err);

int af_output_prepare(const af_output_spec *s, af_output_plan *p, af_error *err) {
    memset(p, 0, sizeof *p);
    int format = af_output_format_of(s->path);
    if (!format)
        return af_fail(err, AF_E_OUTPUT,
                       "%s: an output matrix path must end in .desc (bigmemory descriptor) or .afm "
                       "(annforest native descriptor)",
                       s->path);
    if (strlen(s->path) >= sizeof p->desc_path)
        return af_fail(err, AF_E_OUTPUT, "output path too long: %s", s->path);
    p->format = format;
    p->existing = s->existing;
    p->rows = s->rows;
    p->cols = s->cols;
    snprintf(p->desc_path, sizeof p->desc_path, "%s", s->path);
    char dir[AF_MATRIX_PATH_MAX], abs[PATH_MAX];
    af_path_dirname(s->path, dir, sizeof dir);
    if (!realpath(dir, abs))
        return af_fail_errno(err, AF_E_OUTPUT, errno, "%s: cannot use directory %s", s->path, dir);
    if (snprintf(p->dirname, sizeof p->dirname, "%s%s", abs, strcmp(abs, "/") == 0 ? "" : "/") >=
        (int)sizeof p->dirname)
        return af_fail(err, AF_E_OUTPUT, "output directory path too long: %s", abs);
    /* Before looking at what exists: another job may be about to publish it. */
    int lock = af_lock_beside(s->path, err);
    if (lock < 0)
        return -1;
    p->lock_fd1 = lock + 1;
    if (prepare_locked(s, p, err) != 0) {
        af_output_discard(p);
        return -1;
    }
    return 0;
}

static int prepare_locked(const af_output_spec *s, af_output_plan *p, af_error *err) {
    int format = p->format;
    if (s->existing == AF_EXISTING_INTO) {
        if (!exists(s->path))
            return af_fail(err, AF_E_OUTPUT,
                           "%s does not exist (existing = into writes into an existing matrix)",
                           s->path);
        if (prepare_into(s, p, err) != 0)
            return -1;
        if (plan_sizes(p, err) != 0) {
            af_output_discard(p);
            return -1;
        }
        return 0;
    }
    if (!writable_type(format, s->type))
        return type_error(s, format, err);
    if (format == AF_FMT_BIGMEMORY && s->order != AF_ORDER_COLUMN)
        return af_fail(err, AF_E_OUTPUT,
                       "%s: bigmemory matrices are column-major; use a native .afm output for "
                       "row-major order",
                       s->path);
    p->type = s->type;
    p->order = s->order;
    if (data_path_for(s->path, format, p->data_path, sizeof p->data_path, err) != 0 ||
        plan_sizes(p, err) != 0)
        return -1;
    if (s->existing == AF_EXISTING_ERROR) {
        const char *there = exists(s->path) ? s->path : exists(p->data_path) ? p->data_path : NULL;
        if (there)
            return af_fail(err, AF_E_OUTPUT,
                           "%s already exists (set existing = overwrite to replace it, or into to "
                           "write into it)",
                           there);
    } else if (s->existing != AF_EXISTING_OVERWRITE) {
        return af_fail(err, AF_E_INTERNAL, "unknown existing policy %d", s->existing);
    }
    return create_sized_temp(p, err);
}

/* ---- descriptor text --------------------------------------------------------------------- */

/* R's deparse of a whole number held as a double: up to 15 significant digits, fixed or
 * scientific, whichever is shorter (fixed on a tie): 3, 123456, 1e+05, 1.5e+10. */
static void r_double(double v, char *out, size_t cap) {
    char sci[64], fixed[64];
    for (int digits = 1; digits <= 15; digits++) {
        snprintf(sci, sizeof sci, "%.*e", digits - 1, v);
        if (strtod(sci, NULL) == v)
            break;
    }
    snprintf(fixed, sizeof fixed, "%.0f", v);
    snprintf(out, cap, "%s", strlen(fixed) <= strlen(sci) ? fixed : sci);
}

static void r_count(uint64_t v, int as_integer, char *out, size_t cap) {
    if (as_integer && v <= INT_MAX)
        snprintf(out, cap, "%lluL", (unsigned long long)v);
    else
        r_double((double)v, out, cap);
}

/* A growing text with R's line breaking (width cutoff 60, continuation indent 4). */
typedef struct deparse {
    char *b;
    size_t n, cap, line_len;
    int oom;
} deparse;

static void put(deparse *d, const char *s) {
    size_t k = strlen(s);
    if (d->n + k + 1 > d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 512;
        while (cap < d->n + k + 1)
            cap *= 2;
        char *b = realloc(d->b, cap);
        if (!b) {
            d->oom = 1;
            return;
        }
        d->b = b;
        d->cap = cap;
    }
    memcpy(d->b + d->n, s, k + 1);
    d->n += k;
    const char *nl = strrchr(s, '\n');
    d->line_len = nl ? strlen(nl + 1) : d->line_len + k;
}

static void maybe_break(deparse *d) {
    if (d->line_len > 60)
        put(d, "\n    ");
}

static void put_rstring(deparse *d, const char *s) {
    put(d, "\"");
    for (; *s; s++) {
        char c[8] = {*s, 0};
        if (*s == '"' || *s == '\\')
            snprintf(c, sizeof c, "\\%c", *s);
        else if (*s == '\n')
            snprintf(c, sizeof c, "\\n");
        else if (*s == '\t')
            snprintf(c, sizeof c, "\\t");
        else if ((unsigned char)*s < 0x20)
            snprintf(c, sizeof c, "\\%03o", (unsigned char)*s);
        put(d, c);
    }
    put(d, "\"");
}

static void put_field(deparse *d, const char *name, const char *value, int last) {
    put(d, name);
    put(d, " = ");
    put(d, value);
    if (!last) {
        put(d, ", ");
        maybe_break(d);
    }
}

static void put_offset(deparse *d, const char *name, uint64_t n) {
    char v[64];
    put(d, name);
    put(d, " = c(0, ");
    maybe_break(d);
    r_double((double)n, v, sizeof v);
    put(d, v);
    maybe_break(d);
    put(d, "), ");
    maybe_break(d);
}

static char *bigmemory_text(const af_output_plan *p) {
    deparse d = {0};
    char v[64];
    const char *base = strrchr(p->data_path, '/');
    base = base ? base + 1 : p->data_path;
    put(&d, "new(\"big.matrix.descriptor\", ");
    maybe_break(&d);
    put(&d, "description = list(sharedType = \"FileBacked\", ");
    maybe_break(&d);
    put(&d, "filename = ");
    put_rstring(&d, base);
    put(&d, ", ");
    maybe_break(&d);
    put(&d, "dirname = ");
    put_rstring(&d, p->dirname);
    put(&d, ", ");
    maybe_break(&d);
    r_count(p->rows, 1, v, sizeof v);
    put_field(&d, "totalRows", v, 0);
    r_count(p->cols, 1, v, sizeof v);
    put_field(&d, "totalCols", v, 0);
    put_offset(&d, "rowOffset", p->rows);
    put_offset(&d, "colOffset", p->cols);
    r_double((double)p->rows, v, sizeof v);
    put_field(&d, "nrow", v, 0);
    r_double((double)p->cols, v, sizeof v);
    put_field(&d, "ncol", v, 0);
    put_field(&d, "rowNames", "NULL", 0);
    put_field(&d, "colNames", "NULL", 0);
    put(&d, "type = ");
    put_rstring(&d, af_elem_bigmemory_name(p->type));
    put(&d, ", ");
    maybe_break(&d);
    put_field(&d, "separated", "FALSE", 1);
    put(&d, "))\n");
    if (d.oom) {
        free(d.b);
        return NULL;
    }
    return d.b;
}

static char *native_text(const af_output_plan *p) {
    const char *base = strrchr(p->data_path, '/');
    base = base ? base + 1 : p->data_path;
    char *t = NULL;
    if (asprintf(&t,
                 "annforest-matrix: 1\nfile: %s\nrows: %llu\ncols: %llu\ntype: %s\norder: %s\n"
                 "offset: %llu\nna: r\n",
                 base, (unsigned long long)p->rows, (unsigned long long)p->cols,
                 af_elem_name(p->type), p->order == AF_ORDER_ROW ? "row" : "column",
                 (unsigned long long)p->byte_offset) < 0)
        return NULL;
    return t;
}

char *af_output_descriptor_text(const af_output_plan *p, af_error *err) {
    char *t = p->format == AF_FMT_BIGMEMORY ? bigmemory_text(p) : native_text(p);
    if (!t)
        af_fail(err, AF_E_INTERNAL, "out of memory");
    return t;
}

/* ---- publish / discard ------------------------------------------------------------------- */

static void release_lock(af_output_plan *p) {
    if (p->lock_fd1 > 0)
        af_unlock_beside(p->desc_path, p->lock_fd1 - 1);
    p->lock_fd1 = 0;
}

int af_output_publish(af_output_plan *p, af_error *err) {
    if (!p->tmp_data_path[0])
        return af_fail(err, AF_E_INTERNAL, "%s: nothing to publish", p->desc_path);
    int fd = open(p->tmp_data_path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return af_fail_errno(err, AF_E_OUTPUT, errno, "cannot reopen %s", p->tmp_data_path);
    struct stat st;
    int e = fstat(fd, &st) != 0 ? errno : 0;
    if (!e && (uint64_t)st.st_size != p->file_bytes)
        e = EIO; /* someone cut it: never publish a short file */
    if (!e && fsync(fd) != 0)
        e = errno;
    if (close(fd) != 0 && !e)
        e = errno;
    if (e)
        return af_fail_errno(err, AF_E_OUTPUT, e, "cannot complete %s", p->data_path);
    /* The descriptor is written (to its own temporary file) before anything is renamed, so that
     * a disk too full for it fails the publish while nothing has changed. */
    char desc_tmp[AF_MATRIX_PATH_MAX] = "";
    if (!p->into) {
        char *text = af_output_descriptor_text(p, err);
        if (!text)
            return -1;
        int rc =
            af_write_temp_beside(p->desc_path, text, strlen(text), desc_tmp, sizeof desc_tmp, err);
        free(text);
        if (rc != 0)
            return -1;
        /* Replacing: take the old descriptor away first, so that at no moment does a descriptor
         * describe data of another shape. */
        if (p->existing == AF_EXISTING_OVERWRITE && unlink(p->desc_path) != 0 && errno != ENOENT) {
            af_fail_errno(err, AF_E_OUTPUT, errno, "cannot replace %s", p->desc_path);
            unlink(desc_tmp);
            return -1;
        }
    }
    if (af_publish_rename(p->tmp_data_path, p->data_path, err) != 0) {
        if (desc_tmp[0])
            unlink(desc_tmp);
        return -1;
    }
    p->tmp_data_path[0] = '\0';
    if (desc_tmp[0] && af_publish_rename(desc_tmp, p->desc_path, err) != 0) {
        unlink(desc_tmp);
        return -1;
    }
    release_lock(p);
    return 0;
}

void af_output_discard(af_output_plan *p) {
    if (p && p->tmp_data_path[0]) {
        unlink(p->tmp_data_path);
        p->tmp_data_path[0] = '\0';
    }
    if (p)
        release_lock(p);
}

int af_output_open_data(const af_output_plan *p, af_error *err) {
    int fd = open(p->tmp_data_path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return af_fail_errno(err, AF_E_OUTPUT, errno, "cannot open %s for writing",
                             p->tmp_data_path[0] ? p->tmp_data_path : p->data_path);
    return fd;
}

/* ---- encoding ---------------------------------------------------------------------------- */

static int unfit(af_error *err, const char *fmt, double v, const char *type) {
    return af_fail(err, AF_E_INPUT, fmt, v, type);
}

#define STORE(CTYPE, VALUE)                                                                        \
    do {                                                                                           \
        CTYPE x_ = (CTYPE)(VALUE);                                                                 \
        memcpy(out + i * sizeof x_, &x_, sizeof x_);                                               \
    } while (0)

int af_output_encode(const af_output_plan *p, const double *src, uint64_t n, void *dst,
                     uint64_t *bad, af_error *err) {
    unsigned char *out = dst;
    af_elem_type t = p->type;
    const char *name = p->format == AF_FMT_BIGMEMORY && af_elem_bigmemory_name(t)
                           ? af_elem_bigmemory_name(t)
                           : af_elem_name(t);
    double lo, hi;
    af_elem_range(t, &lo, &hi);
    for (uint64_t i = 0; i < n; i++) {
        double v = src[i];
        *bad = i;
        if (isnan(v)) {
            if (t == AF_T_DOUBLE) {
                STORE(double, v);
            } else if (t == AF_T_SINGLE) {
                /* bigmemory reads FLT_MIN as NA (and R's NA written as float NaN as NaN) */
                int r_na = p->format == AF_FMT_BIGMEMORY && af_is_na_real(v);
                STORE(float, r_na ? FLT_MIN : (float)v);
            } else if (!af_elem_has_r_na(t)) {
                return af_fail(err, AF_E_INPUT, "the value is NA, and type '%s' has no NA", name);
            } else {
                double code = af_elem_r_na_code(t);
                if (t == AF_T_BYTE)
                    STORE(int8_t, code);
                else if (t == AF_T_SHORT)
                    STORE(int16_t, code);
                else
                    STORE(int32_t, code);
            }
            continue;
        }
        if (t == AF_T_DOUBLE) {
            STORE(double, v);
            continue;
        }
        if (t == AF_T_SINGLE) {
            if (isfinite(v) && (v > hi || v < lo))
                return unfit(err, "the value %.17g does not fit type '%s'", v, name);
            STORE(float, v);
            continue;
        }
        if (v != floor(v) || !isfinite(v))
            return unfit(err, "the value %.17g is not a whole number, which type '%s' needs", v,
                         name);
        if (v < lo || v > hi)
            return af_fail(err, AF_E_INPUT, "the value %.17g does not fit type '%s' (%.0f..%.0f)",
                           v, name, lo, hi);
        switch (t) {
        case AF_T_BYTE:
            STORE(int8_t, v);
            break;
        case AF_T_UBYTE:
        case AF_T_RAW:
            STORE(uint8_t, v);
            break;
        case AF_T_SHORT:
            STORE(int16_t, v);
            break;
        case AF_T_USHORT:
            STORE(uint16_t, v);
            break;
        case AF_T_INTEGER:
            STORE(int32_t, v);
            break;
        default:
            return af_fail(err, AF_E_INTERNAL, "cannot encode type '%s'", name);
        }
    }
    return 0;
}

static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off, const char *path,
                      af_error *err) {
    const char *b = buf;
    while (len > 0) {
        ssize_t n = pwrite(fd, b, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return af_fail_errno(err, AF_E_OUTPUT, n < 0 ? errno : EIO, "cannot write %s", path);
        b += n, len -= (size_t)n, off += (uint64_t)n;
    }
    return 0;
}

int af_output_write_rows_f64(const af_output_plan *p, int fd, uint64_t r0, uint64_t n,
                             const double *rows, af_error *err) {
    if (r0 > p->rows || n > p->rows - r0)
        return af_fail(err, AF_E_INTERNAL, "%s: rows %llu..%llu past the %llu of the output",
                       p->desc_path, (unsigned long long)r0 + 1, (unsigned long long)(r0 + n),
                       (unsigned long long)p->rows);
    if (n == 0 || p->cols == 0)
        return 0;
    uint64_t cells = n * p->cols;
    unsigned char *buf = malloc(cells * p->elem_bytes);
    double *col = p->order == AF_ORDER_COLUMN ? malloc(n * sizeof *col) : NULL;
    if (!buf || (p->order == AF_ORDER_COLUMN && !col)) {
        free(buf);
        free(col);
        return af_fail(err, AF_E_INTERNAL, "out of memory writing %s", p->desc_path);
    }
    uint64_t bad = 0;
    int rc = 0;
    if (p->order == AF_ORDER_ROW) {
        rc = af_output_encode(p, rows, cells, buf, &bad, err);
        if (rc != 0)
            af_error_prefix(err, "%s: row %llu, column %llu", p->desc_path,
                            (unsigned long long)(r0 + bad / p->cols + 1),
                            (unsigned long long)(bad % p->cols + 1));
        else
            rc = pwrite_all(fd, buf, cells * p->elem_bytes, af_output_cell_offset(p, r0, 0),
                            p->tmp_data_path, err);
    } else {
        for (uint64_t c = 0; c < p->cols && rc == 0; c++) {
            for (uint64_t i = 0; i < n; i++)
                col[i] = rows[i * p->cols + c];
            unsigned char *seg = buf + c * n * p->elem_bytes;
            rc = af_output_encode(p, col, n, seg, &bad, err);
            if (rc != 0)
                af_error_prefix(err, "%s: row %llu, column %llu", p->desc_path,
                                (unsigned long long)(r0 + bad + 1), (unsigned long long)(c + 1));
            else
                rc = pwrite_all(fd, seg, n * p->elem_bytes, af_output_cell_offset(p, r0, c),
                                p->tmp_data_path, err);
        }
    }
    free(buf);
    free(col);
    return rc;
}
