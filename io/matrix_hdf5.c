/* The HDF5 matrix backend: FILE.h5:/dataset, a 2-D dataset of any integer or float type, in any
 * layout HDF5 reads (contiguous, chunked, compressed). Rows are the dataset's first dimension,
 * as h5py and numpy see it.
 *
 * Rank 0 describes the dataset (shape, type) with the serial driver. Reads that every rank
 * makes together (the matrix layer's *_all calls: a build's reference read, each query batch,
 * convert's blocks) open the file on their communicator with the MPI-IO driver and read each
 * rank's rows as a hyperslab in one collective H5Dread per piece; a rank with no rows (or fewer
 * pieces) takes part with an empty selection. The number of pieces is agreed first, checks that
 * can fail on one rank are agreed before each collective call, and each read's result after it,
 * so a failure on one rank never leaves another waiting. Reads made by one rank alone (`info`,
 * the ann-benchmarks truth reader) open the file over MPI_COMM_SELF and read independently.
 *
 * HDF5 1.10 gives up collective I/O whenever it must convert types during the transfer
 * (H5Pget_mpio_no_collective_cause: "datatype conversion"), and an int16 or float64 dataset read
 * as float needs conversion. So every read is made in the dataset's own type, which HDF5 moves
 * without conversion and so collectively, and is converted in memory by H5Tconvert (the same
 * conversion H5Dread would have made, so the values are identical). Contiguous and chunked
 * datasets, with or without filters, then read collectively; compact ones (a few KiB in the
 * file's metadata) HDF5 always reads independently. AF_DEBUG_HDF5=1 prints, per H5Dread, what
 * HDF5 did (see docs/hdf5.md). */
#include "matrix_backend.h"

