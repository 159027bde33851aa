/* The generic matrix layer: description checks, packing, summaries, and reads dispatched to the
 * backend table. */
#include "matrix.h"
#include "matrix_backend.h"
#include "mpi_util.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Backends by af_backend_id; a build without HDF5 has none in that slot. */
static const af_matrix_backend *const backends[AF_BACKEND_COUNT] = {
    [AF_BACKEND_MMAP] = &af_matrix_backend_mmap,
#if AF_HAVE_HDF5
    [AF_BACKEND_HDF5] = &af_matrix_backend_hdf5,
#else
    [AF_BACKEND_HDF5] = NULL,
#endif
};

const af_matrix_backend *af_matrix_backend_get(int id) {
    return (id >= 0 && id < AF_BACKEND_COUNT) ? backends[id] : NULL;
}

const char *af_matrix_format_name(int format) {
    switch (format) {
    case AF_FMT_BIGMEMORY:
        return "bigmemory descriptor (R dput text)";
    case AF_FMT_NATIVE:
        return "annforest native descriptor";
    case AF_FMT_FVECS:
        return ".fvecs (float32 vectors)";
    case AF_FMT_BVECS:
        return ".bvecs (uint8 vectors)";
    case AF_FMT_IVECS:
        return ".ivecs (int32 vectors)";
    case AF_FMT_HDF5:
        return "HDF5 dataset";
    default:
        return "unknown";
    }
}

/* ---- description ----------------------------------------------------------------------- */

static const char magic[8] = {'A', 'F', 'M', 'D', 'E', 'S', 'C', '1'};

void af_matrix_desc_pack(const af_matrix_desc *d, unsigned char buf[AF_MATRIX_DESC_PACKED_SIZE]) {
    uint32_t size = (uint32_t)sizeof *d, version = 1;
    memset(buf, 0, AF_MATRIX_DESC_PACKED_SIZE);
    memcpy(buf, magic, 8);
    memcpy(buf + 8, &version, 4);
    memcpy(buf + 12, &size, 4);
    memcpy(buf + 16, d, sizeof *d);
}

int af_matrix_desc_unpack(const unsigned char *buf, size_t len, af_matrix_desc *out,
                          af_error *err) {
    uint32_t size = 0, version = 0;
    if (len == AF_MATRIX_DESC_PACKED_SIZE) {
        memcpy(&version, buf + 8, 4);
        memcpy(&size, buf + 12, 4);
    }
    if (len != AF_MATRIX_DESC_PACKED_SIZE || memcmp(buf, magic, 8) != 0 || version != 1 ||
        size != sizeof *out)
        return af_fail(err, AF_E_INTERNAL,
                       "a matrix description received from rank 0 is not in this build's form "
                       "(are all ranks running the same annforest?)");
    memcpy(out, buf + 16, sizeof *out);
    out->path[AF_MATRIX_PATH_MAX - 1] = out->data_path[AF_MATRIX_PATH_MAX - 1] = '\0';
    out->dataset[AF_MATRIX_PATH_MAX - 1] = '\0';
    return 0;
}

int af_path_join(char *out, size_t cap, const char *dir, const char *name, af_error *err) {
    int n = (dir && *dir) ? snprintf(out, cap, "%s/%s", dir, name) : snprintf(out, cap, "%s", name);
    if (n < 0 || (size_t)n >= cap)
        return af_fail(err, AF_E_INPUT, "path too long: %s/%s", dir ? dir : "", name);
    return 0;
}

void af_path_dirname(const char *path, char *out, size_t cap) {
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(out, cap, ".");
        return;
    }
    size_t n = (size_t)(slash - path);
    if (n == 0)
        n = 1; /* "/x" lives in "/" */
    if (n >= cap)
        n = cap - 1;
    memcpy(out, path, n);
    out[n] = '\0';
}

int af_matrix_data_file(const af_matrix_desc *d, uint64_t col, char *out, size_t cap,
                        af_error *err) {
    int n = d->separated
                ? snprintf(out, cap, "%s_column_%llu", d->data_path, (unsigned long long)col)
                : snprintf(out, cap, "%s", d->data_path);
    if (n < 0 || (size_t)n >= cap)
        return af_fail(err, AF_E_INPUT, "%s: backing file path too long", d->path);
    return 0;
}

