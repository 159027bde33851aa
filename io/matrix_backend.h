/* The table of functions behind af_matrix (the IOR "aiori" idea): one table per backend, chosen
 * by af_matrix_desc.backend, so that callers of matrix.h never name a backend.
 *
 * To add a backend (e.g. HDF5): define a const af_matrix_backend with these functions in its
 * own io/matrix_NAME.c and put its address in the table in io/matrix.c at its af_backend_id. */
#ifndef AF_MATRIX_BACKEND_H
#define AF_MATRIX_BACKEND_H

#include "matrix.h"

typedef struct af_matrix_backend {
    const char *name;
    /* Optional: describe a path of this backend's own form (e.g. FILE.h5:/dataset). */
    int (*describe)(const char *path, af_matrix_desc *out, af_error *err);
    /* Check the backing store against d and prepare to read; *state is the backend's own. */
    int (*open)(const af_matrix_desc *d, void **state, af_error *err);
    /* Rows [r0, r1) of the view, row-major, cols per row; NA cells NaN (see matrix.h). Bounds
     * are checked by the caller. */
    int (*read_f64)(void *state, uint64_t r0, uint64_t r1, double *dst, af_error *err);
    int (*read_f32)(void *state, uint64_t r0, uint64_t r1, float *dst, af_error *err);
    void (*close)(void *state);
    /* Optional, collective over comm (see "collective reads" in matrix.h): open on every rank
     * of comm, returning the agreed result. Without it, open() runs on each rank. */
    int (*open_all)(const af_matrix_desc *d, MPI_Comm comm, void **state, af_error *err);
    /* Optional, collective over the comm of open_all: every rank's rows [r0, r1) (possibly
     * none) as double (f64 != 0) or float, one collective transfer per piece; agreed result.
     * Bounds are checked (and agreed) by the caller. Without it, each rank reads alone. */
    int (*read_all)(void *state, uint64_t r0, uint64_t r1, void *dst, int f64, af_error *err);
    /* Optional: lines of its own for `annforest info` (e.g. HDF5 chunking and filters). */
    void (*print_details)(const af_matrix_desc *d, FILE *out);
} af_matrix_backend;

extern const af_matrix_backend af_matrix_backend_mmap;
#if AF_HAVE_HDF5
extern const af_matrix_backend af_matrix_backend_hdf5;
#endif

/* NULL when this build has no such backend. */
const af_matrix_backend *af_matrix_backend_get(int id);

/* Descriptor readers used by af_matrix_describe (io/matrix_describe.c). Each fills `out` from
 * the text of the file at `path`. */
int af_describe_bigmemory(const char *path, const char *text, size_t len, af_matrix_desc *out,
                          af_error *err);
int af_describe_native(const char *path, const char *text, size_t len, af_matrix_desc *out,
                       af_error *err);
int af_describe_vecs(const char *path, int format, af_matrix_desc *out, af_error *err);

/* FILE.h5:/dataset (also .hdf5, .he5, .hdf, .nc): the colon before the dataset's leading
 * slash, or NULL when path is not of that form. */
const char *af_hdf5_path_split(const char *path);

/* Join dir and name as R's file.path does; fails when too long. */
int af_path_join(char *out, size_t cap, const char *dir, const char *name, af_error *err);
/* The directory part of path ("." when none). */
void af_path_dirname(const char *path, char *out, size_t cap);

#endif
