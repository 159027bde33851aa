#include "index_writer.h"
#include "file_util.h"
#include "mpi_util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int refuse_existing(const char *path, int overwrite, af_error *err) {
    struct stat st;
    if (lstat(path, &st) != 0)
        return 0;
    if (S_ISDIR(st.st_mode))
        return af_fail(err, AF_E_OUTPUT, "index path %s is a directory", path);
    if (!overwrite)
        return af_fail(err, AF_E_OUTPUT,
                       "index %s already exists (remove it, or build with --set "
                       "output.existing=overwrite)",
                       path);
    return 0;
}

int af_index_writer_open(af_index_writer *w, const char *final_path, size_t node_size,
                         int overwrite, af_error *err) {
    memset(w, 0, sizeof *w);
    w->lock_fd = -1;
    w->sync_fd = -1;
    w->node_size = node_size;
    snprintf(w->final_path, sizeof w->final_path, "%s", final_path);
    af_world world = af_world_get();
    int failed = 0;
    if (world.rank == 0) {
        failed = af_make_parent_dirs(final_path, err) != 0 ||
                 (w->lock_fd = af_lock_beside(final_path, err)) < 0 ||
                 refuse_existing(final_path, overwrite, err) != 0;
        /* A killed build's partial index (nothing resumes a build): holding the lock, it is
         * certainly no live job's. */
        if (!failed)
            af_remove_stale_temps(final_path);
        if (!failed) {
            int fd = af_create_temp_beside(final_path, w->tmp_path, sizeof w->tmp_path, err);
            failed = fd < 0;
            if (fd >= 0)
                close(fd);
        }
    }
    if (af_mpi_agree(failed, err) != 0) {
        af_index_writer_discard(w);
        return -1;
    }
    af_bcast_bytes(w->tmp_path, sizeof w->tmp_path);
    int rc = MPI_File_open(MPI_COMM_WORLD, w->tmp_path, MPI_MODE_WRONLY, MPI_INFO_NULL, &w->fh);
    failed = rc != MPI_SUCCESS;
    if (failed)
        af_fail_mpi(err, rc, w->tmp_path);
    w->open = !failed;
    if (af_mpi_agree(failed, err) != 0) {
        af_index_writer_discard(w);
        return -1;
    }
    return 0;
}

int af_index_writer_put(af_index_writer *w, int64_t first_node, const void *nodes, int64_t count,
                        af_error *err) {
    char what[PATH_MAX + 32];
    snprintf(what, sizeof what, "writing index %s", w->final_path);
    int failed = af_write_at_all(w->fh, (MPI_Offset)first_node * (MPI_Offset)w->node_size, nodes,
                                 (size_t)count * w->node_size, what, err) != 0;
    return af_mpi_agree(failed, err);
}

int af_index_writer_reserve(af_index_writer *w, int64_t n_nodes, af_error *err) {
    int failed = 0;
    if (af_world_get().rank == 0) {
        uint64_t bytes;
        int fd = open(w->tmp_path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
            failed = af_fail_errno(err, AF_E_OUTPUT, errno, "cannot open %s", w->tmp_path) != 0;
        else if (n_nodes < 0 || __builtin_mul_overflow((uint64_t)n_nodes, w->node_size, &bytes))
            failed = af_fail(err, AF_E_INTERNAL, "index of %lld nodes: size overflows",
                             (long long)n_nodes) != 0;
        else
            failed = af_reserve_file(fd, bytes, w->tmp_path, err) != 0;
        if (failed)
            af_error_prefix(err, "index %s", w->final_path);
        if (fd >= 0)
            close(fd);
    }
    return af_mpi_agree(failed, err);
}

/* This rank's own descriptor of the temporary file (MPI-IO keeps its own to itself). */
static int own_fd(af_index_writer *w) {
    if (w->sync_fd < 0 && w->tmp_path[0])
        w->sync_fd = open(w->tmp_path, O_WRONLY | O_CLOEXEC);
    return w->sync_fd;
}

void af_index_writer_start_writeback(af_index_writer *w, int64_t first_node, int64_t count) {
#ifdef SYNC_FILE_RANGE_WRITE
    int fd = own_fd(w);
    if (fd >= 0 && count > 0) /* errors show again, and are reported, at the flush */
        (void)sync_file_range(fd, (off_t)first_node * (off_t)w->node_size,
                              (off_t)count * (off_t)w->node_size, SYNC_FILE_RANGE_WRITE);
#else
    (void)w, (void)first_node, (void)count;
#endif
}

int af_index_writer_close(af_index_writer *w, af_error *err) {
    int rc = MPI_File_close(&w->fh);
    w->open = 0;
    int failed = rc != MPI_SUCCESS;
    if (failed)
        af_fail_mpi(err, rc, w->final_path);
    if (af_mpi_agree(failed, err) != 0) {
        af_index_writer_discard(w);
        return -1;
    }
    return 0;
}

static void *flush_file(void *arg) {
    af_index_writer *w = arg;
    int rc;
    do
        rc = fdatasync(w->sync_fd);
    while (rc != 0 && errno == EINTR);
    w->sync_errno = rc == 0 ? 0 : errno;
    return NULL;
}

void af_index_writer_sync_begin(af_index_writer *w) {
    w->sync_errno = own_fd(w) < 0 ? errno : 0;
    if (w->sync_errno == 0) {
        w->syncing = pthread_create(&w->thread, NULL, flush_file, w) == 0;
        if (!w->syncing)
            flush_file(w); /* no thread: flush here */
    }
}

static void join_flush(af_index_writer *w) {
    if (w->syncing)
        pthread_join(w->thread, NULL);
    w->syncing = 0;
}

int af_index_writer_sync_end(af_index_writer *w, af_error *err) {
    join_flush(w);
    int failed = w->sync_errno != 0;
    if (failed)
        af_fail_errno(err, AF_E_OUTPUT, w->sync_errno, "cannot write index %s", w->final_path);
    if (af_mpi_agree(failed, err) != 0) {
        af_index_writer_discard(w);
        return -1;
    }
    return 0;
}

int af_index_writer_publish(af_index_writer *w, af_error *err) {
    int failed =
        af_world_get().rank == 0 && af_publish_rename(w->tmp_path, w->final_path, err) != 0;
    if (af_mpi_agree(failed, err) != 0) {
        af_index_writer_discard(w);
        return -1;
    }
    w->tmp_path[0] = '\0';
    return 0;
}

void af_index_writer_discard(af_index_writer *w) {
    join_flush(w);
    if (w->sync_fd >= 0)
        close(w->sync_fd);
    w->sync_fd = -1;
    if (w->open)
        MPI_File_close(&w->fh);
    w->open = 0;
    if (af_world_get().rank == 0 && w->tmp_path[0])
        unlink(w->tmp_path);
    w->tmp_path[0] = '\0';
    af_unlock_beside(w->final_path, w->lock_fd);
    w->lock_fd = -1;
}
