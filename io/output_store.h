/* The output-store layer: one interface over every form an output matrix can be written in
 * (bigmemory / native descriptor + data file through MPI-IO, HDF5 datasets through parallel
 * HDF5). One table of functions per backend (the IOR "aiori" idea, see output_store_backend.h);
 * callers never name a backend, the destination path chooses it.
 *
 * The life of an output, and who calls what:
 *   af_store_prepare    one process (rank 0): check the `existing` policy, create the temporary
 *                       file beside the destination. The plan it fills is plain data (no
 *                       pointers), so rank 0 broadcasts it (af_bcast_bytes) to the writers.
 *   af_store_open       collective over the communicator given: open the temporary file.
 *   af_store_write_rows collective: each process writes its own rows [row0, row0 + n) of one
 *                       batch (any count, including none), given as doubles (NaN = NA) and
 *                       encoded into the output's element type with R's NA codes.
 *   af_store_sync       collective: make everything written so far durable (MPI_File_sync /
 *                       H5Fflush), e.g. before journalling a batch as done.
 *   af_store_close      collective: flush and close.
 *   af_store_publish    one process (rank 0), after close: rename into place (descriptor last).
 *   af_store_discard    one process (rank 0): remove the temporary file instead.
 * Until publish the destination is untouched; a failure never leaves it looking complete.
 *
 * Collective calls agree on failure (every process returns -1 with the lowest failing rank's
 * message), so a caller never needs its own agreement point around them. Several outputs may
 * share one HDF5 file (out.h5:/index and out.h5:/distance): prepare them in order, passing the
 * plans prepared so far, and open/close/publish them in any order. */
#ifndef AF_OUTPUT_STORE_H
#define AF_OUTPUT_STORE_H

#include "af_error.h"
#include "matrix_out.h"

#include <mpi.h>
#include <stdint.h>

typedef enum af_store_kind {
    AF_STORE_MPIIO = 0, /* bigmemory .desc / native .afm: data file written through MPI-IO */
    AF_STORE_HDF5 = 1,  /* FILE.h5:/dataset through parallel HDF5 */
    AF_STORE_COUNT = 2
} af_store_kind;

/* What a kNN result records about itself (HDF5 stores it as dataset attributes; the
 * descriptor forms have nowhere to put it). Strings may be NULL: then not recorded. */
typedef struct af_store_attrs {
    int k;
    int base; /* id base: 1 R-style, 0 C-style */
    const char *metric;
    const char *index_id;
    const char *what; /* "index" (neighbour ids) or "distance" */
} af_store_attrs;

typedef struct af_store_spec {
    af_output_spec out;          /* path, type, order, shape, existing policy */
    const af_store_attrs *attrs; /* may be NULL */
} af_store_spec;

typedef struct af_store_plan {
    int32_t kind;        /* af_store_kind */
    int32_t shares_with; /* HDF5: index of an earlier plan whose temporary file this one uses,
                            or -1 when it owns its file */
    af_output_plan file; /* paths, type, order, shape; for HDF5 data_path is FILE.h5 and
                            desc_path the user's FILE.h5:/dataset */
    char dataset[AF_MATRIX_PATH_MAX]; /* HDF5 dataset path inside the file */
} af_store_plan;

typedef struct af_store af_store;

/* The backend a destination path asks for, or -1 with a message saying what forms exist (or
 * that this build has no HDF5). */
int af_store_kind_of(const char *path, af_error *err);

/* Whether this build can write HDF5. */
int af_store_have_hdf5(void);

/* One process: plan the output `spec` (after `n_earlier` plans of the same job, which it may
 * share a file with), create the directories above it and its temporary file. On failure no
 * temporary file is left behind. */
int af_store_prepare(const af_store_spec *spec, const af_store_plan *earlier, int n_earlier,
                     af_store_plan *plan, af_error *err);

/* Collective over comm: open plans[i] for writing (plans is the whole broadcast array, so that
 * outputs sharing a file find each other). */
int af_store_open(const af_store_plan *plans, int i, MPI_Comm comm, af_store **out, af_error *err);

/* Collective: this process's rows [row0, row0 + nrows) as row-major doubles (nrows * cols; NaN
 * = NA). A value the element type cannot hold fails with its row and column (1-based). */
int af_store_write_rows(af_store *s, uint64_t row0, uint64_t nrows, const double *values,
                        af_error *err);

/* Collective: everything written so far reaches the file system. */
int af_store_sync(af_store *s, af_error *err);

/* Collective: flush, close and free (s may be NULL). */
int af_store_close(af_store *s, af_error *err);

/* One process, after every store of the job is closed: publish or discard one plan. A plan
 * sharing another's file does nothing here: its owner publishes or discards the file. */
int af_store_publish(af_store_plan *plan, af_error *err);
void af_store_discard(af_store_plan *plan);

/* One process, resuming a job whose process died: take the output lock the plan held over
 * (the dead process's lock went with it; its descriptor means nothing here). A plan sharing
 * another's file holds no lock. af_store_unlock gives it back without touching any file. */
int af_store_reclaim(af_store_plan *plan, af_error *err);
void af_store_unlock(af_store_plan *plan);

/* The plan's destination as the user named it (for messages). */
static inline const char *af_store_name(const af_store_plan *p) {
    return p->file.desc_path;
}

#endif