static int mul_ok(uint64_t a, uint64_t b, uint64_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}

static int add_ok(uint64_t a, uint64_t b, uint64_t *out) {
    return !__builtin_add_overflow(a, b, out);
}

int af_matrix_required_bytes(const af_matrix_desc *d, uint64_t *bytes, af_error *err) {
    unsigned bits = af_elem_bits(d->type);
    uint64_t cells, b = 0, row_bytes;
    int ok;
    if (d->separated) {
        ok = mul_ok(d->total_rows, bits, &b);
        b = b / 8 + (b % 8 != 0);
    } else if (d->row_header_bytes) {
        ok = mul_ok(d->total_cols, bits / 8, &row_bytes) &&
             add_ok(row_bytes, d->row_header_bytes, &row_bytes) &&
             mul_ok(d->total_rows, row_bytes, &b);
    } else {
        ok = mul_ok(d->total_rows, d->total_cols, &cells) && mul_ok(cells, bits, &b);
        b = b / 8 + (b % 8 != 0);
    }
    ok = ok && add_ok(b, d->byte_offset, &b) && b <= (uint64_t)INT64_MAX;
    if (!ok)
        return af_fail(err, AF_E_INPUT,
                       "%s: a %llu x %llu %s matrix is too large (its size in bytes overflows "
                       "64 bits)",
                       d->path, (unsigned long long)d->total_rows,
                       (unsigned long long)d->total_cols, af_elem_name(d->type));
    *bytes = b;
    return 0;
}

static void print_na(const af_matrix_desc *d, FILE *out) {
    af_elem_type t = d->type;
    if (d->na_mode == AF_NA_NONE)
        fprintf(out, "NA:       none (no value is NA%s)\n",
                af_elem_is_float(t) ? "; NaN is still treated as NA" : "");
    else if (d->na_mode == AF_NA_VALUE)
        fprintf(out, "NA:       the value %.17g%s\n", d->na_value,
                af_elem_is_float(t) ? " and NaN" : "");
    else if (t == AF_T_DOUBLE)
        fprintf(out, "NA:       R's NA_real_ and any NaN\n");
    else if (t == AF_T_SINGLE)
        fprintf(out, "NA:       NaN%s\n",
                d->na_mode == AF_NA_BIGMEMORY ? ", and FLT_MIN (bigmemory's float NA)" : "");
    else if (af_elem_has_r_na(t))
        fprintf(out, "NA:       R's code %.0f\n", af_elem_r_na_code(t));
    else
        fprintf(out, "NA:       none (%s has no NA)\n", af_elem_name(t));
}

