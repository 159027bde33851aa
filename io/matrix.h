/* The matrix layer: one interface over every file-backed input form (bigmemory descriptors,
 * annforest's native descriptors, .fvecs/.bvecs/.ivecs, later HDF5).
 *
 * Two steps, so that only one rank ever parses a descriptor:
 *   1. af_matrix_describe() turns a user's path into an af_matrix_desc: a plain, fixed-size
 *      description (no pointers) that af_matrix_desc_pack()/unpack() turn into bytes for
 *      MPI_Bcast. Other ranks open what rank 0 described.
 *   2. af_matrix_open() hands the description to its backend (see matrix_backend.h); reads then
 *      go through the same calls whatever the backend. Callers never name a backend.
 *
 * Reads are by row slices [r0, r1) of the (view of the) matrix and come back row-major. NA cells
 * (R's NA codes per element type, see docs/formats.md) become NaN, and a per-row flag says
 * whether the row held any NA. */
#ifndef AF_MATRIX_H
#define AF_MATRIX_H

#include "af_error.h"
#include "elem_type.h"

#include <limits.h>
#include <mpi.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Where the description came from (what `info` calls the format). */
typedef enum af_matrix_format {
    AF_FMT_BIGMEMORY = 1, /* R bigmemory dput descriptor + .bin */
    AF_FMT_NATIVE = 2,    /* annforest native descriptor (.afm) */
    AF_FMT_FVECS = 3,
    AF_FMT_BVECS = 4,
    AF_FMT_IVECS = 5,
    AF_FMT_HDF5 = 6 /* FILE.h5:/dataset */
} af_matrix_format;

/* Which backend function table reads it (index into the table in matrix_backend.c). */
typedef enum af_backend_id {
    AF_BACKEND_MMAP = 0, /* raw files, mapped window by window */
    AF_BACKEND_HDF5 = 1, /* HDF5 datasets (io/matrix_hdf5.c) */
    AF_BACKEND_COUNT = 2
} af_backend_id;

typedef enum af_order { AF_ORDER_COLUMN = 0, AF_ORDER_ROW = 1 } af_order;

#define AF_MATRIX_PATH_MAX 4096

typedef struct af_matrix_desc {
    int32_t format;      /* af_matrix_format */
    int32_t backend;     /* af_backend_id */
    int32_t type;        /* af_elem_type */
    int32_t order;       /* af_order of the stored matrix */
    int32_t separated;   /* bigmemory separated = TRUE: one file per column, DATA_column_J */
    int32_t na_mode;     /* af_na_mode */
    double na_value;     /* the NA code when na_mode == AF_NA_VALUE */
    uint64_t rows, cols; /* the view the reader sees */
    uint64_t total_rows, total_cols; /* the stored matrix */
    uint64_t row_offset, col_offset; /* origin of the view in the stored matrix */
    uint64_t byte_offset;            /* where the stored element (0, 0) region starts */
    uint64_t row_header_bytes;     /* bytes before each stored row (4 for *vecs), row-major only */
    char path[AF_MATRIX_PATH_MAX]; /* what the user named (descriptor or data file) */
    char data_path[AF_MATRIX_PATH_MAX]; /* backing file; separated: prefix of the column files */
    char dataset[AF_MATRIX_PATH_MAX];   /* HDF5 dataset path inside data_path */
} af_matrix_desc;

/* Recognise the form of PATH and describe it: a bigmemory descriptor (R dput text), an annforest
 * native descriptor, FILE.fvecs/.bvecs/.ivecs, or FILE.h5:/dataset. Checks the description for
 * consistency and size overflow, but does not check the backing files (af_matrix_open does). */
int af_matrix_describe(const char *path, af_matrix_desc *out, af_error *err);

/* A byte image of a description for MPI_Bcast; unpack checks the image and fails cleanly on
 * a mismatch (e.g. ranks running different builds). */
#define AF_MATRIX_DESC_PACKED_SIZE (16 + sizeof(af_matrix_desc))
void af_matrix_desc_pack(const af_matrix_desc *d, unsigned char buf[AF_MATRIX_DESC_PACKED_SIZE]);
int af_matrix_desc_unpack(const unsigned char *buf, size_t len, af_matrix_desc *out, af_error *err);

