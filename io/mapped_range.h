/* Read-only mappings of one byte range of a file (a rank's shards of an index), page-aligned
 * underneath, with the file's size checked first so that no access can fault. */
#ifndef AF_MAPPED_RANGE_H
#define AF_MAPPED_RANGE_H

#include "af_error.h"

#include <stddef.h>
#include <stdint.h>

typedef struct af_mapped_range {
    void *addr;       /* what mmap returned */
    size_t len;       /* what was mapped */
    const void *data; /* the first byte asked for */
} af_mapped_range;

typedef enum af_map_load {
    AF_MAP_LAZY = 0,    /* pages come in as searches touch them */
    AF_MAP_EAGER = 1,   /* touch every page now (eager load) */
    AF_MAP_POPULATE = 2 /* let the kernel populate the mapping up front (MAP_POPULATE) */
} af_map_load;

/* Map [offset, offset + len) of PATH (fd open for reading; the file must hold it). */
int af_map_range(int fd, const char *path, uint64_t offset, uint64_t len, unsigned load_flags,
                 af_mapped_range *out, af_error *err);

void af_unmap_range(af_mapped_range *m);

#endif
