#include "file_digest.h"
#include "af_partition.h"
#include "checksum.h"
#include "mpi_util.h"

#include <errno.h>
#include <fcntl.h>
#include <mpi.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* One chunk: which file, where, how long. */
typedef struct chunk_ref {
    int file;
    uint64_t offset, len;
} chunk_ref;

/* Rank 0 sizes the files (one view of them for all ranks), everybody learns the sizes. */
static int file_sizes(const af_digest_request *req, uint64_t *sizes, af_error *err) {
    int failed = 0;
    if (af_world_get().rank == 0)
        for (int f = 0; f < req->n_paths && !failed; f++) {
            struct stat st;
            if (stat(req->paths[f], &st) != 0)
                failed = af_fail_errno(err, AF_E_INPUT, errno, "cannot stat %s", req->paths[f]);
            else if (!S_ISREG(st.st_mode))
                failed = af_fail(err, AF_E_INPUT, "%s is not a regular file", req->paths[f]);
            else
                sizes[f] = (uint64_t)st.st_size;
        }
    if (af_mpi_agree(failed != 0, err) != 0)
        return -1;
    MPI_Bcast(sizes, req->n_paths, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    return 0;
}

static chunk_ref *list_chunks(const uint64_t *sizes, int n_paths, int64_t *n_chunks) {
    int64_t n = 0;
    for (int f = 0; f < n_paths; f++)
        n += (int64_t)((sizes[f] + AF_DIGEST_CHUNK_BYTES - 1) / AF_DIGEST_CHUNK_BYTES);
    chunk_ref *c = malloc((size_t)(n ? n : 1) * sizeof *c);
    if (!c)
        return NULL;
    int64_t i = 0;
    for (int f = 0; f < n_paths; f++)
        for (uint64_t off = 0; off < sizes[f]; off += AF_DIGEST_CHUNK_BYTES, i++)
            c[i] = (chunk_ref){f, off,
                               sizes[f] - off < AF_DIGEST_CHUNK_BYTES ? sizes[f] - off
                                                                      : AF_DIGEST_CHUNK_BYTES};
    *n_chunks = n;
    return c;
}

/* This rank's chunks [lo, hi), in parallel; digests[i - lo] for chunk i. */
static int hash_share(const af_digest_request *req, const chunk_ref *c, int64_t lo, int64_t hi,
                      uint64_t *digests, af_error *err) {
    int *fds = malloc((size_t)req->n_paths * sizeof *fds);
    if (!fds)
        return af_fail(err, AF_E_INTERNAL, "out of memory");
    int failed = 0;
    for (int f = 0; f < req->n_paths; f++)
        fds[f] = -1;
    for (int64_t i = lo; i < hi && !failed; i++)
        if (fds[c[i].file] < 0 &&
            (fds[c[i].file] = open(req->paths[c[i].file], O_RDONLY | O_CLOEXEC)) < 0)
            failed = af_fail_errno(err, AF_E_INPUT, errno, "cannot open %s", req->paths[c[i].file]);
    uint64_t share = 0, done = 0;
    for (int64_t i = lo; i < hi; i++)
        share += c[i].len;
    int threads = req->threads > 0 ? req->threads : omp_get_max_threads();
    int rank0 = af_world_get().rank == 0;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int64_t i = lo; i < hi; i++) {
        int stop;
#pragma omp atomic read
        stop = failed;
        if (stop)
            continue;
        af_error mine = {0};
        if (af_chunk_xxh3(fds[c[i].file], req->paths[c[i].file], c[i].offset, c[i].len,
                          &digests[i - lo], &mine) != 0) {
#pragma omp critical(af_digest_error)
            if (!failed) {
                *err = mine;
                failed = 1;
            }
            continue;
        }
        if (rank0 && req->progress) {
#pragma omp critical(af_digest_progress)
            {
                done += c[i].len;
                req->progress(req->progress_ctx, done, share);
            }
        }
    }
    for (int f = 0; f < req->n_paths; f++)
        if (fds[f] >= 0)
            close(fds[f]);
    free(fds);
    return failed ? -1 : 0;
}

int af_files_digest(const af_digest_request *req, uint64_t *total_bytes, char hex[17],
                    af_error *err) {
    af_world w = af_world_get();
    uint64_t *sizes = calloc((size_t)(req->n_paths ? req->n_paths : 1), sizeof *sizes);
    int failed = sizes == NULL;
    if (failed)
        af_fail(err, AF_E_INTERNAL, "out of memory");
    if (af_mpi_agree(failed, err) != 0 || file_sizes(req, sizes, err) != 0) {
        free(sizes);
        return -1;
    }
    int64_t n = 0;
    chunk_ref *c = list_chunks(sizes, req->n_paths, &n);
    uint64_t *all = malloc((size_t)(n ? n : 1) * sizeof *all);
    int *counts = malloc((size_t)w.size * sizeof *counts);
    int *displs = malloc((size_t)w.size * sizeof *displs);
    failed = !c || !all || !counts || !displs;
    if (failed)
        af_fail(err, AF_E_INTERNAL, "out of memory for %lld chunk digests", (long long)n);
    int64_t lo = af_block_start(n, w.size, w.rank), hi = lo + af_block_size(n, w.size, w.rank);
    if (!failed)
        failed = hash_share(req, c, lo, hi, all + lo, err) != 0;
    int rc = af_mpi_agree(failed, err);
    if (rc == 0) {
        for (int r = 0; r < w.size; r++) {
            displs[r] = (int)af_block_start(n, w.size, r);
            counts[r] = (int)af_block_size(n, w.size, r);
        }
        MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, all, counts, displs, MPI_UINT64_T,
                       MPI_COMM_WORLD);
        uint64_t total = 0;
        for (int f = 0; f < req->n_paths; f++)
            total += sizes[f];
        af_digest_combine(all, (size_t)n, total, hex);
        *total_bytes = total;
    }
    free(sizes);
    free(c);
    free(all);
    free(counts);
    free(displs);
    return rc;
}