static void print_file(const char *label, const char *path, FILE *out) {
    struct stat st;
    if (stat(path, &st) != 0)
        fprintf(out, "%s%s (missing: %s)\n", label, path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        fprintf(out, "%s%s (not a regular file)\n", label, path);
    else
        fprintf(out, "%s%s (%lld bytes)\n", label, path, (long long)st.st_size);
}

void af_matrix_print_summary(const af_matrix_desc *d, FILE *out) {
    fprintf(out, "matrix:   %s\n", d->path);
    fprintf(out, "format:   %s\n", af_matrix_format_name(d->format));
    fprintf(out, "shape:    %llu x %llu (rows x columns)\n", (unsigned long long)d->rows,
            (unsigned long long)d->cols);
    const char *bm = af_elem_bigmemory_name(d->type);
    if (d->format == AF_FMT_BIGMEMORY && bm)
        fprintf(out, "type:     %s (%s)\n", bm, af_elem_c_desc(d->type));
    else
        fprintf(out, "type:     %s (%s)\n", af_elem_name(d->type), af_elem_c_desc(d->type));
    fprintf(out, "layout:   %s%s%s\n", d->order == AF_ORDER_ROW ? "row-major" : "column-major",
            d->separated ? ", separated (one file per column)" : "",
            d->row_header_bytes ? ", each row preceded by its int32 dimension" : "");
    print_na(d, out);
    if (d->rows != d->total_rows || d->cols != d->total_cols)
        fprintf(
            out, "view:     rows %llu..%llu, columns %llu..%llu of a %llu x %llu matrix\n",
            (unsigned long long)d->row_offset + 1, (unsigned long long)(d->row_offset + d->rows),
            (unsigned long long)d->col_offset + 1, (unsigned long long)(d->col_offset + d->cols),
            (unsigned long long)d->total_rows, (unsigned long long)d->total_cols);
    if (d->byte_offset)
        fprintf(out, "offset:   %llu bytes\n", (unsigned long long)d->byte_offset);
    af_error e;
    if (d->format == AF_FMT_HDF5) {
        fprintf(out, "dataset:  %s\n", d->dataset);
        print_file("file:     ", d->data_path, out);
        const af_matrix_backend *b = af_matrix_backend_get(d->backend);
        if (b && b->print_details)
            b->print_details(d, out);
        return;
    }
    uint64_t need;
    if (af_matrix_required_bytes(d, &need, &e) == 0)
        fprintf(out, "needs:    %llu bytes%s\n", (unsigned long long)need,
                d->separated ? " per column file" : "");
    if (!d->separated) {
        print_file("backing:  ", d->data_path, out);
        return;
    }
    char file[AF_MATRIX_PATH_MAX + 32];
    uint64_t shown = d->total_cols < 4 ? d->total_cols : 3;
    for (uint64_t c = 0; c < shown; c++)
        if (af_matrix_data_file(d, c, file, sizeof file, &e) == 0)
            print_file("backing:  ", file, out);
    if (shown < d->total_cols)
        fprintf(out, "backing:  ... %llu column files in all, %s_column_0 to _column_%llu\n",
                (unsigned long long)d->total_cols, d->data_path,
                (unsigned long long)d->total_cols - 1);
}

/* ---- reading ---------------------------------------------------------------------------- */

struct af_matrix {
    af_matrix_desc desc;
    const af_matrix_backend *backend;
    void *state;
    MPI_Comm comm;  /* the ranks that read it together (MPI_COMM_SELF: this rank alone) */
    int collective; /* opened with the backend's open_all: its read_all may be used */
};

static uint64_t window_bytes = 64u << 20;

void af_matrix_set_window_bytes(uint64_t bytes) {
    window_bytes = bytes < 4096 ? 4096 : bytes;
}

uint64_t af_matrix_window_bytes(void) {
    return window_bytes;
}

static int new_matrix(const af_matrix_desc *d, af_matrix **out, af_error *err) {
    *out = NULL;
    const af_matrix_backend *b = af_matrix_backend_get(d->backend);
    if (!b)
        return af_fail(err, AF_E_INPUT, "%s: %s is not supported by this annforest build", d->path,
                       af_matrix_format_name(d->format));
    af_matrix *m = calloc(1, sizeof *m);
    if (!m)
        return af_fail(err, AF_E_INTERNAL, "out of memory");
    m->desc = *d;
    m->backend = b;
    m->comm = MPI_COMM_SELF;
    *out = m;
    return 0;
}

int af_matrix_open(const af_matrix_desc *d, af_matrix **out, af_error *err) {
    af_matrix *m;
    if (new_matrix(d, &m, err) != 0)
        return -1;
    if (m->backend->open(&m->desc, &m->state, err) != 0) {
        free(m);
        return -1;
    }
    *out = m;
    return 0;
}

int af_matrix_open_all(const af_matrix_desc *d, MPI_Comm comm, af_matrix **out, af_error *err) {
    af_matrix *m = NULL;
    *out = NULL;
    /* Every rank holds the same description, so the backend is missing on all or none. */
    int failed = new_matrix(d, &m, err) != 0;
    if (af_mpi_agree_comm(comm, failed, err) != 0) {
        free(m);
        return -1;
    }
    m->comm = comm;
    int rc;
    if (m->backend->open_all) {
        rc = m->backend->open_all(&m->desc, comm, &m->state, err);
        m->collective = 1;
    } else {
        failed = m->backend->open(&m->desc, &m->state, err) != 0;
        rc = af_mpi_agree_comm(comm, failed, err);
        if (rc != 0 && !failed)
            m->backend->close(m->state);
    }
    if (rc != 0) {
        free(m);
        return -1;
    }
    *out = m;
    return 0;
}

MPI_Comm af_matrix_comm(const af_matrix *m) {
    return m->comm;
}

uint64_t af_matrix_rows(const af_matrix *m) {
    return m->desc.rows;
}

uint64_t af_matrix_cols(const af_matrix *m) {
    return m->desc.cols;
}

const af_matrix_desc *af_matrix_description(const af_matrix *m) {
    return &m->desc;
}

void af_matrix_close(af_matrix *m) {
    if (!m)
        return;
    m->backend->close(m->state);
    free(m);
}

static int check_rows(const af_matrix *m, uint64_t r0, uint64_t r1, af_error *err) {
    if (r0 > r1 || r1 > m->desc.rows)
        return af_fail(err, AF_E_INTERNAL, "%s: rows %llu..%llu asked of a matrix of %llu rows",
                       m->desc.path, (unsigned long long)r0 + 1, (unsigned long long)r1,
                       (unsigned long long)m->desc.rows);
    return 0;
}

#define FLAG_NA_ROWS(dst)                                                                          \
    do {                                                                                           \
        uint64_t cols_ = m->desc.cols;                                                             \
        for (uint64_t i = 0; row_na && i < r1 - r0; i++) {                                         \
            uint8_t any = 0;                                                                       \
            for (uint64_t j = 0; j < cols_; j++)                                                   \
                any |= isnan(dst[i * cols_ + j]) != 0;                                             \
            row_na[i] = any;                                                                       \
        }                                                                                          \
    } while (0)

int af_matrix_read_f32(af_matrix *m, uint64_t r0, uint64_t r1, float *dst, uint8_t *row_na,
                       af_error *err) {
    if (check_rows(m, r0, r1, err) != 0)
        return -1;
    if (r0 == r1 || m->desc.cols == 0) {
        if (row_na)
            memset(row_na, 0, r1 - r0);
        return 0;
    }
    if (m->backend->read_f32(m->state, r0, r1, dst, err) != 0)
        return -1;
    FLAG_NA_ROWS(dst);
    return 0;
}

int af_matrix_read_f64(af_matrix *m, uint64_t r0, uint64_t r1, double *dst, uint8_t *row_na,
                       af_error *err) {
    if (check_rows(m, r0, r1, err) != 0)
        return -1;
    if (r0 == r1 || m->desc.cols == 0) {
        if (row_na)
            memset(row_na, 0, r1 - r0);
        return 0;
    }
    if (m->backend->read_f64(m->state, r0, r1, dst, err) != 0)
        return -1;
    FLAG_NA_ROWS(dst);
    return 0;
}

/* Rows of floats packed as bits (see af_matrix_read_bits): n rows of buf into dst. */
static void pack_bits(const float *buf, uint64_t n, uint64_t cols, uint64_t *dst, uint8_t *row_na) {
    uint64_t words = af_bits_words(cols);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t *row = dst + i * words;
        for (uint64_t j = 0; j < cols; j++) {
            float v = buf[i * cols + j];
            if (isnan(v)) {
                if (row_na)
                    row_na[i] = 1;
            } else if (v != 0.0f) {
                row[j >> 6] |= (uint64_t)1 << (j & 63);
            }
        }
    }
}

