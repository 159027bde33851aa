/* The HDF5 matrix backend: FILE.h5:/dataset, a 2-D dataset of any integer or float type, in any
 * layout HDF5 reads (contiguous, chunked, compressed). Rows are the dataset's first dimension,
 * as h5py and numpy see it.
 *
 * Rank 0 describes the dataset (shape, type) with the serial driver; every rank then opens the
 * file with the MPI-IO driver and reads only the rows asked of it, as a hyperslab of the
 * dataset, converted by HDF5 to float or double as it is read.
 *
 * Transfers are independent, and each rank opens the file over MPI_COMM_SELF. Why: the read
 * calls of the matrix layer are not made by all ranks in lockstep (a rank with no rows in a
 * batch skips its read; ranks build different numbers of shards; convert and info read on rank
 * 0 alone), and a collective open or transfer that one rank never reaches hangs the job. Each
 * rank's requests are whole row blocks, contiguous in a contiguous dataset, so independent
 * reads are large and sequential anyway. */
#include "matrix_backend.h"

#if AF_HAVE_HDF5
#include "hdf5_util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The largest hyperslab read at once, in bytes of the memory type (HDF5 1.10's MPI-IO driver
 * handles single requests below 2 GiB). */
enum { max_read_bytes = 256 << 20 };

typedef struct h5_state {
    hid_t file, dset, space;
    af_matrix_desc d;
} h5_state;

static void close_ids(hid_t space, hid_t dset, hid_t file) {
    if (space >= 0)
        H5Sclose(space);
    if (dset >= 0)
        H5Dclose(dset);
    if (file >= 0)
        H5Fclose(file);
}

/* The shape of an open dataset, which must be 2-D. */
static int dataset_shape(hid_t dset, const char *what, hid_t *space_out, hsize_t dims[2],
                         af_error *err) {
    hid_t space = H5Dget_space(dset);
    if (space < 0)
        return af_h5_fail(err, AF_E_INPUT, "%s: cannot read its shape", what);
    int rank = H5Sget_simple_extent_ndims(space);
    hsize_t all[H5S_MAX_RANK];
    if (rank >= 0)
        H5Sget_simple_extent_dims(space, all, NULL);
    if (rank != 2) {
        char shape[256] = "";
        size_t used = 0;
        for (int i = 0; i < rank && used < sizeof shape - 24; i++)
            used += (size_t)snprintf(shape + used, sizeof shape - used, "%s%llu", i ? " x " : "",
                                     (unsigned long long)all[i]);
        H5Sclose(space);
        if (rank == 0)
            return af_fail(err, AF_E_INPUT,
                           "%s is a scalar; annforest needs a 2-D dataset (rows x columns)", what);
        return af_fail(err, AF_E_INPUT,
                       "%s is %d-D (shape %s); annforest needs a 2-D dataset (rows x columns)%s",
                       what, rank, shape,
                       rank == 1 ? ": reshape it, e.g. in h5py as data.reshape(-1, 1)" : "");
    }
    dims[0] = all[0];
    dims[1] = all[1];
    *space_out = space;
    return 0;
}

static int h5_describe(const char *path, af_matrix_desc *out, af_error *err) {
    memset(out, 0, sizeof *out);
    char what[2 * AF_MATRIX_PATH_MAX + 32];
    if (af_h5_split(path, out->data_path, sizeof out->data_path, out->dataset, sizeof out->dataset,
                    err) != 0)
        return -1;
    snprintf(out->path, sizeof out->path, "%s", path);
    snprintf(what, sizeof what, "%s: dataset %s", out->data_path, out->dataset);
    hid_t file = af_h5_open_file(out->data_path, 0, MPI_COMM_NULL, AF_E_INPUT, err);
    if (file < 0)
        return -1;
    hid_t dset = af_h5_open_dataset(file, out->data_path, out->dataset, AF_E_INPUT, err);
    hid_t space = -1;
    hsize_t dims[2];
    int rc = dset < 0 ? -1 : dataset_shape(dset, what, &space, dims, err);
    if (rc == 0) {
        hid_t type = H5Dget_type(dset);
        char desc[128];
        int t = 0;
        rc = af_h5_elem_type(type, &t, desc, sizeof desc, what, err);
        H5Tclose(type);
        out->type = t;
    }
    close_ids(space, dset, file);
    if (rc != 0)
        return -1;
    out->format = AF_FMT_HDF5;
    out->backend = AF_BACKEND_HDF5;
    out->order = AF_ORDER_ROW;
    out->na_mode = AF_NA_NONE; /* HDF5 has no NA convention; NaN in a float dataset still is */
    out->rows = out->total_rows = dims[0];
    out->cols = out->total_cols = dims[1];
    return 0;
}

/* Reopen the dataset with a chunk cache as large as the mapping window of the file-backed
 * matrices (default 64 MiB; HDF5's default is 1 MiB): consecutive row blocks of a chunked,
 * compressed dataset then decompress each chunk once rather than once per block. Fully read
 * chunks go first (w0 = 1). */
static hid_t reopen_with_chunk_cache(hid_t file, const char *dataset, hid_t opened) {
    hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
    H5Pset_chunk_cache(dapl, 12421, (size_t)af_matrix_window_bytes(), 1.0);
    hid_t d = H5Dopen2(file, dataset, dapl);
    H5Pclose(dapl);
    if (d < 0) {
        H5Eclear2(H5E_DEFAULT);
        return opened; /* the default cache still reads */
    }
    H5Oclose(opened);
    return d;
}

