/* af_memory: aligned blocks with a huge-page hint. */
#include "af_memory.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HUGE_PAGE ((size_t)2 << 20)

void *af_alloc_large(size_t bytes) {
    if (bytes < HUGE_PAGE) /* not worth a page of its own */
        return malloc(bytes ? bytes : 1);
    size_t rounded = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
    void *p = aligned_alloc(HUGE_PAGE, rounded);
#ifdef MADV_HUGEPAGE
    if (p)
        (void)madvise(p, rounded, MADV_HUGEPAGE); /* a hint: refusal leaves small pages */
#endif
    return p;
}

void *af_realloc_large(void *p, size_t keep, size_t bytes) {
    void *q = af_alloc_large(bytes);
    if (!q)
        return NULL;
    if (p)
        memcpy(q, p, keep < bytes ? keep : bytes);
    free(p);
    return q;
}
