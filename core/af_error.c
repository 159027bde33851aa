#include "af_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void set_message(af_error *err, int code, const char *fmt, va_list ap) {
    err->code = code;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
}

int af_fail(af_error *err, int code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        set_message(err, code, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int af_fail_errno(af_error *err, int code, int errnum, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        set_message(err, code, fmt, ap);
        va_end(ap);
        size_t used = strlen(err->msg);
        snprintf(err->msg + used, sizeof err->msg - used, ": %s", strerror(errnum));
    }
    return -1;
}

void af_error_prefix(af_error *err, const char *fmt, ...) {
    if (!err)
        return;
    char head[AF_ERROR_MSG_MAX], old[AF_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    /* A message that outgrows the buffer is cut at its end; the context stays in front. */
    if (snprintf(err->msg, sizeof err->msg, "%s: %s", head, old) >= (int)sizeof err->msg)
        err->msg[sizeof err->msg - 1] = '\0';
}

void af_error_clear(af_error *err) {
    if (err) {
        err->code = AF_OK;
        err->msg[0] = '\0';
    }
}
