/* annforest convert SRC DST: copy a matrix between forms, streaming bounded blocks of rows.
 * Values stay exact (read as double, written back with range checks); NA stays NA. Rank 0 does
 * the work; every rank leaves with its status. */
#include "commands.h"
#include "matrix.h"
#include "matrix_out.h"
#include "mpi_util.h"
#include "progress.h"
#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct convert_args {
    const char *src, *dst;
    int type;     /* 0: choose from the source */
    int order;    /* af_order */
    int existing; /* af_existing */
} convert_args;

enum { block_bytes = 16 << 20 }; /* doubles held per block */

/* The target type when none is asked: the source's when the output form holds it, else the
 * smallest that holds its values and NA. */
static int default_type(int src_type, int format) {
    if (format == AF_FMT_BIGMEMORY)
        return af_elem_bigmemory_name(src_type) ? src_type : AF_T_INTEGER;
    if (af_elem_is_packed(src_type))
        return src_type == AF_T_LOGICAL ? AF_T_INTEGER : AF_T_UBYTE;
    return src_type;
}

static int same_file(const char *a, const char *b) {
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

/* Never write over the data being read. */
static int check_not_source(const af_matrix_desc *d, const char *out_data, af_error *err) {
    char file[AF_MATRIX_PATH_MAX + 32];
    uint64_t n = d->separated ? d->total_cols : 1;
    for (uint64_t c = 0; c < n; c++)
        if (af_matrix_data_file(d, c, file, sizeof file, err) == 0 && same_file(file, out_data))
            return af_fail(err, AF_E_OUTPUT,
                           "%s is the data of the source %s: choose another "
                           "destination",
                           out_data, d->path);
    return 0;
}

static int copy_rows(af_matrix *m, const af_output_plan *plan, af_error *err) {
    uint64_t rows = af_matrix_rows(m), cols = af_matrix_cols(m);
    uint64_t step = cols ? block_bytes / (cols * sizeof(double)) : rows;
    if (step == 0)
        step = 1;
    if (step > rows)
        step = rows ? rows : 1;
    double *buf = malloc(step * (cols ? cols : 1) * sizeof *buf);
    if (!buf)
        return af_fail(err, AF_E_INTERNAL, "out of memory");
    int fd = af_output_open_data(plan, err);
    if (fd < 0) {
        free(buf);
        return -1;
    }
    af_progress *pr = af_progress_start("converting", "rows", rows);
    int rc = 0;
    for (uint64_t r = 0; r < rows && rc == 0; r += step) {
        uint64_t n = r + step < rows ? step : rows - r;
        rc = af_matrix_read_f64(m, r, r + n, buf, NULL, err);
        if (rc == 0)
            rc = af_output_write_rows_f64(plan, fd, r, n, buf, err);
        af_progress_update(pr, r + n);
    }
    af_progress_finish(pr);
    close(fd);
    free(buf);
    return rc;
}

static int convert(const convert_args *a, af_error *err) {
    af_matrix_desc d;
    af_matrix *m;
    if (af_matrix_describe(a->src, &d, err) != 0 || af_matrix_open(&d, &m, err) != 0)
        return -1;
    int format = af_output_format_of(a->dst);
    af_output_spec spec = {
        .path = a->dst,
        .type = a->type ? a->type : default_type(d.type, format),
        .order = a->order,
        .rows = d.rows,
        .cols = d.cols,
        .existing = a->existing,
    };
    af_output_plan plan;
    int rc = af_output_prepare(&spec, &plan, err);
    if (rc == 0) {
        rc = check_not_source(&d, plan.data_path, err);
        if (rc == 0)
            rc = copy_rows(m, &plan, err);
        if (rc == 0)
            rc = af_output_publish(&plan, err);
        af_output_discard(&plan);
    }
    af_matrix_close(m);
    return rc;
}

static int parse_args(int argc, char **argv, convert_args *a) {
    memset(a, 0, sizeof *a);
    a->order = AF_ORDER_COLUMN;
    const char *order = NULL;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        int has_value = i + 1 < argc;
        if (strcmp(s, "--quiet") == 0 || strcmp(s, "-q") == 0) {
            af_progress_set_quiet(1);
        } else if (strcmp(s, "--type") == 0 && has_value) {
            a->type = af_elem_from_name(argv[++i]);
            if (!a->type)
                return af_usage_error("convert", "unknown --type '%s'", argv[i]);
        } else if (strcmp(s, "--order") == 0 && has_value) {
            order = argv[++i];
            if (strcmp(order, "row") != 0 && strcmp(order, "column") != 0)
                return af_usage_error("convert", "--order must be row or column, not '%s'", order);
            a->order = strcmp(order, "row") == 0 ? AF_ORDER_ROW : AF_ORDER_COLUMN;
        } else if (strcmp(s, "--existing") == 0 && has_value) {
            a->existing = af_existing_from_name(argv[++i]);
            if (a->existing != AF_EXISTING_ERROR && a->existing != AF_EXISTING_OVERWRITE)
                return af_usage_error("convert", "--existing must be error or overwrite, not '%s'",
                                      argv[i]);
        } else if (s[0] == '-' && s[1] != '\0') {
            return af_usage_error("convert", "unknown option or missing value: '%s'", s);
        } else if (!a->src) {
            a->src = s;
        } else if (!a->dst) {
            a->dst = s;
        } else {
            return af_usage_error("convert", "unexpected argument '%s'", s);
        }
    }
    if (!a->src || !a->dst)
        return af_usage_error("convert", "SRC and DST are required");
    if (!af_output_format_of(a->dst))
        return af_usage_error("convert",
                              "DST must end in .desc (bigmemory) or .afm (annforest native): '%s'",
                              a->dst);
    if (order && a->order == AF_ORDER_ROW && af_output_format_of(a->dst) == AF_FMT_BIGMEMORY)
        return af_usage_error("convert", "bigmemory matrices are column-major; use a .afm "
                                         "destination for --order row");
    return 0;
}

