#include "build_index.h"
#include "commands.h"
#include "manifest.h"
#include "report.h"

static int run_build(int argc, char **argv) {
    af_job job;
    af_error err = {0};
    if (af_job_setup(&job, "build", argc, argv, AF_NEED_BUILD, 0, &err) != 0)
        return af_report_error(&err);
    af_phase_begin("build");
    if (af_build_index(&job, 0, &err) != 0)
        return af_report_error(&err);
    af_phase_end("build", job.ref.rows);
    if (af_manifest_write(&job, job.cfg.index.path, &err) != 0)
        return af_report_error(&err);
    return AF_OK;
}

const af_command af_cmd_build = {
    "build",
    "build an index from a job config's reference matrix",
    "Usage: annforest build --config JOB.ini [--set section.key=value ...] [--quiet]\n"
    "\n"
    "Builds the random-projection forest of [index] over the rows of [reference] path and\n"
    "writes one Annoy-compatible index file (index.path) and its metadata (index.path.meta).\n"
    "With N MPI ranks, each rank builds the trees of its shards (index.shards, 0 = one per\n"
    "rank); the index bytes depend only on the data and the build keys, never on the number\n"
    "of ranks or threads. An existing index is refused unless output.existing = overwrite.\n"
    "\n"
    "  --config FILE      the job config (INI, see docs/config.md)\n"
    "  --set S.K=V        override one config key (repeatable)\n"
    "  --quiet            no progress reports\n",
    run_build,
};
