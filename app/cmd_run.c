#include "build_index.h"
#include "commands.h"
#include "manifest.h"
#include "report.h"
#include "searchers.h"

#include <stdio.h>

static int run_run(int argc, char **argv) {
    af_job job;
    af_error err = {0};
    if (af_job_setup(&job, "run", argc, argv, AF_NEED_BUILD | AF_NEED_QUERY, AF_JOB_ALLOW_RESUME,
                     &err) != 0)
        return af_report_error(&err);
    char why[1024] = "";
    if (af_index_needs_build(&job, why, sizeof why)) {
        if (job.world.rank == 0 && !job.quiet)
            fprintf(stderr, "building the index: %s\n", why);
        af_phase_begin("build");
        if (af_build_index(&job, 1, &err) != 0)
            return af_report_error(&err);
        af_phase_end("build", job.ref.rows);
    } else if (job.world.rank == 0 && !job.quiet) {
        fprintf(stderr, "index %s is up to date\n", job.cfg.index.path);
    }
    af_phase_begin("query");
    if (af_query_index(&job, &err) != 0)
        return af_report_error(&err);
    af_phase_end("query", job.query.rows);
    af_manifest_add_outputs(&job.cfg);
    if (af_manifest_write(&job, job.cfg.output.index, &err) != 0)
        return af_report_error(&err);
    return AF_OK;
}

const af_command af_cmd_run = {
    "run",
    "build the index when it is missing or stale, then query",
    "Usage: annforest run --config JOB.ini [--set section.key=value ...] [--quiet]\n"
    "                     [--resume]\n"
    "\n"
    "`build` when index.path is missing or stale (its .meta records other build keys, another\n"
    "shard count, or a reference of another shape or size), then `query`.\n"
    "\n"
    "  --config FILE      the job config (INI, see docs/config.md)\n"
    "  --set S.K=V        override one config key (repeatable)\n"
    "  --quiet            no progress reports\n"
    "  --resume           continue an interrupted run of this job from its journal\n"
    "                     (OUTPUT_INDEX.journal: the batches already written); without one,\n"
    "                     start from the first batch. Refused when the config's result keys,\n"
    "                     the index or the query matrix differ from the interrupted run's.\n",
    run_run,
};