static int run_convert(int argc, char **argv) {
    convert_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc != 0)
        return rc;
    af_error err = {0};
    int failed = af_world_get().rank == 0 ? convert(&a, &err) != 0 : 0;
    if (af_mpi_agree(failed, &err) != 0)
        return af_report_error(&err);
    return AF_OK;
}

const af_command af_cmd_convert = {
    .name = "convert",
    .summary = "copy a matrix into a bigmemory (.desc) or native (.afm) file-backed matrix",
    .usage =
        "Usage: annforest convert SRC DST [--type T] [--order row|column]\n"
        "                         [--existing error|overwrite] [--quiet]\n"
        "\n"
        "Copy the matrix SRC (a bigmemory .desc, a native .afm, .fvecs/.bvecs/.ivecs) into DST:\n"
        "  DST.desc   a bigmemory descriptor + DST.bin (column-major), which R opens with\n"
        "             bigmemory::attach.big.matrix(\"DST.desc\")\n"
        "  DST.afm    an annforest native descriptor + DST.dat\n"
        "\n"
        "Options:\n"
        "  --type T       element type of DST. bigmemory: char, short, integer, float, double,\n"
        "                 raw; native also byte, ubyte, ushort, single. Default: the source's\n"
        "                 type when DST can hold it, else integer (bigmemory; logical and\n"
        "                 packed types) or ubyte (native; boolean, quad, nibble).\n"
        "  --order O      row or column (default column; row needs a .afm DST)\n"
        "  --existing E   error (default): fail when DST or its data file exists;\n"
        "                 overwrite: replace them\n"
        "  --quiet        no progress reports\n"
        "\n"
        "Values are copied exactly and NA stays NA. A value DST's type cannot hold - out of\n"
        "range, not a whole number for an integer type, NA for a type without NA (raw, ubyte,\n"
        "ushort) - stops the copy with its row and column (1-based) named; nothing is rounded\n"
        "or wrapped silently (double to float rounds to the nearest float). DST appears only\n"
        "when complete: the data is written to a temporary file and renamed, the descriptor\n"
        "written last. Under mpirun, rank 0 does the work.\n",
    .run = run_convert,
};