/* Bits are converted through floats a bounded number of rows at a time. */
static uint64_t bits_step(uint64_t cols) {
    uint64_t step = (1u << 20) / cols;
    return step ? step : 1;
}

int af_matrix_read_bits(af_matrix *m, uint64_t r0, uint64_t r1, uint64_t *dst, uint8_t *row_na,
                        af_error *err) {
    if (check_rows(m, r0, r1, err) != 0)
        return -1;
    uint64_t cols = m->desc.cols, words = af_bits_words(cols);
    memset(dst, 0, (r1 - r0) * words * sizeof *dst);
    if (row_na)
        memset(row_na, 0, r1 - r0);
    if (cols == 0)
        return 0;
    uint64_t step = bits_step(cols);
    float *buf = malloc((r1 - r0 < step ? r1 - r0 : step) * cols * sizeof *buf);
    if (!buf && r1 > r0)
        return af_fail(err, AF_E_INTERNAL, "out of memory reading %s", m->desc.path);
    for (uint64_t a = r0; a < r1; a += step) {
        uint64_t b = a + step < r1 ? a + step : r1;
        if (m->backend->read_f32(m->state, a, b, buf, err) != 0) {
            free(buf);
            return -1;
        }
        pack_bits(buf, b - a, cols, dst + (a - r0) * words, row_na ? row_na + (a - r0) : NULL);
    }
    free(buf);
    return 0;
}

