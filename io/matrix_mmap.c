/* The mmap backend: raw files (bigmemory .bin, separated column files, native descriptors' data,
 * *vecs), read through bounded windows.
 *
 * A read of rows [r0, r1) is a sequence of runs, each a contiguous stretch of one file: a row's
 * columns (row-major) or a column's rows (column-major, or one column file when separated). Runs
 * are decoded through a single mapping at a time, at most `window` bytes long, page-aligned,
 * and never reaching past the bytes this read needs, so memory stays bounded whatever the
 * layout. Column-major reads go through a small tile (a few columns by a block of rows),
 * decoded column by column and then transposed into the rows, so that each row's cache line is
 * written once instead of once per column. Every file's size is checked against the description
 * when opened and again before each mapping, so a short or truncated file is an error, never a
 * SIGBUS. */
#include "matrix_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct mm_state {
    const af_matrix_desc *d;
    int fd;        /* the one backing file when not separated */
    uint64_t need; /* bytes each backing file must hold */
    uint64_t bits; /* element size in bits */
    uint64_t window;
    uint64_t page;
    /* the current mapping */
    unsigned char *map;
    uint64_t map_lo, map_hi; /* file byte range it covers */
    int64_t map_file;        /* -1: the single file; else the column file's number */
    double *tile;            /* column-major reads: TILE_COLS x TILE_ROWS, allocated once */
} mm_state;

/* The tile of a column-major read: 16 columns (a cache line of floats) by 8192 rows, 1 MiB of
 * doubles, which stays in cache while it is transposed. */
enum { TILE_COLS = 16, TILE_ROWS = 8192 };

static int check_size(const mm_state *s, const char *file, const struct stat *st, af_error *err) {
    if (!S_ISREG(st->st_mode))
        return af_fail(err, AF_E_INPUT, "%s: backing file %s is not a regular file", s->d->path,
                       file);
    if ((uint64_t)st->st_size < s->need)
        return af_fail(err, AF_E_INPUT,
                       "%s: backing file %s is truncated: %lld bytes, but a %llu x %llu %s matrix "
                       "needs %llu",
                       s->d->path, file, (long long)st->st_size,
                       (unsigned long long)s->d->total_rows, (unsigned long long)s->d->total_cols,
                       af_elem_name(s->d->type), (unsigned long long)s->need);
    return 0;
}

