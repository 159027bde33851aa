#include "mpi_util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

af_world af_world_get(void) {
    af_world w;
    MPI_Comm_rank(MPI_COMM_WORLD, &w.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &w.size);
    return w;
}

int af_mpi_agree(int local_failed, af_error *err) {
    return af_mpi_agree_comm(MPI_COMM_WORLD, local_failed, err);
}

int af_mpi_agree_comm(MPI_Comm comm, int local_failed, af_error *err) {
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    int mine = local_failed ? rank : size, first = size;
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm);
    if (first == size)
        return 0;
    /* Everyone takes the first failing rank's message and code. */
    af_error shared;
    memset(&shared, 0, sizeof shared);
    if (rank == first)
        shared = *err;
    MPI_Bcast(&shared, (int)sizeof shared, MPI_BYTE, first, comm);
    *err = shared;
    if (first != 0 && rank == 0 && !strstr(err->msg, "(rank ")) {
        size_t used = strlen(err->msg);
        snprintf(err->msg + used, sizeof err->msg - used, " (rank %d)", first);
    }
    return -1;
}

void af_bcast_bytes(void *buf, size_t len) {
    /* MPI counts are int: send large buffers in pieces. */
    const size_t chunk = (size_t)1 << 30;
    for (size_t off = 0; off < len; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        MPI_Bcast((char *)buf + off, (int)n, MPI_BYTE, 0, MPI_COMM_WORLD);
    }
}

void *af_bcast_blob(const void *data, size_t len, size_t *out_len, af_error *err) {
    af_world w = af_world_get();
    uint64_t n = w.rank == 0 ? (uint64_t)len : 0;
    MPI_Bcast(&n, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    void *copy = malloc(n ? n : 1);
    int failed = copy == NULL;
    if (failed)
        af_fail(err, AF_E_INTERNAL, "out of memory receiving %llu bytes", (unsigned long long)n);
    if (af_mpi_agree(failed, err) != 0) {
        free(copy);
        return NULL;
    }
    if (w.rank == 0)
        memcpy(copy, data, n);
    af_bcast_bytes(copy, n);
    if (out_len)
        *out_len = n;
    return copy;
}

int af_fail_mpi(af_error *err, int mpi_code, const char *what) {
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(mpi_code, text, &len);
    return af_fail(err, AF_E_MPI, "%s: %s", what, text);
}

int af_write_at_all(MPI_File fh, MPI_Offset offset, const void *buf, size_t len, const char *what,
                    af_error *err) {
    const size_t piece = (size_t)1 << 30;
    uint64_t mine = (len + piece - 1) / piece, rounds = 0;
    MPI_Allreduce(&mine, &rounds, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
    int failed = 0;
    for (uint64_t r = 0; r < rounds; r++) {
        size_t start = (size_t)r * piece;
        size_t n = start < len ? (len - start < piece ? len - start : piece) : 0;
        MPI_Status status;
        int rc =
            MPI_File_write_at_all(fh, offset + (MPI_Offset)start,
                                  n ? (const char *)buf + start : NULL, (int)n, MPI_BYTE, &status);
        int written = 0;
        if (rc == MPI_SUCCESS)
            MPI_Get_count(&status, MPI_BYTE, &written);
        if (rc == MPI_SUCCESS && (size_t)written != n && !failed) {
            failed = 1;
            af_fail(err, AF_E_OUTPUT, "%s: wrote %d of %zu bytes (is the disk full?)", what,
                    written, n);
        } else if (rc != MPI_SUCCESS && !failed) {
            failed = 1;
            af_fail_mpi(err, rc, what);
            err->code = AF_E_OUTPUT;
        }
    }
    return failed ? -1 : 0;
}
