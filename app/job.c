#include "job.h"
#include "manifest.h"
#include "progress.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int af_job_default_threads(void) {
    const char *vars[] = {"OMP_NUM_THREADS", "SLURM_CPUS_PER_TASK"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        int n = v ? atoi(v) : 0;
        if (n > 0)
            return n;
    }
    int n = omp_get_num_procs();
    return n > 0 ? n : 1;
}

typedef struct job_args {
    const char *config;
    const char **sets;
    int n_sets;
} job_args;

static int parse_args(af_job *job, job_args *a, int argc, char **argv, unsigned flags,
                      af_error *err) {
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--config") == 0 || strcmp(arg, "--set") == 0) {
            if (i + 1 >= argc)
                return af_fail(err, AF_E_USAGE, "%s: %s needs a value (see 'annforest %s --help')",
                               job->command, arg, job->command);
            if (arg[2] == 'c')
                a->config = argv[++i];
            else
                a->sets[a->n_sets++] = argv[++i];
        } else if (strncmp(arg, "--config=", 9) == 0) {
            a->config = arg + 9;
        } else if (strncmp(arg, "--set=", 6) == 0) {
            a->sets[a->n_sets++] = arg + 6;
        } else if (strcmp(arg, "--quiet") == 0 || strcmp(arg, "-q") == 0) {
            job->quiet = 1;
        } else if (strcmp(arg, "--resume") == 0 && (flags & AF_JOB_ALLOW_RESUME)) {
            job->resume = 1;
        } else {
            return af_fail(err, AF_E_USAGE,
                           "%s: unexpected argument '%s' (see 'annforest %s --help')", job->command,
                           arg, job->command);
        }
    }
    if (!a->config)
        return af_fail(err, AF_E_USAGE,
                       "%s: --config JOB.ini is required (see 'annforest %s --help')", job->command,
                       job->command);
    return 0;
}

/* Rank 0 describes one matrix; the description travels to the others as bytes. */
int af_job_describe(const char *path, const char *key, af_matrix_desc *out, af_error *err) {
    unsigned char packed[AF_MATRIX_DESC_PACKED_SIZE];
    int failed = 0;
    if (af_world_get().rank == 0) {
        failed = af_matrix_describe(path, out, err) != 0;
        if (failed)
            af_error_prefix(err, "%s", key);
        else
            af_matrix_desc_pack(out, packed);
    }
    if (af_mpi_agree(failed, err) != 0)
        return -1;
    af_bcast_bytes(packed, sizeof packed);
    failed = af_matrix_desc_unpack(packed, sizeof packed, out, err) != 0;
    return af_mpi_agree(failed, err);
}

static int load_config(af_job *job, const job_args *a, unsigned needs, af_error *err) {
    int failed = 0;
    if (job->world.rank == 0) {
        failed = af_config_load(a->config, a->sets, a->n_sets, &job->cfg, err) != 0 ||
                 af_config_require(&job->cfg, needs, err) != 0;
    }
    if (af_mpi_agree(failed, err) != 0)
        return -1;
    af_bcast_bytes(&job->cfg, sizeof job->cfg);
    return 0;
}

int af_job_setup(af_job *job, const char *command, int argc, char **argv, unsigned needs,
                 unsigned flags, af_error *err) {
    memset(job, 0, sizeof *job);
    job->command = command;
    af_manifest_begin(command, argc, argv);
    job->world = af_world_get();
    job_args a = {0};
    a.sets = calloc((size_t)argc + 1, sizeof *a.sets);
    int failed = !a.sets ? af_fail(err, AF_E_INTERNAL, "out of memory") != 0
                         : parse_args(job, &a, argc, argv, flags, err) != 0;
    /* Every rank parses the same command line, so they agree without talking; the usage
     * error is still agreed so that only rank 0 prints it. */
    if (af_mpi_agree(failed, err) != 0 || load_config(job, &a, needs, err) != 0) {
        free(a.sets);
        return -1;
    }
    free(a.sets);
    af_progress_set_quiet(job->quiet);
    job->threads = job->cfg.job.threads > 0 ? job->cfg.job.threads : af_job_default_threads();
    omp_set_num_threads(job->threads);

    const af_config *c = &job->cfg;
    int need_ref = (needs & (AF_NEED_BUILD | AF_NEED_EXACT)) || c->query.self;
    if (need_ref && c->reference.path[0]) {
        if (af_job_describe(c->reference.path, "[reference] path", &job->ref, err) != 0)
            return -1;
        job->have_ref = 1;
    }
    if ((needs & (AF_NEED_QUERY | AF_NEED_EXACT)) && c->query.path[0]) {
        if (c->query.self) {
            job->query = job->ref;
        } else if (af_job_describe(c->query.path, "[query] path", &job->query, err) != 0) {
            return -1;
        }
        job->have_query = 1;
    }
    return 0;
}
