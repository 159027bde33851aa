/* io_bench: the bandwidth of annforest's collective output writes, as a query writes them.
 *
 *   mpirun -np P io_bench OUT ROWS COLS BATCH
 *
 * OUT is a destination as a job names it (NAME.desc: bigmemory, column-major; NAME.afm: native,
 * row-major by default). Each batch of BATCH rows is split over the ranks in blocks and written
 * with one collective af_store_write_rows, as the query pipeline does; the file is then synced,
 * closed and published. Prints "RESULT tool=annforest ... seconds=S mb_per_s=B" for the bytes
 * of the matrix (ROWS x COLS doubles), timed from creating the file to publishing it. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#include "af_partition.h"
#include "mpi_util.h"
#include "output_store.h"

static void die(const af_error *err) {
    fprintf(stderr, "io_bench: %s\n", err->msg);
    MPI_Abort(MPI_COMM_WORLD, 1);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    if (argc != 5) {
        fprintf(stderr, "usage: io_bench OUT ROWS COLS BATCH\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    af_world w = af_world_get();
    uint64_t rows = strtoull(argv[2], NULL, 10), cols = strtoull(argv[3], NULL, 10);
    uint64_t batch = strtoull(argv[4], NULL, 10);
    af_error err = {0};
    af_store_spec spec = {
        {argv[1], AF_T_DOUBLE, AF_ORDER_COLUMN, rows, cols, AF_EXISTING_OVERWRITE}, NULL};
    if (af_output_format_of(argv[1]) == AF_FMT_NATIVE)
        spec.out.order = AF_ORDER_ROW;
    af_store_plan plan;
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime(); /* from creating the file (blocks reserved) to published */
    int failed = w.rank == 0 && af_store_prepare(&spec, NULL, 0, &plan, &err) != 0;
    if (af_mpi_agree(failed, &err) != 0)
        die(&err);
    af_bcast_bytes(&plan, sizeof plan);
    double *values = malloc(sizeof(double) * (size_t)(batch * cols));
    if (!values)
        MPI_Abort(MPI_COMM_WORLD, 3);
    af_store *s;
    if (af_store_open(&plan, 0, MPI_COMM_WORLD, &s, &err) != 0)
        die(&err);
    for (uint64_t b0 = 0; b0 < rows; b0 += batch) {
        uint64_t nb = rows - b0 < batch ? rows - b0 : batch;
        uint64_t lo = (uint64_t)af_block_start((int64_t)nb, w.size, w.rank);
        uint64_t n = (uint64_t)af_block_size((int64_t)nb, w.size, w.rank);
        for (uint64_t i = 0; i < n * cols; i++)
            values[i] = (double)((b0 + lo) * cols + i);
        if (af_store_write_rows(s, b0 + lo, n, values, &err) != 0)
            die(&err);
    }
    if (af_store_close(s, &err) != 0)
        die(&err);
    failed = w.rank == 0 && af_store_publish(&plan, &err) != 0;
    if (af_mpi_agree(failed, &err) != 0)
        die(&err);
    double secs = MPI_Wtime() - t0;
    if (w.rank == 0) {
        double mb = (double)rows * (double)cols * 8.0 / 1e6;
        printf("RESULT tool=annforest out=%s ranks=%d rows=%llu cols=%llu batch=%llu seconds=%.3f "
               "mb_per_s=%.1f\n",
               argv[1], w.size, (unsigned long long)rows, (unsigned long long)cols,
               (unsigned long long)batch, secs, mb / secs);
    }
    free(values);
    MPI_Finalize();
    return 0;
}
