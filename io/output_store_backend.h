/* The table of functions behind af_store (see output_store.h): one per backend, chosen by
 * af_store_plan.kind. To add a backend, define a const af_store_backend in its own
 * io/output_store_NAME.c and put its address in the table in io/output_store.c.
 *
 * The generic layer does what is the same for every backend: encoding values into the element
 * type (with the cell named on failure), and agreeing on failure after each collective step. So
 * a backend's collective functions report only their own process's result, and must never
 * leave a process behind in a collective call when another failed before it. */
#ifndef AF_OUTPUT_STORE_BACKEND_H
#define AF_OUTPUT_STORE_BACKEND_H

#include "output_store.h"

typedef struct af_store_backend {
    const char *name;
    /* One process. Fill plan (kind, shares_with and file.format are set by the caller's
     * dispatch; the backend fills the rest) and create the temporary file. */
    int (*prepare)(const af_store_spec *spec, const af_store_plan *earlier, int n_earlier,
                   af_store_plan *plan, af_error *err);
    /* Collective over comm; succeeds or fails on every process alike (it agrees inside when a
     * step can fail on some processes only). */
    int (*open)(const af_store_plan *plans, int i, MPI_Comm comm, void **state, af_error *err);
    /* Collective: nrows rows, row-major, already encoded in the plan's element type. */
    int (*write_rows)(void *state, uint64_t row0, uint64_t nrows, const void *encoded,
                      af_error *err);
    int (*sync)(void *state, af_error *err);
    /* Collective: flush, close, free the state (also after a failure). */
    int (*close)(void *state, af_error *err);
    /* One process. */
    int (*publish)(af_store_plan *plan, af_error *err);
    void (*discard)(af_store_plan *plan);
    /* The path whose lock (af_lock_beside) a prepared plan holds, or NULL when it holds none. */
    const char *(*lock_path)(const af_store_plan *plan);
} af_store_backend;

extern const af_store_backend af_store_backend_mpiio;
#if AF_HAVE_HDF5
extern const af_store_backend af_store_backend_hdf5;
#endif

#endif
