/* What every distributed command starts from: the parsed command line, the job config (loaded
 * by rank 0 alone and broadcast), the descriptions of the matrices it names (parsed by rank 0
 * alone and broadcast), and the thread count. */
#ifndef AF_JOB_H
#define AF_JOB_H

#include "config.h"
#include "matrix.h"
#include "mpi_util.h"

typedef struct af_job {
    const char *command;
    af_config cfg;
    af_world world;
    int threads; /* OpenMP threads per rank */
    int quiet;
    int resume;
    int have_ref, have_query;
    af_matrix_desc ref;   /* reference.path, when the command needs it */
    af_matrix_desc query; /* query.path (the reference again for "self") */
} af_job;

enum { AF_JOB_ALLOW_RESUME = 1u };

/* Parse `COMMAND --config FILE [--set k=v ...] [--quiet] [--resume]`, load and check the config
 * for `needs` (AF_NEED_*), and describe the matrices it needs. Collective. On failure returns
 * -1 with the message in err, identical on every rank. */
int af_job_setup(af_job *job, const char *command, int argc, char **argv, unsigned needs,
                 unsigned flags, af_error *err);

/* Collective: rank 0 describes the matrix at `path` (errors prefixed with `key`, e.g.
 * "[reference] path"), every rank gets the description. */
int af_job_describe(const char *path, const char *key, af_matrix_desc *out, af_error *err);

/* The threads a rank uses for job.threads = 0: OMP_NUM_THREADS, else SLURM_CPUS_PER_TASK, else
 * the cores this process may run on. */
int af_job_default_threads(void);

#endif
