/* Shared HDF5 helpers: see hdf5_util.h. */
#include "hdf5_util.h"

#if AF_HAVE_HDF5
#include "elem_type.h"
#include "matrix_backend.h"
#include "mpi_util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

void af_h5_init(void) {
    static int done;
    if (!done) {
        H5open();
        H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
        done = 1;
    }
}

/* The innermost entry of HDF5's error stack is the most specific ("truncated file: eof =
 * ..."); walking downward, it is the last one seen. */
static herr_t keep_last(unsigned n, const H5E_error2_t *e, void *data) {
    (void)n;
    if (e->desc && *e->desc)
        snprintf(data, 256, "%s", e->desc);
    return 0;
}

static void h5_message(char out[256]) {
    out[0] = '\0';
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, keep_last, out);
    H5Eclear2(H5E_DEFAULT);
}

int af_h5_fail(af_error *err, int code, const char *fmt, ...) {
    char what[768], h5[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    h5_message(h5);
    if (h5[0])
        return af_fail(err, code, "%s (HDF5 says: %s)", what, h5);
    return af_fail(err, code, "%s", what);
}

int af_h5_split(const char *path, char *file, size_t file_cap, char *dataset, size_t dset_cap,
                af_error *err) {
    const char *colon = af_hdf5_path_split(path);
    if (!colon)
        return af_fail(err, AF_E_INPUT, "%s is not of the form FILE.h5:/dataset", path);
    size_t n = (size_t)(colon - path);
    if (n >= file_cap || strlen(colon + 1) >= dset_cap)
        return af_fail(err, AF_E_INPUT, "HDF5 path too long: %.80s...", path);
    memcpy(file, path, n);
    file[n] = '\0';
    snprintf(dataset, dset_cap, "%s", colon + 1);
    size_t len = strlen(dataset);
    if (len < 2 || dataset[len - 1] == '/')
        return af_fail(err, AF_E_INPUT, "%s: '%s' does not name a dataset (FILE.h5:/name)", path,
                       dataset);
    return 0;
}

/* What can be checked of a file before HDF5 opens it: there, a regular file, HDF5. */
static int check_file(const char *file, int code, af_error *err) {
    af_h5_init();
    struct stat st;
    if (stat(file, &st) != 0)
        return af_fail_errno(err, code, errno, "cannot open HDF5 file %s", file);
    if (!S_ISREG(st.st_mode))
        return af_fail(err, code, "%s is not a regular file (expected an HDF5 file)", file);
    htri_t is = H5Fis_hdf5(file);
    if (is == 0)
        return af_fail(err, code, "%s is not an HDF5 file (no HDF5 signature)", file);
    return 0;
}

/* H5Fopen, with a message for each way it fails. */
static hid_t open_checked(const char *file, int writable, MPI_Comm comm, int code, af_error *err) {
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (comm != MPI_COMM_NULL)
        H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL);
    hid_t fid = H5Fopen(file, writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, fapl);
    char h5[256];
    if (fid < 0)
        h5_message(h5); /* before any other HDF5 call clears the error stack */
    H5Pclose(fapl);
    if (fid < 0) {
        if (strstr(h5, "truncated"))
            return af_fail(err, code,
                           "%s is truncated: the HDF5 file is shorter than it claims (HDF5 says: "
                           "%s)",
                           file, h5);
        return af_fail(err, code, "cannot open HDF5 file %s%s%s%s", file,
                       h5[0] ? " (HDF5 says: " : "", h5, h5[0] ? ")" : "");
    }
    return fid;
}

hid_t af_h5_open_file(const char *file, int writable, MPI_Comm comm, int code, af_error *err) {
    if (check_file(file, code, err) != 0)
        return -1;
    return open_checked(file, writable, comm, code, err);
}

hid_t af_h5_open_file_all(const char *file, MPI_Comm comm, int code, af_error *err) {
    if (af_mpi_agree_comm(comm, check_file(file, code, err) != 0, err) != 0)
        return -1;
    hid_t fid = open_checked(file, 0, comm, code, err);
    if (af_mpi_agree_comm(comm, fid < 0, err) != 0) {
        if (fid >= 0) /* HDF5 opened it here but not on another rank: the close is collective */
            H5Fclose(fid);
        return -1;
    }
    return fid;
}

/* The first prefix of an absolute path (/a, /a/b, ...) that is not there, copied to part: 1;
 * 0 when the whole path is. H5Lexists fails, rather than saying no, when a group along the path
 * is missing (or is not a group), so each prefix is checked in turn. */
