/* af_memory: large arrays that are read at random (the search's compact copy).
 *
 * A random read into an array of hundreds of megabytes usually misses the TLB as well as the
 * cache, and on a virtual machine the page walk that follows costs as much as the miss. On 2 MiB
 * pages one TLB entry covers 512 times more, so such arrays ask the kernel for them (Linux
 * transparent huge pages, in "madvise" or "always" mode); where it declines, they are ordinary
 * memory. Released with free(). */
#ifndef AF_MEMORY_H
#define AF_MEMORY_H

#include <stddef.h>

void *af_alloc_large(size_t bytes);
/* af_alloc_large's realloc: the first `keep` bytes of p move to a new block of `bytes`. */
void *af_realloc_large(void *p, size_t keep, size_t bytes);

#endif
