/* The HDF5 output store: FILE.h5:/dataset, an n x k dataset (rows first, as h5py sees it),
 * written batch by batch with collective parallel HDF5 (MPI-IO file driver, collective
 * transfers).
 *
 * prepare (rank 0, serial HDF5): the temporary file beside FILE.h5 is a copy of FILE.h5 when it
 * exists (so its other datasets survive), else a new HDF5 file. The policy applies to the
 * dataset: error when it exists, overwrite replaces it, into writes into it (same shape, a type
 * that holds the values). The dataset is created there, contiguous and allocated at once (as
 * parallel writes need), with its attributes. A second output of the same job naming the same
 * file adds its dataset to the first one's temporary file.
 * open (collective): the temporary file is opened once per process with the MPI-IO driver, even
 * when two outputs share it (a process-local table of open files, because HDF5 cannot tell that
 * two MPI-IO opens are the same file), and each output opens its dataset.
 * publish (rank 0): rename the temporary file over FILE.h5 - only when every dataset in it is
 * whole, since publish comes after every store is closed. */
#include "output_store_backend.h"

#if AF_HAVE_HDF5
#include "af_version.h"
#include "file_util.h"
#include "hdf5_util.h"
#include "matrix_backend.h"
#include "mpi_util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- prepare (one process) ------------------------------------------------------------- */

/* A name for the file that is the same however the user spelled its directory. */
static void canonical(const char *file, char *out, size_t cap) {
    char dir[AF_MATRIX_PATH_MAX], abs[PATH_MAX];
    af_path_dirname(file, dir, sizeof dir);
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    if (realpath(dir, abs))
        snprintf(out, cap, "%s/%s", abs, base);
    else
        snprintf(out, cap, "%s", file);
}

static int same_file(const char *a, const char *b) {
    char ca[AF_MATRIX_PATH_MAX + PATH_MAX], cb[AF_MATRIX_PATH_MAX + PATH_MAX];
    canonical(a, ca, sizeof ca);
    canonical(b, cb, sizeof cb);
    return strcmp(ca, cb) == 0;
}

static int copy_file(const char *src, int dst_fd, const char *name, af_error *err) {
    int fd = open(src, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return af_fail_errno(err, AF_E_OUTPUT, errno, "cannot read %s", name);
    char buf[1 << 16];
    int rc = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = af_fail_errno(err, AF_E_OUTPUT, errno, "cannot read %s", name);
            break;
        }
        if (n == 0)
            break;
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(dst_fd, buf + done, (size_t)(n - done));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                rc = af_fail_errno(err, AF_E_OUTPUT, w < 0 ? errno : EIO,
                                   "cannot copy %s beside itself (is the disk full?)", name);
                break;
            }
            done += w;
        }
        if (rc != 0)
            break;
    }
    close(fd);
    return rc;
}

/* The temporary file: a copy of the destination file when it exists, else a new HDF5 file.
 * Returns it open (serial driver, read-write). */
static hid_t create_temp(af_store_plan *p, af_error *err) {
    af_output_plan *f = &p->file;
    struct stat st;
    int exists = stat(f->data_path, &st) == 0;
    if (exists && !S_ISREG(st.st_mode))
        return af_fail(err, AF_E_OUTPUT, "%s exists and is not a regular file", f->data_path);
    if (exists && H5Fis_hdf5(f->data_path) <= 0)
        return af_fail(err, AF_E_OUTPUT,
                       "%s exists and is not an HDF5 file: annforest adds datasets to an HDF5 "
                       "file, but never replaces another kind of file; remove it or choose "
                       "another name",
                       f->data_path);
    int fd = af_create_temp_beside(f->data_path, f->tmp_data_path, sizeof f->tmp_data_path, err);
    if (fd < 0) {
        f->tmp_data_path[0] = '\0';
        return -1;
    }
    int rc = exists ? copy_file(f->data_path, fd, f->data_path, err) : 0;
    if (close(fd) != 0 && rc == 0)
        rc = af_fail_errno(err, AF_E_OUTPUT, errno, "cannot write %s", f->tmp_data_path);
    hid_t fid = -1;
    if (rc == 0 && exists) {
        fid = af_h5_open_file(f->tmp_data_path, 1, MPI_COMM_NULL, AF_E_OUTPUT, err);
        if (fid < 0)
            af_error_prefix(err, "a copy of %s", f->data_path);
    } else if (rc == 0) {
        fid = H5Fcreate(f->tmp_data_path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
        if (fid < 0)
            af_h5_fail(err, AF_E_OUTPUT, "cannot create HDF5 file %s", f->tmp_data_path);
    }
    if (fid < 0) {
        unlink(f->tmp_data_path);
        f->tmp_data_path[0] = '\0';
    }
    return fid;
}

static int put_string_attr(hid_t obj, const char *name, const char *value) {
    if (H5Aexists(obj, name) > 0)
        H5Adelete(obj, name);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE); /* h5py reads variable-length strings as str */
    H5Tset_cset(t, H5T_CSET_UTF8);
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, name, t, space, H5P_DEFAULT, H5P_DEFAULT);
    herr_t e = a < 0 ? -1 : H5Awrite(a, t, &value);
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(space);
    H5Tclose(t);
    return e < 0 ? -1 : 0;
}

