/* Writing file-backed matrices: a bigmemory descriptor + column-major .bin (R attaches it with
 * attach.big.matrix), or an annforest native descriptor + data file (row- or column-major).
 *
 * Publication is atomic. af_output_prepare() checks the `existing` policy and creates the data
 * as a temporary file (O_EXCL, beside the final one, already at full size). Writers - possibly
 * every rank of an MPI job, through MPI-IO or af_output_write_rows_f64() - fill that temporary
 * file; the plan is plain data, so rank 0 can prepare it and broadcast it (af_output_plan is
 * a fixed-size struct without pointers). af_output_publish() (one process) syncs it, renames
 * it into place and writes the descriptor last, itself through a temporary file and rename.
 * af_output_discard() removes the temporary file instead. Until publish, the destination is
 * untouched; a failure never leaves a file that looks complete.
 *
 * existing = into writes into a destination that already exists with the right shape and a
 * compatible type: the data goes to a temporary copy of its backing file that replaces it on
 * publish, so a failure never leaves it half-written. Its descriptor is not rewritten. */
#ifndef AF_MATRIX_OUT_H
#define AF_MATRIX_OUT_H

#include "af_error.h"
#include "elem_type.h"
#include "matrix.h"

#include <stdint.h>

typedef enum af_existing {
    AF_EXISTING_ERROR = 0,     /* the destination must not exist */
    AF_EXISTING_OVERWRITE = 1, /* replace it */
    AF_EXISTING_INTO = 2       /* write into it (same shape, compatible type) */
} af_existing;

/* Parse "error" | "overwrite" | "into"; -1 when none. */
int af_existing_from_name(const char *name);

/* Output form from the descriptor path: ".desc" bigmemory, ".afm" native; 0 when neither. */
int af_output_format_of(const char *path);

typedef struct af_output_spec {
    const char *path; /* the descriptor: NAME.desc (bigmemory) or NAME.afm (native) */
    int type;         /* af_elem_type of the values written (AF_T_INTEGER ids, AF_T_DOUBLE ...) */
    int order;        /* af_order; bigmemory is always column-major */
    uint64_t rows, cols;
    int existing; /* af_existing */
} af_output_spec;

typedef struct af_output_plan {
    int32_t format;   /* AF_FMT_BIGMEMORY or AF_FMT_NATIVE */
    int32_t type;     /* af_elem_type stored in the file (for into: the destination's type) */
    int32_t order;    /* af_order */
    int32_t into;     /* 1: writing into an existing matrix */
    int32_t existing; /* the policy it was prepared under */
    int32_t lock_fd1; /* rank 0: 1 + fd of the output lock it holds (0: none), see file_util.h */
    uint64_t rows, cols;
    uint64_t elem_bytes;                    /* 1, 2, 4 or 8 */
    uint64_t byte_offset;                   /* of element (0, 0) in the data file */
    uint64_t file_bytes;                    /* size of the data file */
    char desc_path[AF_MATRIX_PATH_MAX];     /* final descriptor */
    char data_path[AF_MATRIX_PATH_MAX];     /* final data (backing) file */
    char tmp_data_path[AF_MATRIX_PATH_MAX]; /* where writers write until publish */
    char dirname[AF_MATRIX_PATH_MAX];       /* absolute directory, for bigmemory's dirname */
} af_output_plan;

/* Byte offset of element (row, col) in the data file (0-based). */
static inline uint64_t af_output_cell_offset(const af_output_plan *p, uint64_t row, uint64_t col) {
    return p->byte_offset +
           (p->order == AF_ORDER_ROW ? row * p->cols + col : col * p->rows + row) * p->elem_bytes;
}

/* Types that may receive values of type `want` with existing = into: integer ids into integer
 * or double matrices, double distances into double or single ones, otherwise the same type. */
int af_output_type_compatible(int want, int have);

/* Lock the destination against other jobs (released by publish or discard), check the policy
 * against what exists and create the temporary data file at full size. */
int af_output_prepare(const af_output_spec *spec, af_output_plan *plan, af_error *err);

/* fsync the data, rename it into place, then write the descriptor (new outputs); release the
 * lock. */
int af_output_publish(af_output_plan *plan, af_error *err);

/* Remove the temporary data file and release the lock (safe to call after a failed prepare or
 * publish, and twice; only in the process that prepared). */
void af_output_discard(af_output_plan *plan);

/* The descriptor text a plan publishes (malloc'd): bigmemory's dput form exactly as
 * bigmemory writes it, or the native DCF form. */
char *af_output_descriptor_text(const af_output_plan *plan, af_error *err);

/* Open the temporary data file for writing (any rank, any process). Returns an fd. */
int af_output_open_data(const af_output_plan *plan, af_error *err);

/* Encode n values (NaN = NA) into the plan's element type at dst (n * elem_bytes bytes), with
 * R's NA codes (bigmemory float NA: FLT_MIN, which R reads back as NA). A value that does not
 * fit - out of range, not a whole number for an integer type, NA for a type without NA - is an
 * error; *bad gets its index and err a reason that the caller prefixes with the cell. */
int af_output_encode(const af_output_plan *plan, const double *src, uint64_t n, void *dst,
                     uint64_t *bad, af_error *err);

/* Write rows [r0, r0 + n) given row-major as doubles (NaN = NA) to the data file open at fd,
 * with pwrite. An unfit value is an error naming its row and column (1-based, as in R). */
int af_output_write_rows_f64(const af_output_plan *plan, int fd, uint64_t r0, uint64_t n,
                             const double *rows, af_error *err);

#endif
