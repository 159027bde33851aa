/* `annforest info INDEX`: what an index's metadata says, as bigANNOY's print does, plus the
 * shard table. */
#ifndef AF_INDEX_INFO_H
#define AF_INDEX_INFO_H

#include "af_error.h"

#include <stdio.h>

/* Whether PATH is an index: PATH.meta exists beside it. */
int af_is_index_path(const char *path);

/* Print the metadata of index PATH (rank 0, no MPI). */
int af_index_print_info(const char *path, FILE *out, af_error *err);

#endif
