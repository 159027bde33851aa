/* DCF ("Debian control file") records, the `key: value` format R's read.dcf() reads: one field
 * per line, a value continued on following lines that start with whitespace. annforest writes
 * its index sidecar (INDEX.meta) in it, so R users can read the metadata without annforest. */
#ifndef AF_DCF_H
#define AF_DCF_H

#include "af_error.h"

#include <stddef.h>

typedef struct af_dcf_field {
    char *key;
    char *value;
    int line;
} af_dcf_field;

typedef struct af_dcf {
    af_dcf_field *fields;
    size_t count, cap;
} af_dcf;

/* Parse one record from text; `source` names the file in error messages. Keys must be
 * [A-Za-z0-9_.-]+, unique. */
int af_dcf_parse(const char *text, size_t len, const char *source, af_dcf *out, af_error *err);

/* NULL when absent. */
const char *af_dcf_get(const af_dcf *d, const char *key);

/* Append a field; the value must not contain a newline. Returns -1 when out of memory. */
int af_dcf_add(af_dcf *d, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* malloc'd text of the record, fields in insertion order. */
char *af_dcf_format(const af_dcf *d);

void af_dcf_free(af_dcf *d);

#endif
