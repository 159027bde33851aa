#include "commands.h"
#include "manifest.h"
#include "query_pipeline.h"
#include "report.h"
#include "searchers.h"

static int run_exact(int argc, char **argv) {
    af_job job;
    af_error err = {0};
    if (af_job_setup(&job, "exact", argc, argv, AF_NEED_EXACT, 0, &err) != 0)
        return af_report_error(&err);
    af_searcher_ops ops;
    af_exact_searcher *s = af_exact_searcher_open(&job, &ops, &err);
    if (!s)
        return af_report_error(&err);
    af_phase_begin("exact search");
    int rc = af_run_queries(&job, &ops, &err);
    af_exact_searcher_close(s);
    af_phase_end("exact search", job.query.rows);
    af_manifest_add_outputs(&job.cfg);
    if (rc != 0 || af_manifest_write(&job, job.cfg.output.index, &err) != 0)
        return af_report_error(&err);
    return AF_OK;
}

const af_command af_cmd_exact = {
    "exact",
    "brute-force k nearest neighbours: same inputs, same outputs, exact",
    "Usage: annforest exact --config JOB.ini [--set section.key=value ...] [--quiet]\n"
    "\n"
    "Computes the true query.k nearest neighbours of every row of query.path among the rows\n"
    "of reference.path (blocked brute force, BLAS where it helps), with index.metric, and\n"
    "writes them exactly as `query` does. No index is needed. Each rank searches its block\n"
    "of reference rows; partial lists are merged with the same rules as `query`.\n"
    "\n"
    "  --config FILE      the job config (INI, see docs/config.md)\n"
    "  --set S.K=V        override one config key (repeatable)\n"
    "  --quiet            no progress reports\n",
    run_exact,
};
