#include "matrix_mpiio.h"
#include "mpi_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int af_mpi_matrix_open(af_mpi_matrix *m, MPI_Comm comm, const char *path, uint64_t rows,
                       uint64_t cols, int column_major, size_t elem_bytes, uint64_t base_offset,
                       af_error *err) {
    memset(m, 0, sizeof *m);
    m->comm = comm;
    snprintf(m->path, sizeof m->path, "%s", path);
    m->rows = rows;
    m->cols = cols;
    m->column_major = column_major;
    m->elem_bytes = elem_bytes;
    m->base = (MPI_Offset)base_offset;
    int rc = MPI_File_open(comm, path, MPI_MODE_WRONLY, MPI_INFO_NULL, &m->fh);
    int failed = rc != MPI_SUCCESS;
    if (failed) {
        af_fail_mpi(err, rc, path);
        err->code = AF_E_OUTPUT;
    }
    m->open = !failed;
    if (af_mpi_agree_comm(m->comm, failed, err) != 0) {
        if (m->open)
            MPI_File_close(&m->fh);
        m->open = 0;
        return -1;
    }
    return 0;
}

/* The rows of a block, transposed to the k-major order of a column-major file. */
static void *to_column_major(const void *rows, uint64_t nrows, uint64_t cols, size_t esize) {
    char *out = malloc(nrows * cols * esize + 1);
    if (!out)
        return NULL;
    const char *in = rows;
    for (uint64_t r = 0; r < nrows; r++)
        for (uint64_t c = 0; c < cols; c++)
            memcpy(out + (c * nrows + r) * esize, in + (r * cols + c) * esize, esize);
    return out;
}

static int write_view(af_mpi_matrix *m, uint64_t row0, uint64_t nrows, const void *data,
                      af_error *err) {
    size_t esize = m->elem_bytes;
    MPI_Datatype etype, ftype;
    MPI_Type_contiguous((int)esize, MPI_BYTE, &etype);
    MPI_Type_commit(&etype);
    MPI_Offset disp;
    if (m->column_major) {
        disp = m->base + (MPI_Offset)(row0 * esize);
        MPI_Type_create_hvector((int)m->cols, (int)nrows, (MPI_Aint)(m->rows * esize), etype,
                                &ftype);
    } else {
        disp = m->base + (MPI_Offset)(row0 * m->cols * esize);
        MPI_Type_contiguous((int)(nrows * m->cols), etype, &ftype);
    }
    MPI_Type_commit(&ftype);
    int rc = MPI_File_set_view(m->fh, disp, etype, ftype, "native", MPI_INFO_NULL);
    MPI_Status status;
    if (rc == MPI_SUCCESS)
        rc = MPI_File_write_all(m->fh, data, (int)(nrows * m->cols), etype, &status);
    int written = 0;
    if (rc == MPI_SUCCESS)
        MPI_Get_count(&status, etype, &written);
    MPI_Type_free(&ftype);
    MPI_Type_free(&etype);
    if (rc != MPI_SUCCESS) {
        af_fail_mpi(err, rc, m->path);
        err->code = AF_E_OUTPUT;
        return -1;
    }
    if ((uint64_t)written != nrows * m->cols)
        return af_fail(err, AF_E_OUTPUT, "%s: short write (is the disk full?)", m->path);
    return 0;
}

int af_mpi_matrix_write_rows(af_mpi_matrix *m, uint64_t row0, uint64_t nrows, const void *rows,
                             af_error *err) {
    int failed = 0;
    if (row0 + nrows > m->rows || nrows * m->cols > INT_MAX || m->cols > INT_MAX)
        failed = af_fail(err, AF_E_INTERNAL, "%s: rows [%llu, %llu) out of range", m->path,
                         (unsigned long long)row0, (unsigned long long)(row0 + nrows)) != 0;
    /* Every rank must reach the collective calls, even one that failed before them. */
    if (af_mpi_agree_comm(m->comm, failed, err) != 0)
        return -1;
    const void *data = rows;
    void *transposed = NULL;
    if (m->column_major && nrows > 1 && m->cols > 1) {
        transposed = to_column_major(rows, nrows, m->cols, m->elem_bytes);
        failed = transposed == NULL;
        if (failed)
            af_fail(err, AF_E_INTERNAL, "out of memory writing %s", m->path);
        data = transposed;
    }
    if (af_mpi_agree_comm(m->comm, failed, err) != 0)
        return -1;
    failed = write_view(m, row0, nrows, data, err) != 0;
    free(transposed);
    return af_mpi_agree_comm(m->comm, failed, err);
}

int af_mpi_matrix_sync(af_mpi_matrix *m, af_error *err) {
    int failed = 0;
    if (m->open) {
        int rc = MPI_File_sync(m->fh);
        failed = rc != MPI_SUCCESS;
        if (failed) {
            af_fail_mpi(err, rc, m->path);
            err->code = AF_E_OUTPUT;
        }
    }
    return af_mpi_agree_comm(m->comm, failed, err);
}

int af_mpi_matrix_close(af_mpi_matrix *m, af_error *err) {
    if (!m->open)
        return 0;
    int rc = MPI_File_sync(m->fh);
    int failed = rc != MPI_SUCCESS;
    if (failed)
        af_fail_mpi(err, rc, m->path);
    int rc2 = MPI_File_close(&m->fh);
    m->open = 0;
    if (rc2 != MPI_SUCCESS && !failed) {
        failed = 1;
        af_fail_mpi(err, rc2, m->path);
    }
    if (failed)
        err->code = AF_E_OUTPUT;
    return af_mpi_agree_comm(m->comm, failed, err);
}