static int put_number_attr(hid_t obj, const char *name, hid_t type, const void *value) {
    if (H5Aexists(obj, name) > 0)
        H5Adelete(obj, name);
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    herr_t e = a < 0 ? -1 : H5Awrite(a, type, value);
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(space);
    return e < 0 ? -1 : 0;
}

/* What the result records about itself, and the value that stands for "no neighbour". */
static int put_attrs(hid_t dset, const af_store_plan *p, const af_store_attrs *a, af_error *err) {
    int rc = put_string_attr(dset, "annforest_version", AF_VERSION);
    if (a) {
        int32_t k = a->k, base = a->base;
        if (a->what)
            rc |= put_string_attr(dset, "content",
                                  strcmp(a->what, "index") == 0
                                      ? "neighbour ids, nearest first"
                                      : "distances to the neighbours, nearest first");
        rc |= put_number_attr(dset, "k", H5T_NATIVE_INT32, &k);
        rc |= put_number_attr(dset, "id_base", H5T_NATIVE_INT32, &base);
        if (a->metric)
            rc |= put_string_attr(dset, "metric", a->metric);
        if (a->index_id)
            rc |= put_string_attr(dset, "index_id", a->index_id);
    }
    /* Cells without a neighbour hold R's NA codes: INT_MIN for integers, NaN (R's NA_real_)
     * for doubles. */
    if (af_elem_is_float(p->file.type)) {
        double na = af_na_real();
        rc |= put_number_attr(dset, "na", H5T_NATIVE_DOUBLE, &na);
    } else if (af_elem_has_r_na(p->file.type)) {
        int64_t na = (int64_t)af_elem_r_na_code(p->file.type);
        rc |= put_number_attr(dset, "na", H5T_NATIVE_INT64, &na);
    }
    if (rc != 0)
        return af_h5_fail(err, AF_E_OUTPUT, "%s: cannot write the attributes of %s",
                          p->file.data_path, p->dataset);
    return 0;
}

static hid_t create_dataset(hid_t fid, const af_store_plan *p, af_error *err) {
    const af_output_plan *f = &p->file;
    hsize_t dims[2] = {f->rows, f->cols};
    hid_t space = H5Screate_simple(2, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY); /* parallel writes need the space allocated */
    H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);   /* every cell is written */
    H5Pset_obj_track_times(dcpl, 0); /* no creation/modification times: same data, same bytes */
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t d = H5Dcreate2(fid, p->dataset, af_h5_type_of(f->type), space, lcpl, dcpl, H5P_DEFAULT);
    if (d < 0)
        af_h5_fail(err, AF_E_OUTPUT, "%s: cannot create dataset %s", f->data_path, p->dataset);
    H5Pclose(lcpl);
    H5Pclose(dcpl);
    H5Sclose(space);
    return d;
}

/* existing = into: the dataset there must have the output's shape and a type that holds it. */
static int check_into(hid_t d, af_store_plan *p, int want, af_error *err) {
    af_output_plan *f = &p->file;
    char what[2 * AF_MATRIX_PATH_MAX + 32], desc[128];
    snprintf(what, sizeof what, "%s: dataset %s", f->data_path, p->dataset);
    hid_t space = H5Dget_space(d), type = H5Dget_type(d);
    int rank = H5Sget_simple_extent_ndims(space);
    hsize_t dims[H5S_MAX_RANK] = {0};
    if (rank > 0)
        H5Sget_simple_extent_dims(space, dims, NULL);
    int have = 0;
    int rc = af_h5_elem_type(type, &have, desc, sizeof desc, what, err);
    H5Sclose(space);
    H5Tclose(type);
    if (rc != 0)
        return -1;
    if (rank != 2 || dims[0] != f->rows || dims[1] != f->cols)
        return af_fail(err, AF_E_MISMATCH,
                       "%s is %d-D %llu x %llu, but the output is %llu x %llu (existing = into "
                       "needs the same shape)",
                       what, rank, (unsigned long long)dims[0],
                       (unsigned long long)(rank > 1 ? dims[1] : 0), (unsigned long long)f->rows,
                       (unsigned long long)f->cols);
    if (!af_output_type_compatible(want, have))
        return af_fail(err, AF_E_MISMATCH, "%s holds %s, which cannot receive %s values", what,
                       desc, af_elem_name(want));
    f->type = have;
    return 0;
}

