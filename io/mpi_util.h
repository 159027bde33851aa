/* Small MPI helpers shared by the distributed commands.
 *
 * The rule that keeps ranks from hanging: every rank passes through the same sequence of
 * agreement points. A rank that failed locally skips the work but still arrives at the next
 * af_mpi_agree(); there every rank learns that the job failed and takes the failing rank's
 * message, so all of them clean up and exit with the same status and rank 0 prints one message.
 * (A rank that dies outright is handled by mpirun, which ends the others.) */
#ifndef AF_MPI_UTIL_H
#define AF_MPI_UTIL_H

#include "af_error.h"

#include <mpi.h>
#include <stddef.h>

typedef struct af_world {
    int rank, size;
} af_world;

af_world af_world_get(void);

/* Collective. `local_failed` says whether this rank failed (its message is in *err). Returns 0
 * when no rank failed; otherwise -1 on every rank, with *err holding the message of the lowest
 * failing rank. */
int af_mpi_agree(int local_failed, af_error *err);

/* The same over any communicator (ranks named are ranks of comm). */
int af_mpi_agree_comm(MPI_Comm comm, int local_failed, af_error *err);

/* Collective: rank 0's `len` bytes at buf to every rank. */
void af_bcast_bytes(void *buf, size_t len);

/* Collective: a malloc'd copy of rank 0's buffer on every rank (length broadcast first).
 * On rank 0, `data` and `len` are the input; elsewhere they are ignored. Returns NULL only if
 * memory ran out (on any rank: then every rank gets NULL and the error). */
void *af_bcast_blob(const void *data, size_t len, size_t *out_len, af_error *err);

/* Turn an MPI error code into a message. Returns -1. */
int af_fail_mpi(af_error *err, int mpi_code, const char *what);

/* Collective over MPI_COMM_WORLD: each rank writes `len` bytes (possibly 0) at `offset` of fh
 * with MPI_File_write_at_all, in pieces of at most 1 GiB so that int counts never overflow;
 * ranks with less to write join the later rounds with nothing. Local result only: follow it
 * with af_mpi_agree(). */
int af_write_at_all(MPI_File fh, MPI_Offset offset, const void *buf, size_t len, const char *what,
                    af_error *err);

#endif
