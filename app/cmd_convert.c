/* annforest convert SRC DST: copy a matrix between forms (bigmemory, native, HDF5), streaming
 * bounded blocks of rows. Values stay exact (read as double, written back with range checks);
 * NA stays NA. Rank 0 describes the source and prepares the destination; every rank then reads
 * its share of each block and all of them write it collectively through the output store. */
#include "af_partition.h"
#include "commands.h"
#include "manifest.h"
#include "matrix.h"
#include "matrix_backend.h"
#include "mpi_util.h"
#include "output_store.h"
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

enum { block_bytes = 16 << 20 }; /* doubles held per block, per rank */

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

/* Never write over the data being read. (An HDF5 destination is written to a copy of its file
 * and replaces it only when whole, so reading from the same file is safe.) */
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

/* Rank 0: describe the source and prepare the destination. */
static int plan_convert(const convert_args *a, af_matrix_desc *d, af_store_plan *plan,
                        af_error *err) {
    if (af_matrix_describe(a->src, d, err) != 0)
        return -1;
    int hdf5 = af_hdf5_path_split(a->dst) != NULL;
    int format = hdf5 ? AF_FMT_NATIVE : af_output_format_of(a->dst);
    af_store_spec spec = {{
                              .path = a->dst,
                              .type = a->type ? a->type : default_type(d->type, format),
                              .order = a->order,
                              .rows = d->rows,
                              .cols = d->cols,
                              .existing = a->existing,
                          },
                          NULL};
    if (af_store_prepare(&spec, NULL, 0, plan, err) != 0)
        return -1;
    if (!hdf5 && check_not_source(d, plan->file.data_path, err) != 0) {
        af_store_discard(plan);
        return -1;
    }
    return 0;
}

/* Collective: blocks of rows, each split over the ranks, read and written. */
static int copy_rows(af_matrix *m, af_store *out, af_error *err) {
    af_world w = af_world_get();
    uint64_t rows = af_matrix_rows(m), cols = af_matrix_cols(m);
    uint64_t step = cols ? block_bytes / (cols * sizeof(double)) : rows;
    if (step == 0)
        step = 1;
    uint64_t block = step * (uint64_t)w.size;
    double *buf = malloc(step * (cols ? cols : 1) * sizeof *buf);
    int failed = buf == NULL;
    if (failed)
        af_fail(err, AF_E_INTERNAL, "out of memory");
    if (af_mpi_agree(failed, err) != 0)
        return -1;
    af_progress *pr = af_progress_start("converting", "rows", rows);
    int rc = 0;
    for (uint64_t r = 0; r < rows && rc == 0; r += block) {
        int64_t n = (int64_t)(rows - r < block ? rows - r : block);
        uint64_t r0 = r + (uint64_t)af_block_start(n, w.size, w.rank);
        uint64_t mine = (uint64_t)af_block_size(n, w.size, w.rank);
        rc = af_matrix_read_f64_all(m, r0, r0 + mine, buf, NULL, err); /* agreed */
        if (rc == 0)
            rc = af_store_write_rows(out, r0, mine, buf, err);
        af_progress_update(pr, r + (uint64_t)n);
    }
    af_progress_finish(pr);
    free(buf);
    return rc;
}

