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

/* Pages of our own (an anonymous mapping) for buffers that grow to hundreds of megabytes and are
 * then handed on or copied whole, such as a batch of trees' nodes:
 *  - they grow in place, or move without a copy (mremap);
 *  - a copy can give its source back as it goes (af_pages_release), so that the destination's
 *    page faults are served with the pages just freed. Fresh pages cost far more than the copy
 *    itself where the kernel must zero them, and more again on a virtual machine whose host
 *    backs them on first touch.
 * Sizes are in bytes (whole pages are taken); NULL when out of memory. */
void *af_pages_alloc(size_t bytes);
/* Grow or shrink to new_bytes, keeping the contents; NULL (p left as it was) on failure. */
void *af_pages_resize(void *p, size_t old_bytes, size_t new_bytes);
/* Ask for huge pages for p's pages when they are many (as af_alloc_large). */
void af_pages_hint_huge(void *p, size_t bytes);
/* Give back the whole pages inside bytes [from, to) of p: they read as zeros afterwards. */
void af_pages_release(void *p, size_t from, size_t to);
void af_pages_free(void *p, size_t bytes);

#endif
