/* A parser for the small subset of R's deparse/dput text that descriptor files hold:
 *   strings ("..." or '...' with R's escapes), integers (3L), doubles (1.5, 1e+05, -2, Inf,
 *   NaN, 0x1p3), TRUE/FALSE/T/F, NULL, NA and its typed forms, and calls such as c(...),
 *   list(...), structure(...), new(...), with optional named arguments (name = value, `name` =
 *   value, "name" = value).
 * It builds a tree; it evaluates nothing. */
#ifndef AF_RDPUT_H
#define AF_RDPUT_H

#include "af_error.h"

#include <stddef.h>
#include <stdint.h>

typedef enum af_rkind {
    AF_R_NULL = 1,
    AF_R_LOGICAL, /* lgl: 0 or 1 (unless is_na) */
    AF_R_INTEGER, /* num holds the value (3L) */
    AF_R_DOUBLE,  /* num */
    AF_R_STRING,  /* str */
    AF_R_CALL     /* fn(args...) */
} af_rkind;

typedef struct af_rnode {
    af_rkind kind;
    char *name; /* argument name, or NULL */
    int is_na;  /* NA, NA_integer_, NA_real_, NA_character_ */
    int lgl;
    double num;
    char *str;
    char *fn;
    struct af_rnode *args;
    size_t nargs;
    int line; /* 1-based line where the value starts */
} af_rnode;

/* Parse exactly one expression (surrounding white space allowed). `source` names the file in
 * error messages, which give the line. Returns a malloc'd tree or NULL. */
af_rnode *af_rdput_parse(const char *text, size_t len, const char *source, af_error *err);

/* Free a tree returned by af_rdput_parse. */
void af_rnode_free(af_rnode *root);

/* The argument of a call named `name`, or NULL. */
const af_rnode *af_rnode_arg(const af_rnode *call, const char *name);

/* Whether n is a call of `fn`. */
int af_rnode_is_call(const af_rnode *n, const char *fn);

/* A length-one atomic value: a scalar or c(scalar). NULL otherwise. */
const af_rnode *af_rnode_scalar(const af_rnode *n);

/* The i-th element of an atomic vector (a scalar, or c(...) of scalars); NULL when absent. */
const af_rnode *af_rnode_elem(const af_rnode *n, size_t i);
/* Length of an atomic vector (scalar 1, NULL 0, c(...) its arguments); -1 when not atomic. */
long af_rnode_length(const af_rnode *n);

#endif