/* Apply the existing policy to the dataset in the open temporary file and leave it ready. */
static int place_dataset(hid_t fid, const af_store_spec *s, af_store_plan *p, af_error *err) {
    const af_output_plan *f = &p->file;
    int there = af_h5_link_exists(fid, p->dataset);
    hid_t d = -1;
    if (there && s->out.existing == AF_EXISTING_ERROR)
        return af_fail(err, AF_E_OUTPUT,
                       "%s already holds %s (set existing = overwrite to replace it, or into to "
                       "write into it)",
                       f->data_path, p->dataset);
    if (!there && s->out.existing == AF_EXISTING_INTO)
        return af_fail(err, AF_E_OUTPUT,
                       "%s has no dataset %s (existing = into writes into an existing one)",
                       f->data_path, p->dataset);
    if (there && s->out.existing == AF_EXISTING_INTO) {
        d = af_h5_open_dataset(fid, f->data_path, p->dataset, AF_E_OUTPUT, err);
        if (d >= 0 && check_into(d, p, s->out.type, err) != 0) {
            H5Dclose(d);
            return -1;
        }
    } else {
        /* overwrite: the old dataset goes (its space is not reclaimed; h5repack does that) */
        if (there && H5Ldelete(fid, p->dataset, H5P_DEFAULT) < 0)
            return af_h5_fail(err, AF_E_OUTPUT, "%s: cannot replace %s", f->data_path, p->dataset);
        d = create_dataset(fid, p, err);
    }
    if (d < 0)
        return -1;
    int rc = put_attrs(d, p, s->attrs, err);
    H5Dclose(d);
    return rc;
}

static int fill_plan(const af_store_spec *s, af_store_plan *p, af_error *err) {
    af_output_plan *f = &p->file;
    if (af_h5_split(s->out.path, f->data_path, sizeof f->data_path, p->dataset, sizeof p->dataset,
                    err) != 0) {
        err->code = AF_E_OUTPUT;
        return -1;
    }
    snprintf(f->desc_path, sizeof f->desc_path, "%s", s->out.path);
    f->format = AF_FMT_HDF5;
    f->existing = s->out.existing;
    f->into = s->out.existing == AF_EXISTING_INTO;
    f->type = s->out.type;
    f->order = AF_ORDER_ROW; /* an HDF5 dataset is n x k as h5py sees it, whatever `order` says */
    f->rows = s->out.rows;
    f->cols = s->out.cols;
    if (af_h5_type_of(f->type) < 0)
        return af_fail(err, AF_E_OUTPUT, "%s: HDF5 outputs cannot hold type '%s'", s->out.path,
                       af_elem_name(f->type));
    if (s->out.existing != AF_EXISTING_ERROR && s->out.existing != AF_EXISTING_OVERWRITE &&
        s->out.existing != AF_EXISTING_INTO)
        return af_fail(err, AF_E_INTERNAL, "unknown existing policy %d", s->out.existing);
    return 0;
}

static void set_sizes(af_output_plan *f) {
    f->elem_bytes = af_elem_bits(f->type) / 8;
    f->file_bytes = 0; /* HDF5 decides */
}

static void hdf5_discard(af_store_plan *p);