/* Human-readable name of the format, e.g. "bigmemory descriptor". */
const char *af_matrix_format_name(int format);

/* Path of one backing file: column `col` (stored numbering) when separated, else the file. */
int af_matrix_data_file(const af_matrix_desc *d, uint64_t col, char *out, size_t cap,
                        af_error *err);

/* Bytes the backing file must hold (for separated: each column file). Fails on overflow. */
int af_matrix_required_bytes(const af_matrix_desc *d, uint64_t *bytes, af_error *err);

/* Print what `annforest info` shows (shape, type, layout, NA, view, backing files and sizes). */
void af_matrix_print_summary(const af_matrix_desc *d, FILE *out);

typedef struct af_matrix af_matrix;

/* Open a described matrix: checks every backing file exists, is a regular file and is large
 * enough for the description before any byte is mapped. */
int af_matrix_open(const af_matrix_desc *d, af_matrix **out, af_error *err);
uint64_t af_matrix_rows(const af_matrix *m);
uint64_t af_matrix_cols(const af_matrix *m);
const af_matrix_desc *af_matrix_description(const af_matrix *m);
void af_matrix_close(af_matrix *m);

/* Largest mapping made at once, in bytes (default 64 MiB; at least one page). Applies to
 * matrices opened afterwards. */
void af_matrix_set_window_bytes(uint64_t bytes);
uint64_t af_matrix_window_bytes(void);

/* Rows [r0, r1) as row-major float: dst holds (r1 - r0) * cols floats. NA cells become NaN;
 * row_na (may be NULL) gets 1 for each row that holds any NA, else 0. */
int af_matrix_read_f32(af_matrix *m, uint64_t r0, uint64_t r1, float *dst, uint8_t *row_na,
                       af_error *err);

/* The same as double, exactly: every element type converts to double without loss. NA cells
 * are NaN: R's NA_real_ for integer-like NA codes, and a double source's own NaN bits kept. So
 * isnan(dst[i]) is the per-cell NA flag. */
int af_matrix_read_f64(af_matrix *m, uint64_t r0, uint64_t r1, double *dst, uint8_t *row_na,
                       af_error *err);

/* Rows [r0, r1) as bits for the hamming metric: each row's cols values (nonzero = 1) packed
 * least-significant bit first into af_bits_words(cols) uint64 words, rows one after another.
 * An NA cell packs as 0 and flags its row. */
static inline uint64_t af_bits_words(uint64_t cols) {
    return (cols + 63) / 64;
}
int af_matrix_read_bits(af_matrix *m, uint64_t r0, uint64_t r1, uint64_t *dst, uint8_t *row_na,
                        af_error *err);

/* ---- collective reads --------------------------------------------------------------------
 * For reads that every rank of a communicator makes together (the reference read of a build,
 * each query batch, convert's blocks), so that a backend that can (HDF5) makes them one
 * collective transfer. Rules: every rank of comm calls each of these, the same number of times
 * and in the same order, each with its own rows, which may be none (r0 == r1). Each returns the
 * agreed result: 0 on every rank, or -1 on every rank with the message of the lowest failing
 * rank, so no rank is ever left waiting in a collective call another rank skipped.
 * Backends without collective transfers (the mapped files) read independently. */

/* Collective over comm: open d on every rank of comm (comm must outlive the matrix). Close it
 * with af_matrix_close on every rank too (closing an HDF5 file opened on comm is collective). */
int af_matrix_open_all(const af_matrix_desc *d, MPI_Comm comm, af_matrix **out, af_error *err);

/* The communicator the matrix was opened on (MPI_COMM_SELF after af_matrix_open). */
MPI_Comm af_matrix_comm(const af_matrix *m);

/* Collective: af_matrix_read_f32 / _f64 / _bits of this rank's rows [r0, r1). */
int af_matrix_read_f32_all(af_matrix *m, uint64_t r0, uint64_t r1, float *dst, uint8_t *row_na,
                           af_error *err);
int af_matrix_read_f64_all(af_matrix *m, uint64_t r0, uint64_t r1, double *dst, uint8_t *row_na,
                           af_error *err);
int af_matrix_read_bits_all(af_matrix *m, uint64_t r0, uint64_t r1, uint64_t *dst, uint8_t *row_na,
                            af_error *err);

#endif