static int h5_open(const af_matrix_desc *d, void **state, af_error *err) {
    char what[2 * AF_MATRIX_PATH_MAX + 32];
    snprintf(what, sizeof what, "%s: dataset %s", d->data_path, d->dataset);
    h5_state *s = calloc(1, sizeof *s);
    if (!s)
        return af_fail(err, AF_E_INTERNAL, "out of memory");
    s->d = *d;
    s->space = s->dset = -1;
    s->file = af_h5_open_file(d->data_path, 0, MPI_COMM_SELF, AF_E_INPUT, err);
    if (s->file >= 0)
        s->dset = af_h5_open_dataset(s->file, d->data_path, d->dataset, AF_E_INPUT, err);
    if (s->dset >= 0)
        s->dset = reopen_with_chunk_cache(s->file, d->dataset, s->dset);
    hsize_t dims[2] = {0, 0};
    int rc = s->dset < 0 ? -1 : dataset_shape(s->dset, what, &s->space, dims, err);
    /* The file may have changed since rank 0 described it. */
    if (rc == 0 && (dims[0] != d->rows || dims[1] != d->cols))
        rc = af_fail(err, AF_E_INPUT,
                     "%s changed while being opened: it is %llu x %llu, but was described as "
                     "%llu x %llu",
                     what, (unsigned long long)dims[0], (unsigned long long)dims[1],
                     (unsigned long long)d->rows, (unsigned long long)d->cols);
    if (rc != 0) {
        close_ids(s->space, s->dset, s->file);
        free(s);
        return -1;
    }
    *state = s;
    return 0;
}

static int read_rows(h5_state *s, uint64_t r0, uint64_t r1, void *dst, hid_t mem_type, size_t elem,
                     af_error *err) {
    uint64_t cols = s->d.cols;
    uint64_t step = max_read_bytes / (cols * elem);
    if (step == 0)
        step = 1;
    hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
    H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_INDEPENDENT); /* see the top of this file */
    int rc = 0;
    for (uint64_t a = r0; a < r1 && rc == 0; a += step) {
        uint64_t n = r1 - a < step ? r1 - a : step;
        hsize_t start[2] = {a, 0}, count[2] = {n, cols};
        hid_t mem = H5Screate_simple(2, count, NULL);
        herr_t e = H5Sselect_hyperslab(s->space, H5S_SELECT_SET, start, NULL, count, NULL);
        if (e >= 0)
            e = H5Dread(s->dset, mem_type, mem, s->space, dxpl,
                        (char *)dst + (a - r0) * cols * elem);
        if (e < 0) /* the message first: any other HDF5 call clears the error stack */
            rc = af_h5_fail(err, AF_E_INPUT, "%s: dataset %s: cannot read rows %llu..%llu",
                            s->d.data_path, s->d.dataset, (unsigned long long)a + 1,
                            (unsigned long long)(a + n));
        H5Sclose(mem);
    }
    H5Pclose(dxpl);
    return rc;
}

static int h5_read_f64(void *state, uint64_t r0, uint64_t r1, double *dst, af_error *err) {
    return read_rows(state, r0, r1, dst, H5T_NATIVE_DOUBLE, sizeof *dst, err);
}

static int h5_read_f32(void *state, uint64_t r0, uint64_t r1, float *dst, af_error *err) {
    return read_rows(state, r0, r1, dst, H5T_NATIVE_FLOAT, sizeof *dst, err);
}

static void h5_close(void *state) {
    h5_state *s = state;
    if (s) {
        close_ids(s->space, s->dset, s->file);
        free(s);
    }
}

static void print_layout(hid_t dset, FILE *out) {
    hid_t dcpl = H5Dget_create_plist(dset);
    H5D_layout_t layout = H5Pget_layout(dcpl);
    if (layout == H5D_CHUNKED) {
        hsize_t chunk[2] = {0, 0};
        H5Pget_chunk(dcpl, 2, chunk);
        fprintf(out, "storage:  chunked, %llu x %llu per chunk", (unsigned long long)chunk[0],
                (unsigned long long)chunk[1]);
        int nf = H5Pget_nfilters(dcpl);
        for (int i = 0; i < nf; i++) {
            char name[64] = "";
            unsigned flags = 0, conf = 0;
            size_t nelem = 0;
            H5Z_filter_t f =
                H5Pget_filter2(dcpl, (unsigned)i, &flags, &nelem, NULL, sizeof name, name, &conf);
            fprintf(out, "%s%s", i ? ", " : "; filters: ",
                    f == H5Z_FILTER_DEFLATE ? "gzip"
                    : name[0]               ? name
                                            : "unknown");
        }
        fputc('\n', out);
    } else {
        fprintf(out, "storage:  %s\n", layout == H5D_COMPACT ? "compact" : "contiguous");
    }
    H5Pclose(dcpl);
    fprintf(out, "stored:   %llu bytes in the file\n",
            (unsigned long long)H5Dget_storage_size(dset));
}

static void h5_print_details(const af_matrix_desc *d, FILE *out) {
    af_error err = {0};
    hid_t file = af_h5_open_file(d->data_path, 0, MPI_COMM_NULL, AF_E_INPUT, &err);
    hid_t dset = file < 0 ? -1 : af_h5_open_dataset(file, d->data_path, d->dataset, 0, &err);
    if (dset >= 0) {
        hid_t type = H5Dget_type(dset);
        char desc[128] = "";
        int t;
        if (af_h5_elem_type(type, &t, desc, sizeof desc, d->path, &err) == 0)
            fprintf(out, "h5 type:  %s\n", desc);
        H5Tclose(type);
        print_layout(dset, out);
    }
    close_ids(-1, dset, file);
}

const af_matrix_backend af_matrix_backend_hdf5 = {
    .name = "hdf5",
    .describe = h5_describe,
    .open = h5_open,
    .read_f64 = h5_read_f64,
    .read_f32 = h5_read_f32,
    .close = h5_close,
    .print_details = h5_print_details,
};
#endif