static int open_checked(const mm_state *s, const char *file, af_error *err) {
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return af_fail_errno(err, AF_E_INPUT, errno, "%s: cannot open backing file %s", s->d->path,
                             file);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return af_fail_errno(err, AF_E_INPUT, e, "%s: cannot stat backing file %s", s->d->path,
                             file);
    }
    if (check_size(s, file, &st, err) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void unmap(mm_state *s) {
    if (s->map)
        munmap(s->map, s->map_hi - s->map_lo);
    s->map = NULL;
    s->map_lo = s->map_hi = 0;
}

static int mm_open(const af_matrix_desc *d, void **state, af_error *err) {
    mm_state *s = calloc(1, sizeof *s);
    if (!s)
        return af_fail(err, AF_E_INTERNAL, "out of memory");
    s->d = d;
    s->fd = -1;
    s->bits = af_elem_bits(d->type);
    long page = sysconf(_SC_PAGESIZE);
    s->page = page > 0 ? (uint64_t)page : 4096;
    uint64_t w = af_matrix_window_bytes();
    w -= w % s->page;
    s->window = w < 2 * s->page ? 2 * s->page : w;
    if (s->bits == 0 || af_matrix_required_bytes(d, &s->need, err) != 0) {
        if (s->bits == 0)
            af_fail(err, AF_E_INPUT, "%s: unknown element type", d->path);
        free(s);
        return -1;
    }
    /* Reads address cells by bit position (packed types), so every byte of the file must have
     * a bit position that fits 64 bits: required_bytes alone only bounds the bytes. */
    if (s->need > UINT64_MAX / 8) {
        af_fail(err, AF_E_INPUT, "%s: %llu bytes is too large to address", d->path,
                (unsigned long long)s->need);
        free(s);
        return -1;
    }
    if (!d->separated) {
        s->fd = open_checked(s, d->data_path, err);
        if (s->fd < 0) {
            free(s);
            return -1;
        }
    } else {
        /* Every column file of the view must be there and whole before any read. */
        char file[AF_MATRIX_PATH_MAX + 32];
        for (uint64_t c = d->col_offset; c < d->col_offset + d->cols; c++) {
            int fd = af_matrix_data_file(d, c, file, sizeof file, err) == 0
                         ? open_checked(s, file, err)
                         : -1;
            if (fd < 0) {
                free(s);
                return -1;
            }
            close(fd);
        }
    }
    *state = s;
    return 0;
}

static void mm_close(void *state) {
    mm_state *s = state;
    if (!s)
        return;
    free(s->tile);
    unmap(s);
    if (s->fd >= 0)
        close(s->fd);
    free(s);
}

/* Map [lo, hi) of file `file` (rounded out to pages at the low end), hi <= need. */
static int map_window(mm_state *s, int64_t file, uint64_t lo, uint64_t hi, af_error *err) {
    unmap(s);
    char name[AF_MATRIX_PATH_MAX + 32];
    if (af_matrix_data_file(s->d, file < 0 ? 0 : (uint64_t)file, name, sizeof name, err) != 0)
        return -1;
    int fd = s->fd;
    if (file >= 0) {
        fd = open_checked(s, name, err);
        if (fd < 0)
            return -1;
    } else {
        /* The file may have been cut since it was opened: check again before touching it. */
        struct stat st;
        if (fstat(fd, &st) != 0)
            return af_fail_errno(err, AF_E_INPUT, errno, "%s: cannot stat %s", s->d->path, name);
        if (check_size(s, name, &st, err) != 0)
            return -1;
    }
    uint64_t alo = lo - lo % s->page;
    void *p = mmap(NULL, hi - alo, PROT_READ, MAP_SHARED, fd, (off_t)alo);
    int e = errno;
    if (file >= 0)
        close(fd);
    if (p == MAP_FAILED)
        return af_fail_errno(err, AF_E_INPUT, e, "%s: cannot map bytes %llu..%llu of %s",
                             s->d->path, (unsigned long long)alo, (unsigned long long)hi, name);
    posix_madvise(p, hi - alo, POSIX_MADV_SEQUENTIAL);
    s->map = p;
    s->map_lo = alo;
    s->map_hi = hi;
    s->map_file = file;
    return 0;
}

typedef struct run_out {
    void *dst;
    int as_double;
    uint64_t index, stride; /* first destination element and the step between elements */
} run_out;

static void decode(mm_state *s, uint64_t bitpos, uint64_t n, run_out *o) {
    const af_matrix_desc *d = s->d;
    uint64_t rel = bitpos - s->map_lo * 8;
    if (o->as_double)
        af_decode_f64(d->type, d->na_mode, d->na_value, s->map, rel, s->bits, n,
                      (double *)o->dst + o->index, o->stride);
    else
        af_decode_f32(d->type, d->na_mode, d->na_value, s->map, rel, s->bits, n,
                      (float *)o->dst + o->index, o->stride);
    o->index += n * o->stride;
}

/* Decode `count` contiguous elements from bit position bitpos of file `file`; `first_byte` is
 * where the run starts (before bitpos when a row header is included) and `limit` the end of
 * the bytes this read needs from the file. */
static int read_run(mm_state *s, int64_t file, uint64_t first_byte, uint64_t bitpos, uint64_t count,
                    uint64_t limit, run_out *o, af_error *err) {
    uint64_t lo = first_byte;
    while (count > 0) {
        uint64_t elem_end = (bitpos + s->bits + 7) / 8;
        if (!s->map || s->map_file != file || lo < s->map_lo || elem_end > s->map_hi) {
            uint64_t alo = lo - lo % s->page;
            uint64_t hi = alo + s->window < limit ? alo + s->window : limit;
            if (map_window(s, file, lo, hi, err) != 0)
                return -1;
        }
        uint64_t fit = (s->map_hi * 8 - bitpos) / s->bits;
        uint64_t n = fit < count ? fit : count;
        if (n == 0) /* cannot happen with a window of two pages; never loop forever */
            return af_fail(err, AF_E_INTERNAL, "%s: mapping window too small at byte %llu",
                           s->d->path, (unsigned long long)lo);
        decode(s, bitpos, n, o);
        bitpos += n * s->bits;
        count -= n;
        lo = bitpos / 8;
    }
    return 0;
}

static int check_row_header(mm_state *s, uint64_t byte, uint64_t row, af_error *err) {
    int32_t dim;
    memcpy(&dim, s->map + (byte - s->map_lo), sizeof dim);
    if ((uint64_t)(int64_t)dim != s->d->total_cols)
        return af_fail(err, AF_E_INPUT,
                       "%s: row %llu declares dimension %d, but the first row has %llu: the rows "
                       "of a vectors file must all have the same dimension",
                       s->d->path, (unsigned long long)row + 1, (int)dim,
                       (unsigned long long)s->d->total_cols);
    return 0;
}

static int read_row_major(mm_state *s, uint64_t r0, uint64_t r1, run_out *o, af_error *err) {
    const af_matrix_desc *d = s->d;
    uint64_t hdr = d->row_header_bytes;
    uint64_t row_bits = hdr * 8 + d->total_cols * s->bits; /* checked by required_bytes */
    uint64_t base = d->byte_offset * 8;
    uint64_t last_row = d->row_offset + r1 - 1;
    uint64_t limit =
        (base + last_row * row_bits + hdr * 8 + (d->col_offset + d->cols) * s->bits + 7) / 8;
    for (uint64_t r = r0; r < r1; r++) {
        uint64_t sr = d->row_offset + r;
        uint64_t row_start = base + sr * row_bits;
        uint64_t bitpos = row_start + hdr * 8 + d->col_offset * s->bits;
        uint64_t first = hdr ? row_start / 8 : bitpos / 8;
        if (hdr) {
            /* make sure the header is mapped, then check it */
            if (!s->map || s->map_file != -1 || first < s->map_lo || first + hdr > s->map_hi) {
                uint64_t alo = first - first % s->page;
                uint64_t hi = alo + s->window < limit ? alo + s->window : limit;
                if (map_window(s, -1, first, hi, err) != 0)
                    return -1;
            }
            if (check_row_header(s, first, sr, err) != 0)
                return -1;
        }
        o->index = (r - r0) * d->cols;
        o->stride = 1;
        if (read_run(s, -1, first, bitpos, d->cols, limit, o, err) != 0)
            return -1;
    }
    return 0;
}

/* Columns [c0, c0 + nc) of rows [r0, r1) (r1 - r0 <= TILE_ROWS), decoded into the tile, one
 * contiguous run per column: column j at tile + j * TILE_ROWS, as o's element type. */
static int decode_tile(mm_state *s, uint64_t r0, uint64_t r1, uint64_t c0, uint64_t nc,
                       int as_double, af_error *err) {
    const af_matrix_desc *d = s->d;
    uint64_t base = d->byte_offset * 8;
    /* the last byte this read needs from the file: the end of the last column's rows */
    uint64_t last_col_cell = d->separated ? 0 : (d->col_offset + d->cols - 1) * d->total_rows;
    uint64_t limit = (base + (last_col_cell + d->row_offset + r1) * s->bits + 7) / 8;
    for (uint64_t j = 0; j < nc; j++) {
        uint64_t sc = d->col_offset + c0 + j;
        int64_t file = d->separated ? (int64_t)sc : -1;
        uint64_t first_cell = d->separated ? 0 : sc * d->total_rows;
        uint64_t bitpos = base + (first_cell + d->row_offset + r0) * s->bits;
        run_out t = {s->tile, as_double, j * TILE_ROWS, 1};
        if (read_run(s, file, bitpos / 8, bitpos, r1 - r0, limit, &t, err) != 0)
            return -1;
    }
    return 0;
}

/* The tile's nc columns of n rows into the rows of dst (cols per row), from column c0. */
static void transpose_tile(const mm_state *s, uint64_t n, uint64_t c0, uint64_t nc, run_out *o,
                           uint64_t row0) {
    uint64_t cols = s->d->cols;
    if (o->as_double) {
        const double *t = s->tile;
        double *dst = (double *)o->dst + row0 * cols + c0;
        for (uint64_t i = 0; i < n; i++)
            for (uint64_t j = 0; j < nc; j++)
                dst[i * cols + j] = t[j * TILE_ROWS + i];
    } else {
        const float *t = (const float *)s->tile;
        float *dst = (float *)o->dst + row0 * cols + c0;
        for (uint64_t i = 0; i < n; i++)
            for (uint64_t j = 0; j < nc; j++)
                dst[i * cols + j] = t[j * TILE_ROWS + i];
    }
}

static int read_column_major(mm_state *s, uint64_t r0, uint64_t r1, run_out *o, af_error *err) {
    if (!s->tile && !(s->tile = malloc((size_t)TILE_COLS * TILE_ROWS * sizeof(double))))
        return af_fail(err, AF_E_INTERNAL, "%s: out of memory", s->d->path);
    uint64_t cols = s->d->cols;
    for (uint64_t a = r0; a < r1; a += TILE_ROWS) {
        uint64_t b = r1 - a < TILE_ROWS ? r1 : a + TILE_ROWS;
        for (uint64_t c0 = 0; c0 < cols; c0 += TILE_COLS) {
            uint64_t nc = cols - c0 < TILE_COLS ? cols - c0 : TILE_COLS;
            if (decode_tile(s, a, b, c0, nc, o->as_double, err) != 0)
                return -1;
            /* A tile's runs are strided through the file, and each fault maps the pages around
             * it too: unmapped per tile, the read holds about a tile of the file, not the whole
             * stretch of columns (which each rank would hold whatever its share of the rows). */
            unmap(s);
            transpose_tile(s, b - a, c0, nc, o, a - r0);
        }
    }
    return 0;
}

static int read_rows(void *state, uint64_t r0, uint64_t r1, void *dst, int as_double,
                     af_error *err) {
    mm_state *s = state;
    run_out o = {dst, as_double, 0, 1};
    int rc = s->d->order == AF_ORDER_ROW && !s->d->separated
                 ? read_row_major(s, r0, r1, &o, err)
                 : read_column_major(s, r0, r1, &o, err);
    unmap(s); /* hold no mapping between reads: memory stays bounded by one window */
    return rc;
}

static int mm_read_f64(void *state, uint64_t r0, uint64_t r1, double *dst, af_error *err) {
    return read_rows(state, r0, r1, dst, 1, err);
}

static int mm_read_f32(void *state, uint64_t r0, uint64_t r1, float *dst, af_error *err) {
    return read_rows(state, r0, r1, dst, 0, err);
}

const af_matrix_backend af_matrix_backend_mmap = {
    .name = "mmap",
    .describe = NULL,
    .open = mm_open,
    .read_f64 = mm_read_f64,
    .read_f32 = mm_read_f32,
    .close = mm_close,
};
