/* annforest validate INDEX [--strict] [--load]: the table of checks of index_validate.h. */
#include "commands.h"
#include "index_validate.h"
#include "job.h"
#include "mpi_util.h"
#include "progress.h"
#include "report.h"

#include <stdio.h>
#include <string.h>

static int run_validate(int argc, char **argv) {
    af_validate_opts o = {0};
    int quiet = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--strict") == 0)
            o.strict = 1;
        else if (strcmp(argv[i], "--load") == 0)
            o.load = 1;
        else if (strcmp(argv[i], "--quiet") == 0)
            quiet = 1;
        else if (argv[i][0] == '-' && argv[i][1] != '\0')
            return af_usage_error("validate", "unknown option '%s'", argv[i]);
        else if (o.index_path)
            return af_usage_error("validate", "one INDEX only (got '%s' and '%s')", o.index_path,
                                  argv[i]);
        else
            o.index_path = argv[i];
    }
    if (!o.index_path)
        return af_usage_error("validate", "INDEX is missing");
    af_progress_set_quiet(quiet);
    o.threads = af_job_default_threads();
    af_validation v;
    af_error err = {0};
    if (af_validate_index(&o, &v, &err) != 0)
        return af_report_error(&err);
    if (af_world_get().rank != 0)
        return 0; /* rank 0 decides the exit status; mpirun reports the first non-zero */
    if (v.index_id[0])
        printf("index %s: index_id %s\n", o.index_path, v.index_id);
    af_validation_print(&v, stdout);
    fflush(stdout);
    int failed = af_validation_errors(&v);
    if (!failed)
        return AF_OK;
    af_error why = {0};
    af_fail(&why, AF_E_MISMATCH, "validate: %d error check(s) failed for %s", failed, o.index_path);
    return af_report_error(&why);
}

const af_command af_cmd_validate = {
    .name = "validate",
    .summary = "check an index against its metadata and its reference",
    .usage = "Usage: annforest validate INDEX [--strict] [--load] [--quiet]\n"
             "\n"
             "Checks that INDEX is the file its metadata (INDEX.meta) describes and that the\n"
             "reference it was built from has not changed, and prints a table of checks\n"
             "(check, passed, severity, detail):\n"
             "  index_file, metadata     both there and readable\n"
             "  metadata_checksum        INDEX.meta not edited since it was written\n"
             "  metadata_consistent      counts, sizes and the shard table agree\n"
             "  basename                 the metadata describes this file name\n"
             "  file_size, node_format   the file holds n_nodes nodes of the metric's size\n"
             "  index_id, file_checksum  the file's bytes are the ones the build wrote\n"
             "  reference*               the reference's shape, size and data (stale if changed)\n"
             "  --strict  also file_md5, and a walk of every tree: children in range and inside\n"
             "            their shard, leaf counts, root copies, every node reached once\n"
             "  --load    also map every shard the way an eager query does, and time it\n"
             "  --quiet   no progress reports\n"
             "\n"
             "Checksums and tree walks are shared by all MPI ranks and their threads. Exit status\n"
             "0 when no error-severity check fails; 6 (mismatch) otherwise.\n",
    .run = run_validate,
};
