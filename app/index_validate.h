/* Validating an index: is the file the one its metadata describes, is the metadata itself
 * untouched, is the reference it was built from unchanged, and (strict) is every tree sound.
 *
 * The checks produce a table (check, passed, severity, detail). Cheap checks run on rank 0;
 * the checksums of the index and of the reference are computed by all ranks together, and the
 * strict tree walk gives each rank a block of shards, walked with its threads. */
#ifndef AF_INDEX_VALIDATE_H
#define AF_INDEX_VALIDATE_H

#include "af_error.h"

#include <stdio.h>

typedef enum af_severity { AF_SEV_ERROR = 0, AF_SEV_WARNING = 1 } af_severity;

typedef enum af_check_state {
    AF_CHECK_PASSED = 0,
    AF_CHECK_FAILED = 1,
    AF_CHECK_SKIPPED = 2 /* could not be run: an earlier check failed, or not asked for */
} af_check_state;

typedef struct af_check {
    const char *name;
    af_severity severity;
    af_check_state state;
    char detail[512];
} af_check;

#define AF_MAX_CHECKS 32

typedef struct af_validation {
    af_check check[AF_MAX_CHECKS];
    int n;
    char index_id[48];
} af_validation;

typedef struct af_validate_opts {
    const char *index_path;
    int strict;  /* also the MD5 and a walk of every tree */
    int load;    /* also map every shard the way an eager query does, timed */
    int threads; /* per rank */
} af_validate_opts;

/* Collective. Fills *out on rank 0 (other ranks get an empty table). Fails (-1, same message on
 * every rank) only when validation itself cannot run (memory, MPI); what is wrong with the index
 * goes into the table. */
int af_validate_index(const af_validate_opts *o, af_validation *out, af_error *err);

/* How many error-severity checks failed. */
int af_validation_errors(const af_validation *v);

/* The table, for people (fixed columns) - printed by rank 0. */
void af_validation_print(const af_validation *v, FILE *out);

#endif