#if AF_HAVE_HDF5
#include "hdf5_util.h"
#include "mpi_util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The largest hyperslab read at once, in bytes of the larger of the stored and the memory type
 * (HDF5 1.10's MPI-IO driver handles single requests below 2 GiB). */
enum { max_read_bytes = 256 << 20 };

typedef struct h5_state {
    hid_t file, dset, space, file_type;
    MPI_Comm comm;  /* MPI_COMM_SELF unless opened with open_all */
    int collective; /* transfers are collective over comm */
    int debug;      /* AF_DEBUG_HDF5: one line per H5Dread */
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

static void close_state(h5_state *s) {
    if (s->file_type >= 0)
        H5Tclose(s->file_type);
    close_ids(s->space, s->dset, s->file); /* collective over comm for the file */
    free(s);
}

/* Collective over comm: the file, the dataset, its shape (checked against the description, as
 * the file may have changed since rank 0 described it) and its stored type; agreed result. */
static int open_on(const af_matrix_desc *d, MPI_Comm comm, int collective, void **state,
                   af_error *err) {
    char what[2 * AF_MATRIX_PATH_MAX + 32];
    snprintf(what, sizeof what, "%s: dataset %s", d->data_path, d->dataset);
    h5_state *s = calloc(1, sizeof *s);
    int failed = !s && af_fail(err, AF_E_INTERNAL, "out of memory");
    if (af_mpi_agree_comm(comm, failed, err) != 0) {
        free(s);
        return -1;
    }
    s->d = *d;
    s->comm = comm;
    s->collective = collective;
    const char *debug = getenv("AF_DEBUG_HDF5");
    s->debug = debug && *debug && strcmp(debug, "0") != 0;
    s->space = s->dset = s->file_type = -1;
    s->file = af_h5_open_file_all(d->data_path, comm, AF_E_INPUT, err);
    if (s->file < 0) {
        free(s);
        return -1;
    }
    s->dset = af_h5_open_dataset(s->file, d->data_path, d->dataset, AF_E_INPUT, err);
    if (s->dset >= 0)
        s->dset = reopen_with_chunk_cache(s->file, d->dataset, s->dset);
    hsize_t dims[2] = {0, 0};
    int rc = s->dset < 0 ? -1 : dataset_shape(s->dset, what, &s->space, dims, err);
    if (rc == 0 && (dims[0] != d->rows || dims[1] != d->cols))
        rc = af_fail(err, AF_E_INPUT,
                     "%s changed while being opened: it is %llu x %llu, but was described as "
                     "%llu x %llu",
                     what, (unsigned long long)dims[0], (unsigned long long)dims[1],
                     (unsigned long long)d->rows, (unsigned long long)d->cols);
    if (rc == 0 && (s->file_type = H5Dget_type(s->dset)) < 0)
        rc = af_h5_fail(err, AF_E_INPUT, "%s: cannot read its type", what);
    if (af_mpi_agree_comm(comm, rc != 0, err) != 0) {
        close_state(s);
        return -1;
    }
    *state = s;
    return 0;
}

static int h5_open(const af_matrix_desc *d, void **state, af_error *err) {
    return open_on(d, MPI_COMM_SELF, 0, state, err);
}

static int h5_open_all(const af_matrix_desc *d, MPI_Comm comm, void **state, af_error *err) {
    return open_on(d, comm, 1, state, err);
}

/* What HDF5 did in the transfer dxpl made, for AF_DEBUG_HDF5. */
static void describe_io(hid_t dxpl, char *out, size_t cap) {
    H5D_mpio_actual_io_mode_t mode = H5D_MPIO_NO_COLLECTIVE;
    uint32_t local = 0, global = 0;
    H5Pget_mpio_actual_io_mode(dxpl, &mode);
    switch (mode) {
    case H5D_MPIO_CONTIGUOUS_COLLECTIVE:
        snprintf(out, cap, "collective-contiguous");
        return;
    case H5D_MPIO_CHUNK_COLLECTIVE:
        snprintf(out, cap, "collective-chunked");
        return;
    case H5D_MPIO_CHUNK_MIXED:
        snprintf(out, cap, "mixed-chunked");
        return;
    case H5D_MPIO_CHUNK_INDEPENDENT:
        snprintf(out, cap, "independent-chunked");
        return;
    default:
        break;
    }
    static const struct {
        uint32_t bit;
        const char *name;
    } causes[] = {
        {H5D_MPIO_SET_INDEPENDENT, "set-independent"},
        {H5D_MPIO_DATATYPE_CONVERSION, "datatype-conversion"},
        {H5D_MPIO_DATA_TRANSFORMS, "data-transforms"},
        {H5D_MPIO_MPI_OPT_TYPES_ENV_VAR_DISABLED, "mpi-opt-types-disabled"},
        {H5D_MPIO_NOT_SIMPLE_OR_SCALAR_DATASPACES, "not-simple-dataspaces"},
        {H5D_MPIO_NOT_CONTIGUOUS_OR_CHUNKED_DATASET, "not-contiguous-or-chunked"},
        {H5D_MPIO_PARALLEL_FILTERED_WRITES_DISABLED, "filtered-writes-disabled"},
        {H5D_MPIO_ERROR_WHILE_CHECKING_COLLECTIVE_POSSIBLE, "error-checking"},
    };
    H5Pget_mpio_no_collective_cause(dxpl, &local, &global);
    size_t used = (size_t)snprintf(out, cap, "independent cause=");
    int any = 0;
    for (size_t i = 0; i < sizeof causes / sizeof *causes && used < cap; i++)
        if ((local | global) & causes[i].bit)
            used +=
                (size_t)snprintf(out + used, cap - used, "%s%s", any++ ? "," : "", causes[i].name);
    if (!any && used < cap)
        snprintf(out + used, cap - used, "none");
}

static void debug_line(const h5_state *s, hid_t dxpl, uint64_t a, uint64_t b, int converted) {
    char mode[256];
    int rank = 0, up = 0;
    MPI_Initialized(&up);
    if (up)
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    describe_io(dxpl, mode, sizeof mode);
    fprintf(stderr, "annforest: hdf5 read %s:%s rank %d rows [%llu,%llu) mode=%s%s\n",
            s->d.data_path, s->d.dataset, rank, (unsigned long long)a, (unsigned long long)b, mode,
            converted ? " converted-in-memory" : "");
}

/* One H5Dread of rows [a, b) (none: an empty selection, taking part in a collective transfer)
 * in the stored type into buf; then, when the stored type is not mem_type, converted in place
 * (buf holds the rows in the larger of the two types). Local result. */
static int read_piece(h5_state *s, hid_t dxpl, uint64_t a, uint64_t b, void *buf, hid_t mem_type,
                      int convert, af_error *err) {
    hsize_t start[2] = {a, 0}, count[2] = {b - a, s->d.cols}, one[2] = {1, s->d.cols};
    hid_t mem = H5Screate_simple(2, b > a ? count : one, NULL);
    herr_t e = b > a ? H5Sselect_hyperslab(s->space, H5S_SELECT_SET, start, NULL, count, NULL)
                     : H5Sselect_none(s->space);
    if (e >= 0 && b == a)
        e = H5Sselect_none(mem);
    if (e >= 0)
        e = H5Dread(s->dset, convert ? s->file_type : mem_type, mem, s->space, dxpl, buf);
    int rc = 0;
    if (e < 0) /* the message first: any other HDF5 call clears the error stack */
        rc = af_h5_fail(err, AF_E_INPUT, "%s: dataset %s: cannot read rows %llu..%llu",
                        s->d.data_path, s->d.dataset, (unsigned long long)a + 1,
                        (unsigned long long)b);
    else if (convert && b > a &&
             H5Tconvert(s->file_type, mem_type, (size_t)((b - a) * s->d.cols), buf, NULL,
                        H5P_DEFAULT) < 0)
        rc = af_h5_fail(err, AF_E_INPUT, "%s: dataset %s: cannot convert rows %llu..%llu",
                        s->d.data_path, s->d.dataset, (unsigned long long)a + 1,
                        (unsigned long long)b);
    if (s->debug && e >= 0)
        debug_line(s, dxpl, a, b, convert && b > a);
    H5Sclose(mem);
    return rc;
}

/* Rows [r0, r1) as mem_type, in pieces of at most max_read_bytes. Collective (every rank of
 * comm, in as many pieces as the rank with most, agreed result) when the state is; else local.
 * Reads in the stored type (see the top of this file): straight into dst when the memory type
 * is at least as wide, else through a buffer. */
static int read_rows(h5_state *s, uint64_t r0, uint64_t r1, void *dst, hid_t mem_type, size_t msize,
                     af_error *err) {
    uint64_t cols = s->d.cols;
    int convert = H5Tequal(s->file_type, mem_type) <= 0;
    size_t fsize = H5Tget_size(s->file_type), elem = fsize > msize ? fsize : msize;
    uint64_t step = max_read_bytes / (cols * elem);
    if (step == 0)
        step = 1;
    uint64_t pieces = (r1 - r0 + step - 1) / step;
    if (s->collective)
        MPI_Allreduce(MPI_IN_PLACE, &pieces, 1, MPI_UINT64_T, MPI_MAX, s->comm);
    void *tmp = NULL;
    char none[8]; /* the buffer of an empty selection: never written */
    int failed = 0;
    if (convert && fsize > msize && r1 > r0) {
        tmp = malloc((r1 - r0 < step ? r1 - r0 : step) * cols * fsize);
        failed = !tmp && af_fail(err, AF_E_INTERNAL, "out of memory reading %s:%s", s->d.data_path,
                                 s->d.dataset);
    }
    int rc = s->collective ? af_mpi_agree_comm(s->comm, failed, err) : -failed;
    hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
    H5Pset_dxpl_mpio(dxpl, s->collective ? H5FD_MPIO_COLLECTIVE : H5FD_MPIO_INDEPENDENT);
    for (uint64_t p = 0; p < pieces && rc == 0; p++) {
        uint64_t a = r0 + p * step < r1 ? r0 + p * step : r1;
        uint64_t b = a + step < r1 ? a + step : r1;
        char *out = (char *)dst + (a - r0) * cols * msize;
        void *buf = tmp ? tmp : out;
        failed = read_piece(s, dxpl, a, b, b > a ? buf : none, mem_type, convert, err) != 0;
        if (!failed && tmp && b > a)
            memcpy(out, tmp, (b - a) * cols * msize);
        rc = s->collective ? af_mpi_agree_comm(s->comm, failed, err) : -failed;
    }
    H5Pclose(dxpl);
    free(tmp);
    return rc;
}

static int h5_read_f64(void *state, uint64_t r0, uint64_t r1, double *dst, af_error *err) {
    return read_rows(state, r0, r1, dst, H5T_NATIVE_DOUBLE, sizeof *dst, err);
}

static int h5_read_f32(void *state, uint64_t r0, uint64_t r1, float *dst, af_error *err) {
    return read_rows(state, r0, r1, dst, H5T_NATIVE_FLOAT, sizeof *dst, err);
}

static int h5_read_all(void *state, uint64_t r0, uint64_t r1, void *dst, int f64, af_error *err) {
    return f64 ? h5_read_f64(state, r0, r1, dst, err) : h5_read_f32(state, r0, r1, dst, err);
}

static void h5_close(void *state) {
    if (state)
        close_state(state);
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
    .open_all = h5_open_all,
    .read_all = h5_read_all,
    .print_details = h5_print_details,
};
#endif
