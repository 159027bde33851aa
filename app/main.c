/* annforest: entry point. Initialises MPI (every command runs the same way as one process,
 * under mpirun and under srun), finds the command and hands it the remaining arguments. */
#include "af_version.h"
#include "commands.h"
#include "launcher_watch.h"
#include "report.h"

#include <mpi.h>
#include <stdio.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

static const af_command *const commands[] = {
    &af_cmd_build,    &af_cmd_query, &af_cmd_run,     &af_cmd_exact,
    &af_cmd_validate, &af_cmd_info,  &af_cmd_convert, &af_cmd_bench,
};
enum { n_commands = sizeof commands / sizeof commands[0] };

static void print_help(FILE *out) {
    fprintf(out,
            "annforest %s - approximate k-nearest neighbours over file-backed matrices, "
            "with MPI\n\nUsage: annforest COMMAND [ARGS]\n       mpirun -np N annforest "
            "COMMAND [ARGS]\n\nCommands:\n",
            AF_VERSION);
    for (int i = 0; i < n_commands; i++)
        fprintf(out, "  %-9s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(out, "\n'annforest COMMAND --help' describes one command; '--version' prints the "
                 "version.\n");
}

static const af_command *find_command(const char *name) {
    for (int i = 0; i < n_commands; i++)
        if (strcmp(commands[i]->name, name) == 0)
            return commands[i];
    return NULL;
}

static int wants_help(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    return 0;
}

static int dispatch(int argc, char **argv) {
    if (argc < 2) {
        if (af_is_root_rank())
            print_help(stderr);
        return AF_E_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        if (af_is_root_rank())
            print_help(stdout);
        return AF_OK;
    }
    if (strcmp(name, "--version") == 0) {
        if (af_is_root_rank())
            printf("annforest %s (%s HDF5)\n", AF_VERSION, AF_HAVE_HDF5_BUILD ? "with" : "without");
        return AF_OK;
    }
    const af_command *cmd = find_command(name);
    if (!cmd) {
        if (af_is_root_rank())
            fprintf(stderr, "annforest: unknown command '%s' (see 'annforest --help')\n", name);
        return AF_E_USAGE;
    }
    if (wants_help(argc - 1, argv + 1)) {
        if (af_is_root_rank())
            fputs(cmd->usage, stdout);
        return AF_OK;
    }
    return cmd->run(argc - 1, argv + 1);
}

int main(int argc, char **argv) {
#ifdef __GLIBC__
    /* Blocks of 128 KiB and more get pages of their own, given back when freed: glibc would
     * otherwise raise this threshold at the first such free (up to 32 MiB), so that the per-batch
     * and per-shard scratch of a job stays in the heap after use and adds to each rank's peak. */
    mallopt(M_MMAP_THRESHOLD, 128 << 10);
#endif
    int provided = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    af_die_with_launcher();
    int status = dispatch(argc, argv);
    fflush(stdout);
    MPI_Finalize();
    return status;
}
