/* af_matrix_describe: recognise the form of a path and hand it to the reader of that form. */
#include "file_util.h"
#include "matrix.h"
#include "matrix_backend.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { max_descriptor_bytes = 256 << 20 }; /* row and column names can make them large */

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

const char *af_hdf5_path_split(const char *path) {
    static const char *const exts[] = {".h5:", ".hdf5:", ".he5:", ".hdf:", ".nc:"};
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
        const char *at = strstr(path, exts[i]);
        if (at && at[strlen(exts[i])] == '/')
            return at + strlen(exts[i]) - 1;
    }
    return NULL;
}

static int describe_hdf5(const char *path, const char *colon, af_matrix_desc *out, af_error *err) {
    const af_matrix_backend *b = af_matrix_backend_get(AF_BACKEND_HDF5);
    if (b && b->describe)
        return b->describe(path, out, err);
    return af_fail(err, AF_E_INPUT,
                   "%.*s: HDF5 dataset %s: this annforest build has no HDF5 support (it was built "
                   "without parallel HDF5; install libhdf5-openmpi-dev and rebuild with "
                   "-DAF_WITH_HDF5=ON, or convert the dataset to a bigmemory or native matrix "
                   "elsewhere)",
                   (int)(colon - path), path, colon + 1);
}

/* Binary forms that sometimes carry a .desc name, recognised by their first bytes. */
static const char *binary_kind(const unsigned char *t, size_t len) {
    if (len >= 2 && t[0] == 0x1f && t[1] == 0x8b)
        return "a gzip-compressed binary R file (saveRDS/save)";
    if (len >= 3 && memcmp(t, "BZh", 3) == 0)
        return "a bzip2-compressed binary R file (saveRDS/save)";
    if (len >= 6 && memcmp(t,
                           "\xFD"
                           "7zXZ",
                           5) == 0)
        return "an xz-compressed binary R file (saveRDS/save)";
    if (len >= 2 && (memcmp(t, "X\n", 2) == 0 || memcmp(t, "B\n", 2) == 0))
        return "a binary R serialization (saveRDS)";
    if (len >= 2 && memcmp(t, "A\n", 2) == 0)
        return "an ASCII R serialization (saveRDS(ascii = TRUE))";
    if (len >= 4 &&
        (memcmp(t, "RDX", 3) == 0 || memcmp(t, "RDA", 3) == 0 || memcmp(t, "RDB", 3) == 0))
        return "an R workspace file (save)";
    if (memchr(t, '\0', len))
        return "a binary file";
    return NULL;
}

static const char *skip_blank(const char *t, const char *end) {
    while (t < end && (*t == ' ' || *t == '\t' || *t == '\r' || *t == '\n'))
        t++;
    return t;
}

int af_matrix_describe(const char *path, af_matrix_desc *out, af_error *err) {
    memset(out, 0, sizeof *out);
    if (!path || !*path)
        return af_fail(err, AF_E_INPUT, "an empty matrix path");
    if (strlen(path) >= AF_MATRIX_PATH_MAX)
        return af_fail(err, AF_E_INPUT, "matrix path too long: %.80s...", path);
    const char *colon = af_hdf5_path_split(path);
    if (colon)
        return describe_hdf5(path, colon, out, err);
    struct stat st;
    if (stat(path, &st) != 0)
        return af_fail_errno(err, AF_E_INPUT, errno, "cannot open matrix %s", path);
    if (S_ISDIR(st.st_mode))
        return af_fail(err, AF_E_INPUT, "%s is a directory, not a matrix descriptor or file", path);
    if (ends_with(path, ".fvecs"))
        return af_describe_vecs(path, AF_FMT_FVECS, out, err);
    if (ends_with(path, ".bvecs"))
        return af_describe_vecs(path, AF_FMT_BVECS, out, err);
    if (ends_with(path, ".ivecs"))
        return af_describe_vecs(path, AF_FMT_IVECS, out, err);

    size_t len;
    char *text = af_read_small_file(path, max_descriptor_bytes, &len, err);
    if (!text)
        return -1;
    int rc;
    const char *kind = binary_kind((const unsigned char *)text, len);
    const char *start = skip_blank(text, text + len);
    if (kind)
        rc = af_fail(err, AF_E_INPUT,
                     "%s is %s, not a descriptor annforest reads: bigmemory descriptors must be "
                     "the text R's dput writes; in R, re-describe it as text with "
                     "dput(describe(x), \"%s\") for a file-backed big.matrix x (or "
                     "dput(readRDS(\"%s\"), \"new.desc\"))",
                     path, kind, path, path);
    else if ((size_t)(text + len - start) >= 17 && strncmp(start, "annforest-matrix:", 17) == 0)
        rc = af_describe_native(path, text, len, out, err);
    else if (start < text + len &&
             (strncmp(start, "new(", 4) == 0 || strncmp(start, "new (", 5) == 0 ||
              strncmp(start, "structure(", 10) == 0 || strncmp(start, "list(", 5) == 0))
        rc = af_describe_bigmemory(path, text, len, out, err);
    else if (len == 0)
        rc = af_fail(err, AF_E_INPUT, "%s is empty, not a matrix descriptor", path);
    else
        rc = af_fail(err, AF_E_INPUT,
                     "%s is not a matrix annforest recognises: expected a bigmemory descriptor "
                     "(R dput text starting 'new(\"big.matrix.descriptor\"'), an annforest native "
                     "descriptor (first line 'annforest-matrix: 1'), a .fvecs/.bvecs/.ivecs file "
                     "or FILE.h5:/dataset",
                     path);
    free(text);
    return rc;
}
