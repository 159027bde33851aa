/* The output store for descriptor forms (bigmemory .desc + .bin, native .afm + .dat): the plan
 * of matrix_out.h, its temporary data file written collectively through MPI-IO
 * (matrix_mpiio.h), published by rename with the descriptor written last. */
#include "matrix_mpiio.h"
#include "mpi_util.h"
#include "output_store_backend.h"

#include <stdlib.h>

static int mpiio_prepare(const af_store_spec *spec, const af_store_plan *earlier, int n_earlier,
                         af_store_plan *plan, af_error *err) {
    (void)earlier, (void)n_earlier;
    return af_output_prepare(&spec->out, &plan->file, err);
}

static int mpiio_open(const af_store_plan *plans, int i, MPI_Comm comm, void **state,
                      af_error *err) {
    const af_output_plan *p = &plans[i].file;
    af_mpi_matrix *m = calloc(1, sizeof *m);
    int failed = m == NULL;
    if (failed)
        af_fail(err, AF_E_INTERNAL, "out of memory opening %s", p->desc_path);
    /* Every process must reach the collective open, even one that failed to allocate. */
    if (af_mpi_agree_comm(comm, failed, err) != 0) {
        free(m);
        return -1;
    }
    if (af_mpi_matrix_open(m, comm, p->tmp_data_path, p->rows, p->cols, p->order == AF_ORDER_COLUMN,
                           p->elem_bytes, p->byte_offset, err) != 0) {
        free(m);
        return -1;
    }
    *state = m;
    return 0;
}

static int mpiio_write_rows(void *state, uint64_t row0, uint64_t nrows, const void *encoded,
                            af_error *err) {
    return af_mpi_matrix_write_rows(state, row0, nrows, encoded, err);
}

static int mpiio_sync(void *state, af_error *err) {
    return af_mpi_matrix_sync(state, err);
}

static int mpiio_close(void *state, af_error *err) {
    int rc = af_mpi_matrix_close(state, err);
    free(state);
    return rc;
}

static int mpiio_publish(af_store_plan *plan, af_error *err) {
    return af_output_publish(&plan->file, err);
}

static void mpiio_discard(af_store_plan *plan) {
    af_output_discard(&plan->file);
}

/* af_output_prepare locks the descriptor's path (io/matrix_out.c). */
static const char *mpiio_lock_path(const af_store_plan *plan) {
    return plan->file.desc_path;
}

const af_store_backend af_store_backend_mpiio = {
    .name = "MPI-IO (bigmemory / native descriptor)",
    .prepare = mpiio_prepare,
    .open = mpiio_open,
    .write_rows = mpiio_write_rows,
    .sync = mpiio_sync,
    .close = mpiio_close,
    .publish = mpiio_publish,
    .discard = mpiio_discard,
    .lock_path = mpiio_lock_path,
};
