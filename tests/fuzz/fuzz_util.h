/* Shared by the libFuzzer targets: an input as a NUL-terminated string (as af_read_small_file
 * hands text to the parsers), and the contract every parser keeps on failure. */
#ifndef AF_FUZZ_UTIL_H
#define AF_FUZZ_UTIL_H

#include "af_error.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline char *fuzz_text(const uint8_t *data, size_t size) {
    char *t = malloc(size + 1);
    if (!t)
        abort();
    memcpy(t, data, size);
    t[size] = '\0';
    return t;
}

/* A failure must carry an exit code and one non-empty, one-line message. */
static inline void fuzz_check_error(int rc, const af_error *err) {
    if (rc == 0)
        return;
    if (err->code == 0 || err->msg[0] == '\0' || strlen(err->msg) >= sizeof err->msg) {
        fprintf(stderr, "failure without a code or message (code %d)\n", err->code);
        abort();
    }
}

#endif
