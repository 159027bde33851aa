/* The generic part of the output-store layer: choosing a backend from the destination path,
 * encoding values, and agreeing on failure after every collective step. See output_store.h. */
#include "output_store.h"

#include "file_util.h"
#include "matrix_backend.h"
#include "mpi_util.h"
#include "output_store_backend.h"

#include <stdlib.h>
#include <string.h>

static const af_store_backend *const backends[AF_STORE_COUNT] = {
    [AF_STORE_MPIIO] = &af_store_backend_mpiio,
#if AF_HAVE_HDF5
    [AF_STORE_HDF5] = &af_store_backend_hdf5,
#else
    [AF_STORE_HDF5] = NULL,
#endif
};

struct af_store {
    const af_store_backend *backend;
    MPI_Comm comm;
    void *state;
    af_store_plan plan;
    unsigned char *encoded; /* one batch of this process's rows in the element type */
    size_t encoded_cap;
};

int af_store_have_hdf5(void) {
    return backends[AF_STORE_HDF5] != NULL;
}

int af_store_kind_of(const char *path, af_error *err) {
    const char *colon = af_hdf5_path_split(path);
    if (colon) {
        if (!af_store_have_hdf5())
            return af_fail(err, AF_E_OUTPUT,
                           "%s: this annforest build has no HDF5 support (it was built without "
                           "parallel HDF5); write a .desc or .afm output instead",
                           path);
        return AF_STORE_HDF5;
    }
    if (af_output_format_of(path))
        return AF_STORE_MPIIO;
    return af_fail(err, AF_E_OUTPUT,
                   "%s: an output matrix is NAME.desc (bigmemory), NAME.afm (annforest native "
                   "descriptor) or FILE.h5:/dataset (HDF5)",
                   path);
}

int af_store_prepare(const af_store_spec *spec, const af_store_plan *earlier, int n_earlier,
                     af_store_plan *plan, af_error *err) {
    memset(plan, 0, sizeof *plan);
    plan->shares_with = -1;
    int kind = af_store_kind_of(spec->out.path, err);
    if (kind < 0)
        return -1;
    plan->kind = kind;
    /* The directories above the destination file (for HDF5: above FILE.h5). */
    char file[AF_MATRIX_PATH_MAX];
    const char *colon = af_hdf5_path_split(spec->out.path);
    size_t n = colon ? (size_t)(colon - spec->out.path) : strlen(spec->out.path);
    if (n >= sizeof file)
        return af_fail(err, AF_E_OUTPUT, "output path too long: %.80s...", spec->out.path);
    memcpy(file, spec->out.path, n);
    file[n] = '\0';
    if (af_make_parent_dirs(file, err) != 0)
        return -1;
    return backends[kind]->prepare(spec, earlier, n_earlier, plan, err);
}

int af_store_open(const af_store_plan *plans, int i, MPI_Comm comm, af_store **out, af_error *err) {
    *out = NULL;
    af_store *s = calloc(1, sizeof *s);
    int failed = s == NULL;
    if (failed)
        af_fail(err, AF_E_INTERNAL, "out of memory opening %s", af_store_name(&plans[i]));
    if (af_mpi_agree_comm(comm, failed, err) != 0) {
        free(s);
        return -1;
    }
    s->plan = plans[i];
    s->comm = comm;
    s->backend = backends[s->plan.kind];
    failed = s->backend->open(plans, i, comm, &s->state, err) != 0;
    if (af_mpi_agree_comm(comm, failed, err) != 0) {
        if (!failed) {
            af_error ignored = {0};
            s->backend->close(s->state, &ignored);
        }
        free(s);
        return -1;
    }
    *out = s;
    return 0;
}

static int encode_rows(af_store *s, uint64_t row0, uint64_t nrows, const double *values,
                       af_error *err) {
    const af_output_plan *p = &s->plan.file;
    uint64_t cells = nrows * p->cols;
    size_t need = (size_t)(cells * p->elem_bytes) + 1;
    if (need > s->encoded_cap) {
        unsigned char *b = realloc(s->encoded, need);
        if (!b)
            return af_fail(err, AF_E_INTERNAL, "out of memory writing %s", p->desc_path);
        s->encoded = b;
        s->encoded_cap = need;
    }
    uint64_t bad = 0;
    if (cells > 0 && af_output_encode(p, values, cells, s->encoded, &bad, err) != 0) {
        af_error_prefix(err, "%s, row %llu, column %llu", p->desc_path,
                        (unsigned long long)(row0 + bad / p->cols + 1),
                        (unsigned long long)(bad % p->cols + 1));
        return -1;
    }
    return 0;
}

int af_store_write_rows(af_store *s, uint64_t row0, uint64_t nrows, const double *values,
                        af_error *err) {
    int failed = encode_rows(s, row0, nrows, values, err) != 0;
    if (af_mpi_agree_comm(s->comm, failed, err) != 0)
        return -1;
    failed = s->backend->write_rows(s->state, row0, nrows, s->encoded, err) != 0;
    return af_mpi_agree_comm(s->comm, failed, err);
}

int af_store_sync(af_store *s, af_error *err) {
    int failed = s->backend->sync(s->state, err) != 0;
    return af_mpi_agree_comm(s->comm, failed, err);
}

int af_store_close(af_store *s, af_error *err) {
    if (!s)
        return 0;
    int failed = s->backend->close(s->state, err) != 0;
    int rc = af_mpi_agree_comm(s->comm, failed, err);
    free(s->encoded);
    free(s);
    return rc;
}

int af_store_publish(af_store_plan *plan, af_error *err) {
    if (plan->kind < 0 || plan->kind >= AF_STORE_COUNT || !backends[plan->kind])
        return af_fail(err, AF_E_INTERNAL, "%s: no output store of kind %d", af_store_name(plan),
                       (int)plan->kind);
    return backends[plan->kind]->publish(plan, err);
}

void af_store_discard(af_store_plan *plan) {
    if (plan && plan->kind >= 0 && plan->kind < AF_STORE_COUNT && backends[plan->kind])
        backends[plan->kind]->discard(plan);
}

static const char *lock_path(const af_store_plan *plan) {
    if (plan->kind < 0 || plan->kind >= AF_STORE_COUNT || !backends[plan->kind])
        return NULL;
    return backends[plan->kind]->lock_path(plan);
}

int af_store_reclaim(af_store_plan *plan, af_error *err) {
    plan->file.lock_fd1 = 0;
    const char *path = lock_path(plan);
    if (!path)
        return 0;
    int fd = af_lock_beside(path, err);
    if (fd < 0)
        return -1;
    plan->file.lock_fd1 = fd + 1;
    return 0;
}

void af_store_unlock(af_store_plan *plan) {
    const char *path = lock_path(plan);
    if (path && plan->file.lock_fd1 > 0)
        af_unlock_beside(path, plan->file.lock_fd1 - 1);
    plan->file.lock_fd1 = 0;
}