static int hdf5_prepare(const af_store_spec *s, const af_store_plan *earlier, int n_earlier,
                        af_store_plan *p, af_error *err) {
    af_h5_init();
    if (fill_plan(s, p, err) != 0)
        return -1;
    af_output_plan *f = &p->file;
    for (int j = 0; j < n_earlier && p->shares_with < 0; j++)
        if (earlier[j].kind == AF_STORE_HDF5 && earlier[j].shares_with < 0 &&
            same_file(earlier[j].file.data_path, f->data_path)) {
            if (strcmp(earlier[j].dataset, p->dataset) == 0)
                return af_fail(err, AF_E_CONFIG, "%s: two outputs name the same dataset %s",
                               f->data_path, p->dataset);
            p->shares_with = j;
            snprintf(f->tmp_data_path, sizeof f->tmp_data_path, "%s",
                     earlier[j].file.tmp_data_path);
        }
    hid_t fid;
    if (p->shares_with >= 0) {
        fid = af_h5_open_file(f->tmp_data_path, 1, MPI_COMM_NULL, AF_E_OUTPUT, err);
    } else {
        /* The owner holds the lock that keeps other jobs off FILE.h5 until publish/discard. */
        int lock = af_lock_beside(f->data_path, err);
        if (lock < 0)
            return -1;
        f->lock_fd1 = lock + 1;
        fid = create_temp(p, err);
    }
    int rc = fid < 0 ? -1 : place_dataset(fid, s, p, err);
    set_sizes(f);
    if (fid >= 0 && H5Fclose(fid) < 0 && rc == 0)
        rc = af_h5_fail(err, AF_E_OUTPUT, "cannot write %s", f->tmp_data_path);
    /* A sharer's failure leaves its owner's file to its owner's discard. */
    if (rc != 0 && p->shares_with < 0)
        hdf5_discard(p);
    return rc;
}

/* ---- open files, shared between the outputs of one process --------------------------------- */

typedef struct open_file {
    char path[AF_MATRIX_PATH_MAX];
    hid_t fid;
    int refs;
} open_file;

static open_file open_files[4]; /* a job has at most two outputs */

static open_file *find_open(const char *path) {
    for (size_t i = 0; i < sizeof open_files / sizeof open_files[0]; i++)
        if (open_files[i].refs > 0 && strcmp(open_files[i].path, path) == 0)
            return &open_files[i];
    return NULL;
}

/* Collective over comm (every process opens the same files in the same order). */
static hid_t acquire_file(const char *path, MPI_Comm comm, af_error *err) {
    open_file *o = find_open(path);
    if (o) {
        o->refs++;
        return o->fid;
    }
    for (size_t i = 0; i < sizeof open_files / sizeof open_files[0]; i++)
        if (open_files[i].refs == 0) {
            hid_t fid = af_h5_open_file(path, 1, comm, AF_E_OUTPUT, err);
            if (fid < 0)
                return -1;
            snprintf(open_files[i].path, sizeof open_files[i].path, "%s", path);
            open_files[i].fid = fid;
            open_files[i].refs = 1;
            return fid;
        }
    return af_fail(err, AF_E_INTERNAL, "too many HDF5 output files open at once");
}

static int release_file(hid_t fid, af_error *err) {
    for (size_t i = 0; i < sizeof open_files / sizeof open_files[0]; i++)
        if (open_files[i].refs > 0 && open_files[i].fid == fid) {
            if (--open_files[i].refs > 0)
                return 0;
            if (H5Fclose(fid) < 0)
                return af_h5_fail(err, AF_E_OUTPUT, "cannot complete %s", open_files[i].path);
            return 0;
        }
    return 0;
}

typedef struct h5_out {
    hid_t file, dset, mem_type, dxpl;
    uint64_t rows, cols;
    char name[AF_MATRIX_PATH_MAX]; /* FILE.h5:/dataset, for messages */
} h5_out;

static int hdf5_open(const af_store_plan *plans, int i, MPI_Comm comm, void **state,
                     af_error *err) {
    af_h5_init();
    const af_store_plan *p = &plans[i];
    h5_out *o = calloc(1, sizeof *o);
    int failed = o == NULL;
    if (failed)
        af_fail(err, AF_E_INTERNAL, "out of memory");
    if (af_mpi_agree_comm(comm, failed, err) != 0) {
        free(o);
        return -1;
    }
    snprintf(o->name, sizeof o->name, "%s", p->file.desc_path);
    o->rows = p->file.rows;
    o->cols = p->file.cols;
    o->dset = -1;
    /* One agreement point for the file and the dataset, so that every process passes the same
     * collective calls whichever step failed where. */
    o->file = acquire_file(p->file.tmp_data_path, comm, err);
    if (o->file >= 0) {
        o->dset = H5Dopen2(o->file, p->dataset, H5P_DEFAULT);
        if (o->dset < 0)
            af_h5_fail(err, AF_E_OUTPUT, "%s: cannot open dataset %s in %s", o->name, p->dataset,
                       p->file.tmp_data_path);
    }
    if (af_mpi_agree_comm(comm, o->file < 0 || o->dset < 0, err) != 0) {
        if (o->dset >= 0)
            H5Dclose(o->dset);
        af_error ignored;
        if (o->file >= 0)
            release_file(o->file, &ignored);
        free(o);
        return -1;
    }
    o->mem_type = af_h5_type_of(p->file.type);
    o->dxpl = H5Pcreate(H5P_DATASET_XFER);
    H5Pset_dxpl_mpio(o->dxpl, H5FD_MPIO_COLLECTIVE);
    *state = o;
    return 0;
}

