/* .fvecs / .bvecs / .ivecs (the SIFT/GIST corpus formats): each row is an int32 dimension d
 * followed by d values (float32, uint8 or int32). Described as a row-major matrix whose rows
 * carry a 4-byte header; the reader checks every row's header as it reads it. */
#include "matrix_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int af_describe_vecs(const char *path, int format, af_matrix_desc *out, af_error *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return af_fail_errno(err, AF_E_INPUT, errno, "cannot open %s", path);
    struct stat st;
    int32_t dim = 0;
    ssize_t got = 0;
    int rc = fstat(fd, &st);
    if (rc == 0 && S_ISREG(st.st_mode) && st.st_size >= 4)
        got = pread(fd, &dim, sizeof dim, 0);
    int e = errno;
    close(fd);
    if (rc != 0)
        return af_fail_errno(err, AF_E_INPUT, e, "cannot stat %s", path);
    if (!S_ISREG(st.st_mode))
        return af_fail(err, AF_E_INPUT, "%s is not a regular file", path);
    if (st.st_size == 0)
        return af_fail(err, AF_E_INPUT, "%s is empty: a vectors file needs at least one row", path);
    if (st.st_size < 4 || got != 4)
        return af_fail(err, AF_E_INPUT, "%s is truncated: shorter than one row's dimension", path);
    if (dim <= 0)
        return af_fail(err, AF_E_INPUT, "%s: row 1 declares dimension %d (must be positive)", path,
                       (int)dim);
    out->type = format == AF_FMT_FVECS   ? AF_T_SINGLE
                : format == AF_FMT_BVECS ? AF_T_UBYTE
                                         : AF_T_INTEGER;
    uint64_t row_bytes = 4 + (uint64_t)dim * (af_elem_bits(out->type) / 8);
    if ((uint64_t)st.st_size % row_bytes != 0)
        return af_fail(err, AF_E_INPUT,
                       "%s: size %lld bytes is not a whole number of rows of dimension %d (%llu "
                       "bytes each): truncated or not a %s file",
                       path, (long long)st.st_size, (int)dim, (unsigned long long)row_bytes,
                       format == AF_FMT_FVECS   ? ".fvecs"
                       : format == AF_FMT_BVECS ? ".bvecs"
                                                : ".ivecs");
    out->format = format;
    out->backend = AF_BACKEND_MMAP;
    out->order = AF_ORDER_ROW;
    out->na_mode = format == AF_FMT_FVECS ? AF_NA_R : AF_NA_NONE;
    out->total_rows = out->rows = (uint64_t)st.st_size / row_bytes;
    out->total_cols = out->cols = (uint64_t)dim;
    out->row_header_bytes = 4;
    snprintf(out->path, sizeof out->path, "%s", path);
    snprintf(out->data_path, sizeof out->data_path, "%s", path);
    return 0;
}
