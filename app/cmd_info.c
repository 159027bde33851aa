/* annforest info PATH: what a path holds. Rank 0 looks; every rank leaves with its status. */
#include "commands.h"
#include "index_info.h"
#include "matrix.h"
#include "mpi_util.h"
#include "report.h"

#include <stdio.h>
#include <string.h>

/* The kinds of path `info` knows, tried in order; the last (matrices) takes anything. An index
 * kind goes before it, recognising its own paths. */
typedef struct info_kind {
    const char *name;
    int (*matches)(const char *path);
    int (*show)(const char *path, FILE *out, af_error *err);
} info_kind;

static int any_path(const char *path) {
    (void)path;
    return 1;
}

static int show_matrix(const char *path, FILE *out, af_error *err) {
    af_matrix_desc d;
    if (af_matrix_describe(path, &d, err) != 0)
        return -1;
    af_matrix_print_summary(&d, out);
    /* Check the backing files too, so that info reports a missing or short one. */
    af_matrix *m;
    if (af_matrix_open(&d, &m, err) != 0)
        return -1;
    af_matrix_close(m);
    return 0;
}

static const info_kind kinds[] = {
    {"index", af_is_index_path, af_index_print_info},
    {"matrix", any_path, show_matrix},
};

static int run_info(int argc, char **argv) {
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1] != '\0')
            return af_usage_error("info", "unknown option '%s'", argv[i]);
        if (path)
            return af_usage_error("info", "one PATH only (got '%s' and '%s')", path, argv[i]);
        path = argv[i];
    }
    if (!path)
        return af_usage_error("info", "PATH is missing");
    af_error err = {0};
    int failed = 0;
    if (af_world_get().rank == 0) {
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
            if (kinds[k].matches(path)) {
                failed = kinds[k].show(path, stdout, &err) != 0;
                break;
            }
        fflush(stdout);
    }
    if (af_mpi_agree(failed, &err) != 0)
        return af_report_error(&err);
    return AF_OK;
}

const af_command af_cmd_info = {
    .name = "info",
    .summary = "describe a matrix (bigmemory/native descriptor, *vecs, HDF5) or an index",
    .usage = "Usage: annforest info PATH\n"
             "\n"
             "Describe what PATH holds and check that its data is there:\n"
             "  NAME.desc          a bigmemory descriptor (R dput text) and its backing file(s)\n"
             "  NAME.afm           an annforest native matrix descriptor\n"
             "  NAME.fvecs/.bvecs/.ivecs  a vectors file\n"
             "  FILE.h5:/dataset   an HDF5 dataset\n"
             "Shown: shape, element type, layout (column/row-major, separated), NA convention,\n"
             "sub-matrix view offsets, backing file(s) and their sizes.\n"
             "\n"
             "Exit status 0 when the matrix and its data are readable; non-zero with one\n"
             "message otherwise. Under mpirun, rank 0 does the work.\n",
    .run = run_info,
};
