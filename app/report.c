#include "report.h"

#include <mpi.h>
#include <stdarg.h>
#include <stdio.h>

int af_is_root_rank(void) {
    int initialised = 0, finalised = 0, rank = 0;
    MPI_Initialized(&initialised);
    MPI_Finalized(&finalised);
    if (initialised && !finalised)
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    return rank == 0;
}

int af_report_error(const af_error *err) {
    if (af_is_root_rank()) {
        fprintf(stderr, "annforest: %s\n", err->msg[0] ? err->msg : "unknown error");
        fflush(stderr);
    }
    return err->code ? err->code : AF_E_INTERNAL;
}

int af_usage_error(const char *command, const char *fmt, ...) {
    if (af_is_root_rank()) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "annforest %s: ", command);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\n(see 'annforest %s --help')\n", command);
        fflush(stderr);
    }
    return AF_E_USAGE;
}
