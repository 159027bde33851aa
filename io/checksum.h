/* Checksums of whole files: XXH3-64 (fast; index ids and integrity checks) and MD5 (the
 * file_md5 field bigANNOY users expect), computed in one streaming pass. */
#ifndef AF_CHECKSUM_H
#define AF_CHECKSUM_H

#include "af_error.h"

#include <stdint.h>

typedef struct af_file_sums {
    uint64_t size;
    char xxh3[17]; /* 16 hex digits */
    char md5[33];  /* 32 hex digits */
} af_file_sums;

int af_file_checksums(const char *path, af_file_sums *out, af_error *err);

#endif
