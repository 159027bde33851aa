/* One message per failure: only rank 0 prints, prefixed with the program name. */
#ifndef AF_REPORT_H
#define AF_REPORT_H

#include "af_error.h"

/* Print "annforest: <msg>" on stderr from rank 0 (or from any rank when MPI is not
 * initialised) and return err->code for use as the exit status. */
int af_report_error(const af_error *err);

/* Usage error for COMMAND: prints the message and a hint to `annforest COMMAND --help`. */
int af_usage_error(const char *command, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* True on rank 0, or when MPI is not running. */
int af_is_root_rank(void);

#endif
