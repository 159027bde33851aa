/* af_memory: aligned blocks with a huge-page hint, and pages of our own (af_pages_*). */
#include "af_memory.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define HUGE_PAGE ((size_t)2 << 20)
/* Below this an array takes small pages: the TLB covers it well enough (its second level holds
 * thousands of entries), and rounding up to whole huge pages would add up to 2 MiB to it. */
#define HUGE_PAGES_FROM (16 * HUGE_PAGE)

void *af_alloc_large(size_t bytes) {
    if (bytes < HUGE_PAGES_FROM)
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

static size_t page_size(void) {
    static size_t size;
    if (!size) {
        long got = sysconf(_SC_PAGESIZE);
        size = got > 0 ? (size_t)got : 4096;
    }
    return size;
}

/* At least one page: a mapping of zero bytes does not exist. */
static size_t whole_pages(size_t bytes) {
    size_t ps = page_size();
    return bytes ? (bytes + ps - 1) / ps * ps : ps;
}

void *af_pages_alloc(size_t bytes) {
    void *p =
        mmap(NULL, whole_pages(bytes), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void *af_pages_resize(void *p, size_t old_bytes, size_t new_bytes) {
    if (!p)
        return af_pages_alloc(new_bytes);
    size_t from = whole_pages(old_bytes), to = whole_pages(new_bytes);
    if (from == to)
        return p;
#ifdef MREMAP_MAYMOVE
    void *q = mremap(p, from, to, MREMAP_MAYMOVE);
    return q == MAP_FAILED ? NULL : q;
#else
    void *q = af_pages_alloc(new_bytes);
    if (q) {
        memcpy(q, p, from < to ? from : to);
        af_pages_free(p, old_bytes);
    }
    return q;
#endif
}

void af_pages_hint_huge(void *p, size_t bytes) {
#ifdef MADV_HUGEPAGE
    /* a hint: refusal leaves small pages */
    if (p && bytes >= HUGE_PAGES_FROM)
        (void)madvise(p, whole_pages(bytes), MADV_HUGEPAGE);
#else
    (void)p;
    (void)bytes;
#endif
}

void af_pages_release(void *p, size_t from, size_t to) {
    if (!p)
        return;
    size_t ps = page_size();
    uintptr_t base = (uintptr_t)p, lo = (base + from + ps - 1) / ps * ps,
              hi = (base + to) / ps * ps;
    if (from < to && lo < hi)
        (void)madvise((void *)lo, hi - lo, MADV_DONTNEED); /* a hint: refusal keeps them */
}

void af_pages_free(void *p, size_t bytes) {
    if (p)
        munmap(p, whole_pages(bytes));
}