static int convert(const convert_args *a, af_error *err) {
    af_world w = af_world_get();
    af_matrix_desc d;
    af_store_plan plan;
    memset(&plan, 0, sizeof plan);
    int failed = w.rank == 0 && plan_convert(a, &d, &plan, err) != 0;
    if (af_mpi_agree(failed, err) != 0)
        return -1;
    unsigned char packed[AF_MATRIX_DESC_PACKED_SIZE];
    if (w.rank == 0)
        af_matrix_desc_pack(&d, packed);
    af_bcast_bytes(packed, sizeof packed);
    af_bcast_bytes(&plan, sizeof plan);
    af_matrix *m = NULL;
    failed = af_matrix_desc_unpack(packed, sizeof packed, &d, err) != 0;
    af_store *out = NULL;
    int rc = af_mpi_agree(failed, err);
    if (rc == 0) /* read by every rank together, block by block (see copy_rows) */
        rc = af_matrix_open_all(&d, MPI_COMM_WORLD, &m, err);
    if (rc == 0)
        rc = af_store_open(&plan, 0, MPI_COMM_WORLD, &out, err);
    if (rc == 0)
        rc = copy_rows(m, out, err);
    af_error close_err = {0};
    if (out && af_store_close(out, &close_err) != 0 && rc == 0) {
        *err = close_err;
        rc = -1;
    }
    af_matrix_close(m);
    failed = 0;
    if (w.rank == 0) {
        failed = rc == 0 && af_store_publish(&plan, err) != 0;
        af_store_discard(&plan);
    }
    if (af_mpi_agree(failed, err) != 0)
        return -1;
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
    int hdf5 = af_hdf5_path_split(a->dst) != NULL;
    if (!hdf5 && !af_output_format_of(a->dst))
        return af_usage_error("convert",
                              "DST must end in .desc (bigmemory) or .afm (annforest native), or "
                              "be FILE.h5:/dataset (HDF5): '%s'",
                              a->dst);
    if (hdf5 && order)
        return af_usage_error("convert", "an HDF5 dataset is stored rows x columns as h5py sees "
                                         "it; --order does not apply to it");
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
    af_manifest_begin("convert", argc, argv);
    af_error err = {0};
    af_phase_begin("convert");
    if (convert(&a, &err) != 0)
        return af_report_error(&err);
    af_phase_end("convert", 0);
    af_manifest_add_matrix(a.dst);
    if (af_manifest_write(NULL, a.dst, &err) != 0)
        return af_report_error(&err);
    return AF_OK;
}

const af_command af_cmd_convert = {
    .name = "convert",
    .summary = "copy a matrix into a bigmemory (.desc), native (.afm) or HDF5 matrix",
    .usage =
        "Usage: annforest convert SRC DST [--type T] [--order row|column]\n"
        "                         [--existing error|overwrite] [--quiet]\n"
        "\n"
        "Copy the matrix SRC (a bigmemory .desc, a native .afm, .fvecs/.bvecs/.ivecs,\n"
        "FILE.h5:/dataset) into DST:\n"
        "  DST.desc          a bigmemory descriptor + DST.bin (column-major), which R opens\n"
        "                    with bigmemory::attach.big.matrix(\"DST.desc\")\n"
        "  DST.afm           an annforest native descriptor + DST.dat\n"
        "  FILE.h5:/dataset  an HDF5 dataset, rows x columns as h5py sees it; FILE.h5 is\n"
        "                    created, or added to when it exists (its other datasets stay)\n"
        "\n"
        "Options:\n"
        "  --type T       element type of DST. bigmemory: char, short, integer, float, double,\n"
        "                 raw; native and HDF5 also byte, ubyte, ushort, single. Default: the\n"
        "                 source's type when DST can hold it, else integer (bigmemory; logical\n"
        "                 and packed types) or ubyte (native, HDF5; boolean, quad, nibble).\n"
        "  --order O      row or column (default column; row needs a .afm DST; not for HDF5)\n"
        "  --existing E   error (default): fail when DST (its data file; for HDF5 the\n"
        "                 dataset) exists; overwrite: replace it\n"
        "  --quiet        no progress reports\n"
        "\n"
        "Values are copied exactly and NA stays NA (in HDF5 integer datasets as R's NA code,\n"
        "recorded in the dataset's 'na' attribute). A value DST's type cannot hold - out of\n"
        "range, not a whole number for an integer type, NA for a type without NA (raw, ubyte,\n"
        "ushort) - stops the copy with its row and column (1-based) named; nothing is rounded\n"
        "or wrapped silently (double to float rounds to the nearest float). DST appears only\n"
        "when complete: the data is written to a temporary file and renamed, the descriptor\n"
        "written last. Under mpirun, every rank reads and writes its share of each block.\n",
    .run = run_convert,
};