/* Collective: every process calls H5Dwrite, a process without rows with empty selections. */
static int hdf5_write_rows(void *state, uint64_t row0, uint64_t nrows, const void *encoded,
                           af_error *err) {
    h5_out *o = state;
    hid_t fspace = H5Dget_space(o->dset);
    hsize_t start[2] = {row0, 0}, count[2] = {nrows, o->cols}, one[2] = {1, o->cols};
    hid_t mspace = H5Screate_simple(2, nrows ? count : one, NULL);
    static const double dummy[1];
    if (nrows > 0 && o->cols > 0) {
        H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL);
    } else {
        H5Sselect_none(fspace);
        H5Sselect_none(mspace);
        encoded = dummy;
    }
    herr_t e = H5Dwrite(o->dset, o->mem_type, mspace, fspace, o->dxpl, encoded);
    int rc = 0;
    if (e < 0)
        rc = af_h5_fail(err, AF_E_OUTPUT, "%s: cannot write rows %llu..%llu", o->name,
                        (unsigned long long)row0 + 1, (unsigned long long)(row0 + nrows));
    H5Sclose(mspace);
    H5Sclose(fspace);
    return rc;
}

static int hdf5_sync(void *state, af_error *err) {
    h5_out *o = state;
    if (H5Fflush(o->file, H5F_SCOPE_GLOBAL) < 0)
        return af_h5_fail(err, AF_E_OUTPUT, "%s: cannot flush", o->name);
    return 0;
}

static int hdf5_close(void *state, af_error *err) {
    h5_out *o = state;
    if (!o)
        return 0;
    int rc = 0;
    if (H5Dclose(o->dset) < 0)
        rc = af_h5_fail(err, AF_E_OUTPUT, "%s: cannot close", o->name);
    H5Pclose(o->dxpl);
    af_error close_err = {0};
    if (release_file(o->file, &close_err) != 0 && rc == 0) {
        *err = close_err;
        rc = -1;
    }
    free(o);
    return rc;
}

/* ---- publish / discard (one process) ----------------------------------------------------------
 */

static int hdf5_publish(af_store_plan *p, af_error *err) {
    af_output_plan *f = &p->file;
    if (p->shares_with >= 0)
        return 0; /* the owner of the file publishes it */
    if (!f->tmp_data_path[0])
        return af_fail(err, AF_E_INTERNAL, "%s: nothing to publish", f->desc_path);
    int fd = open(f->tmp_data_path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return af_fail_errno(err, AF_E_OUTPUT, errno, "cannot reopen %s", f->tmp_data_path);
    int e = fsync(fd) != 0 ? errno : 0;
    if (close(fd) != 0 && !e)
        e = errno;
    if (e)
        return af_fail_errno(err, AF_E_OUTPUT, e, "cannot complete %s", f->data_path);
    if (af_publish_rename(f->tmp_data_path, f->data_path, err) != 0)
        return -1;
    f->tmp_data_path[0] = '\0';
    af_unlock_beside(f->data_path, f->lock_fd1 - 1);
    f->lock_fd1 = 0;
    return 0;
}

static void hdf5_discard(af_store_plan *p) {
    if (!p || p->shares_with >= 0)
        return;
    if (p->file.tmp_data_path[0]) {
        unlink(p->file.tmp_data_path);
        p->file.tmp_data_path[0] = '\0';
    }
    if (p->file.lock_fd1 > 0) {
        af_unlock_beside(p->file.data_path, p->file.lock_fd1 - 1);
        p->file.lock_fd1 = 0;
    }
}

/* The owner of a file locks it; a plan sharing it holds no lock. */
static const char *hdf5_lock_path(const af_store_plan *p) {
    return p->shares_with < 0 ? p->file.data_path : NULL;
}

const af_store_backend af_store_backend_hdf5 = {
    .name = "parallel HDF5",
    .prepare = hdf5_prepare,
    .open = hdf5_open,
    .write_rows = hdf5_write_rows,
    .sync = hdf5_sync,
    .close = hdf5_close,
    .publish = hdf5_publish,
    .discard = hdf5_discard,
    .lock_path = hdf5_lock_path,
};
#endif
