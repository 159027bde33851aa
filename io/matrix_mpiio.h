/* Collective writes of row blocks into one file-backed matrix through MPI-IO.
 *
 * Each rank hands over its own rows (row-major in memory, any count including none); the file
 * may be row-major or column-major (R's layout). Column-major rows of a block are k strided
 * pieces of the file: a file view of one MPI vector type turns them into a single collective
 * write per block, so the I/O layer can aggregate across ranks. */
#ifndef AF_MATRIX_MPIIO_H
#define AF_MATRIX_MPIIO_H

#include "af_error.h"

#include <limits.h>
#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

typedef struct af_mpi_matrix {
    MPI_File fh;
    MPI_Comm comm; /* the writers (MPI_COMM_WORLD for a job) */
    int open;
    uint64_t rows, cols;
    int column_major;
    size_t elem_bytes; /* elements are opaque, already encoded in the file's type */
    MPI_Offset base;   /* byte offset of element (0, 0) */
    char path[PATH_MAX];
} af_mpi_matrix;

/* Collective over comm: open an existing file (sized by whoever prepared it) for writing. */
int af_mpi_matrix_open(af_mpi_matrix *m, MPI_Comm comm, const char *path, uint64_t rows,
                       uint64_t cols, int column_major, size_t elem_bytes, uint64_t base_offset,
                       af_error *err);

/* Collective: write this rank's rows [row0, row0 + nrows) from a row-major buffer of
 * nrows * cols elements. Agrees on failure. */
int af_mpi_matrix_write_rows(af_mpi_matrix *m, uint64_t row0, uint64_t nrows, const void *rows,
                             af_error *err);

/* Collective: everything written so far reaches the file system. Agrees on failure. */
int af_mpi_matrix_sync(af_mpi_matrix *m, af_error *err);

/* Collective: sync and close. Agrees on failure. */
int af_mpi_matrix_close(af_mpi_matrix *m, af_error *err);

#endif