/* ---- collective reads ------------------------------------------------------------------- */

/* Collective: rows [r0, r1) of every rank, with the backend's collective transfer when the
 * matrix was opened with one, else each rank alone; agreed result. */
static int rows_all(af_matrix *m, uint64_t r0, uint64_t r1, void *dst, int f64, af_error *err) {
    if (m->desc.cols == 0) /* the same on every rank: no rank reads */
        return 0;
    if (m->collective && m->backend->read_all)
        return m->backend->read_all(m->state, r0, r1, dst, f64, err);
    int failed = 0;
    if (r1 > r0)
        failed = (f64 ? m->backend->read_f64(m->state, r0, r1, dst, err)
                      : m->backend->read_f32(m->state, r0, r1, dst, err)) != 0;
    return af_mpi_agree_comm(m->comm, failed, err);
}

int af_matrix_read_f32_all(af_matrix *m, uint64_t r0, uint64_t r1, float *dst, uint8_t *row_na,
                           af_error *err) {
    if (af_mpi_agree_comm(m->comm, check_rows(m, r0, r1, err) != 0, err) != 0 ||
        rows_all(m, r0, r1, dst, 0, err) != 0)
        return -1;
    FLAG_NA_ROWS(dst); /* no columns: no NA */
    return 0;
}

int af_matrix_read_f64_all(af_matrix *m, uint64_t r0, uint64_t r1, double *dst, uint8_t *row_na,
                           af_error *err) {
    if (af_mpi_agree_comm(m->comm, check_rows(m, r0, r1, err) != 0, err) != 0 ||
        rows_all(m, r0, r1, dst, 1, err) != 0)
        return -1;
    FLAG_NA_ROWS(dst); /* no columns: no NA */
    return 0;
}

int af_matrix_read_bits_all(af_matrix *m, uint64_t r0, uint64_t r1, uint64_t *dst, uint8_t *row_na,
                            af_error *err) {
    if (af_mpi_agree_comm(m->comm, check_rows(m, r0, r1, err) != 0, err) != 0)
        return -1;
    uint64_t cols = m->desc.cols, words = af_bits_words(cols);
    memset(dst, 0, (r1 - r0) * words * sizeof *dst);
    if (row_na)
        memset(row_na, 0, r1 - r0);
    if (cols == 0)
        return 0;
    /* Pieces of step rows; every rank takes part in as many pieces as the rank with most. */
    uint64_t step = bits_step(cols), pieces = (r1 - r0 + step - 1) / step;
    MPI_Allreduce(MPI_IN_PLACE, &pieces, 1, MPI_UINT64_T, MPI_MAX, m->comm);
    float *buf = malloc((r1 - r0 < step ? r1 - r0 : step) * cols * sizeof *buf + 1);
    int failed = !buf && af_fail(err, AF_E_INTERNAL, "out of memory reading %s", m->desc.path);
    int rc = af_mpi_agree_comm(m->comm, failed, err);
    for (uint64_t p = 0; p < pieces && rc == 0; p++) {
        uint64_t a = r0 + p * step < r1 ? r0 + p * step : r1;
        uint64_t b = a + step < r1 ? a + step : r1;
        rc = rows_all(m, a, b, buf, 0, err);
        if (rc == 0)
            pack_bits(buf, b - a, cols, dst + (a - r0) * words, row_na ? row_na + (a - r0) : NULL);
    }
    free(buf);
    return rc;
}
