#include "commands.h"
#include "manifest.h"
#include "report.h"
#include "searchers.h"

static int run_query(int argc, char **argv) {
    af_job job;
    af_error err = {0};
    if (af_job_setup(&job, "query", argc, argv, AF_NEED_QUERY, AF_JOB_ALLOW_RESUME, &err) != 0)
        return af_report_error(&err);
    af_phase_begin("query");
    if (af_query_index(&job, &err) != 0)
        return af_report_error(&err);
    af_phase_end("query", job.query.rows);
    af_manifest_add_outputs(&job.cfg);
    if (af_manifest_write(&job, job.cfg.output.index, &err) != 0)
        return af_report_error(&err);
    return AF_OK;
}

const af_command af_cmd_query = {
    "query",
    "search an index for the k nearest neighbours of every query row",
    "Usage: annforest query --config JOB.ini [--set section.key=value ...] [--quiet]\n"
    "                       [--resume]\n"
    "\n"
    "Searches index.path for the query.k nearest neighbours of every row of query.path\n"
    "(\"self\": the reference itself, a kNN graph) and writes two n_query x k matrices:\n"
    "neighbour ids (output.index, 1-based by default) and distances (output.distance, when\n"
    "set). Outputs are bigmemory descriptors (NAME.desc + NAME.bin) that R attaches with\n"
    "bigmemory::attach.big.matrix, or native descriptors (NAME.afm). Results are identical\n"
    "for any number of ranks and threads.\n"
    "\n"
    "  --config FILE      the job config (INI, see docs/config.md)\n"
    "  --set S.K=V        override one config key (repeatable)\n"
    "  --quiet            no progress reports\n"
    "  --resume           continue an interrupted run of this job from its journal\n"
    "                     (OUTPUT_INDEX.journal: the batches already written); without one,\n"
    "                     start from the first batch. Refused when the config's result keys,\n"
    "                     the index or the query matrix differ from the interrupted run's.\n",
    run_query,
};
