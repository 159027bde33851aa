#include "mapped_range.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int af_map_range(int fd, const char *path, uint64_t offset, uint64_t len, unsigned load_flags,
                 af_mapped_range *out, af_error *err) {
    memset(out, 0, sizeof *out);
    struct stat st;
    if (fstat(fd, &st) != 0)
        return af_fail_errno(err, AF_E_INPUT, errno, "cannot stat %s", path);
    if (offset > (uint64_t)st.st_size || len > (uint64_t)st.st_size - offset)
        return af_fail(err, AF_E_INPUT,
                       "%s is %lld bytes, too short for bytes %llu-%llu (truncated index?)", path,
                       (long long)st.st_size, (unsigned long long)offset,
                       (unsigned long long)(offset + len));
    if (len == 0)
        return 0;
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), start = offset / page * page;
    size_t map_len = (size_t)(offset + len - start);
    int flags = MAP_SHARED | ((load_flags & AF_MAP_POPULATE) ? MAP_POPULATE : 0);
    void *addr = mmap(NULL, map_len, PROT_READ, flags, fd, (off_t)start);
    if (addr == MAP_FAILED)
        return af_fail_errno(err, AF_E_INPUT, errno, "cannot map %s", path);
    /* Tree search jumps around: read-ahead would mostly fetch pages nobody asked for. */
    posix_madvise(addr, map_len,
                  (load_flags & AF_MAP_EAGER) ? POSIX_MADV_WILLNEED : POSIX_MADV_RANDOM);
    if (load_flags & AF_MAP_EAGER) {
        volatile unsigned char sink = 0;
        for (size_t at = 0; at < map_len; at += (size_t)page)
            sink ^= ((const unsigned char *)addr)[at];
        (void)sink;
    }
    out->addr = addr;
    out->len = map_len;
    out->data = (const unsigned char *)addr + (offset - start);
    return 0;
}

void af_unmap_range(af_mapped_range *m) {
    if (m->addr)
        munmap(m->addr, m->len);
    memset(m, 0, sizeof *m);
}
