/* af_error: how every layer reports a failure.
 *
 * A function that can fail takes an `af_error *` last, returns -1 (or NULL) on failure and
 * fills the error with one complete, user-facing sentence that names the file, key or row and
 * what is wrong. Callers add context with af_error_prefix() rather than printing, so the user
 * sees exactly one message. The code is the process exit status (docs/errors.md). */
#ifndef AF_ERROR_H
#define AF_ERROR_H

#include <stddef.h>

enum af_exit_code {
    AF_OK = 0,
    AF_E_USAGE = 2,    /* bad command line */
    AF_E_CONFIG = 3,   /* bad job config or --set */
    AF_E_INPUT = 4,    /* bad or unreadable input: descriptor, matrix, index, data values */
    AF_E_OUTPUT = 5,   /* cannot write or publish an output (exists, full disk, permissions) */
    AF_E_MISMATCH = 6, /* inputs disagree: shapes, types, metric, stale index */
    AF_E_MPI = 7,      /* another rank failed or the MPI layer did */
    AF_E_INTERNAL = 70 /* a bug: an invariant broke */
};

#define AF_ERROR_MSG_MAX 1024

typedef struct af_error {
    int code;
    char msg[AF_ERROR_MSG_MAX];
} af_error;

/* Fill err (when not NULL) with a printf-style message; returns -1 so callers can
 * `return af_fail(err, AF_E_INPUT, "...")`. */
int af_fail(af_error *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Like af_fail, with ": strerror(errnum)" appended. */
int af_fail_errno(af_error *err, int code, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Put "context: " in front of the existing message. */
void af_error_prefix(af_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void af_error_clear(af_error *err);

#endif
