/* Writing one index file from all ranks through MPI-IO.
 *
 * The file is created under a temporary name beside its destination (rank 0, exclusively),
 * every rank writes node ranges at their final positions with collective writes, and only when
 * the whole file is durable does rank 0 rename it into place. Nothing under the final name is
 * ever partial. The functions are collective over MPI_COMM_WORLD and agree on failure, but for
 * the two marked "not collective" (starting writeback, starting the flush), which never fail. */
#ifndef AF_INDEX_WRITER_H
#define AF_INDEX_WRITER_H

#include "af_error.h"

#include <limits.h>
#include <mpi.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

typedef struct af_index_writer {
    MPI_File fh;
    int open;
    int sync_fd;      /* this rank's own descriptor for writeback and the flush, or -1 */
    int syncing;      /* a flush thread runs */
    int sync_errno;   /* its result */
    pthread_t thread; /* the flush */
    size_t node_size;
    char tmp_path[PATH_MAX];
    char final_path[PATH_MAX];
    int lock_fd; /* rank 0: the lock on final_path (file_util.h af_lock_beside), else -1 */
} af_index_writer;

/* Refuses when another job is writing final_path (its lock), or when final_path exists and
 * overwrite is 0. Rank 0 holds the lock until af_index_writer_discard. */
int af_index_writer_open(af_index_writer *w, const char *final_path, size_t node_size,
                         int overwrite, af_error *err);

/* Collective: reserve the blocks of a file of n_nodes nodes (rank 0, fallocate), so that a
 * full disk fails here, naming the file, before any node is written. */
int af_index_writer_reserve(af_index_writer *w, int64_t n_nodes, af_error *err);

/* Collective: this rank's `count` nodes (possibly 0) go to node ids [first_node, +count). */
int af_index_writer_put(af_index_writer *w, int64_t first_node, const void *nodes, int64_t count,
                        af_error *err);

/* Not collective, advisory: start writing back to disk the nodes [first_node, +count) that
 * this rank has put, without waiting (Linux sync_file_range), so that the disk works while the
 * job goes on (item nodes are written before the trees are built); the final flush then has
 * little left to wait for. */
void af_index_writer_start_writeback(af_index_writer *w, int64_t first_node, int64_t count);

/* Collective: close; the whole file is then under w->tmp_path, not yet durable. */
int af_index_writer_close(af_index_writer *w, af_error *err);

/* Not collective: flush the closed file to disk in a background thread (fdatasync of this
 * rank's own descriptor: the pages cached on its node, as MPI_File_sync would), so that the
 * checksums, which only read, run meanwhile. */
void af_index_writer_sync_begin(af_index_writer *w);

/* Collective: wait for the flush; the file is then durable. */
int af_index_writer_sync_end(af_index_writer *w, af_error *err);

/* Collective: rename the closed file into place. */
int af_index_writer_publish(af_index_writer *w, af_error *err);

/* Collective: close and remove the temporary file (after a failure), release the lock (also
 * after a publish, once the sidecar is written). */
void af_index_writer_discard(af_index_writer *w);

#endif