static int missing_prefix(hid_t fid, const char *path, char *part, size_t cap) {
    size_t len = strlen(path);
    for (size_t i = 1; i <= len && i < cap; i++) {
        if (i < len && path[i] != '/')
            continue;
        memcpy(part, path, i);
        part[i] = '\0';
        if (H5Lexists(fid, part, H5P_DEFAULT) <= 0) {
            H5Eclear2(H5E_DEFAULT);
            return 1;
        }
    }
    return 0;
}

int af_h5_link_exists(hid_t fid, const char *dataset) {
    char part[AF_MATRIX_PATH_MAX];
    return !missing_prefix(fid, dataset, part, sizeof part);
}

hid_t af_h5_open_dataset(hid_t fid, const char *file, const char *dataset, int code,
                         af_error *err) {
    char part[AF_MATRIX_PATH_MAX];
    if (strlen(dataset) >= sizeof part || dataset[0] != '/')
        return af_fail(err, code, "%s: '%s' is not an absolute dataset path", file, dataset);
    if (missing_prefix(fid, dataset, part, sizeof part)) {
        if (strcmp(part, dataset) != 0)
            return af_fail(err, code, "%s has no dataset %s (there is no group %s)", file, dataset,
                           part);
        return af_fail(err, code, "%s has no dataset %s", file, dataset);
    }
    hid_t obj = H5Oopen(fid, dataset, H5P_DEFAULT);
    if (obj < 0)
        return af_h5_fail(err, code, "%s: cannot open %s", file, dataset);
    H5I_type_t kind = H5Iget_type(obj);
    if (kind != H5I_DATASET) {
        H5Oclose(obj);
        return af_fail(err, code, "%s: %s is %s, not a dataset", file, dataset,
                       kind == H5I_GROUP      ? "a group"
                       : kind == H5I_DATATYPE ? "a named datatype"
                                              : "not a dataset");
    }
    return obj;
}

static const char *class_name(H5T_class_t c) {
    switch (c) {
    case H5T_INTEGER:
        return "integer";
    case H5T_FLOAT:
        return "float";
    case H5T_TIME:
        return "time";
    case H5T_STRING:
        return "string";
    case H5T_BITFIELD:
        return "bitfield";
    case H5T_OPAQUE:
        return "opaque";
    case H5T_COMPOUND:
        return "compound";
    case H5T_REFERENCE:
        return "reference";
    case H5T_ENUM:
        return "enum";
    case H5T_VLEN:
        return "variable-length";
    case H5T_ARRAY:
        return "array";
    default:
        return "unknown";
    }
}

int af_h5_elem_type(hid_t type, int *af_type, char *desc, size_t cap, const char *what,
                    af_error *err) {
    H5T_class_t c = H5Tget_class(type);
    size_t size = H5Tget_size(type);
    const char *order = H5Tget_order(type) == H5T_ORDER_BE ? "big-endian" : "little-endian";
    if (c == H5T_INTEGER) {
        int is_signed = H5Tget_sign(type) == H5T_SGN_2;
        static const int by_size[2][3] = {{AF_T_UBYTE, AF_T_USHORT, 0},
                                          {AF_T_BYTE, AF_T_SHORT, AF_T_INTEGER}};
        int t = size == 1   ? by_size[is_signed][0]
                : size == 2 ? by_size[is_signed][1]
                : size == 4 ? by_size[is_signed][2]
                            : 0;
        *af_type = t ? t : AF_T_DOUBLE;
        snprintf(desc, cap, "%sint%zu, %s%s", is_signed ? "" : "u", size * 8, order,
                 t ? "" : "; read as double");
        return 0;
    }
    if (c == H5T_FLOAT) {
        *af_type = size <= 4 ? AF_T_SINGLE : AF_T_DOUBLE;
        snprintf(desc, cap, "float%zu, %s%s", size * 8, order,
                 size == 4 || size == 8 ? ""
                 : size < 4             ? "; read as single"
                                        : "; read as double");
        return 0;
    }
    return af_fail(err, AF_E_INPUT,
                   "%s holds %s values (HDF5 type class %s); annforest reads 2-D datasets of "
                   "integers or floats",
                   what, class_name(c), class_name(c));
}

hid_t af_h5_type_of(int t) {
    switch (t) {
    case AF_T_BYTE:
        return H5T_NATIVE_INT8;
    case AF_T_UBYTE:
    case AF_T_RAW:
        return H5T_NATIVE_UINT8;
    case AF_T_SHORT:
        return H5T_NATIVE_INT16;
    case AF_T_USHORT:
        return H5T_NATIVE_UINT16;
    case AF_T_INTEGER:
        return H5T_NATIVE_INT32;
    case AF_T_SINGLE:
        return H5T_NATIVE_FLOAT;
    case AF_T_DOUBLE:
        return H5T_NATIVE_DOUBLE;
    default:
        return -1;
    }
}
#endif
