#include "checksum.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <xxhash.h>

static void to_hex(const unsigned char *bytes, size_t n, char *out) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hash_stream(int fd, const char *path, XXH3_state_t *xx, EVP_MD_CTX *md, uint64_t *size,
                       af_error *err) {
    enum { chunk = 4 << 20 };
    unsigned char *buf = malloc(chunk);
    if (!buf)
        return af_fail(err, AF_E_INTERNAL, "out of memory hashing %s", path);
    int rc = 0;
    for (;;) {
        ssize_t n = read(fd, buf, chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = af_fail_errno(err, AF_E_INPUT, errno, "cannot read %s", path);
            break;
        }
        if (n == 0)
            break;
        XXH3_64bits_update(xx, buf, (size_t)n);
        EVP_DigestUpdate(md, buf, (size_t)n);
        *size += (uint64_t)n;
    }
    free(buf);
    return rc;
}

int af_file_checksums(const char *path, af_file_sums *out, af_error *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return af_fail_errno(err, AF_E_INPUT, errno, "cannot open %s", path);
    XXH3_state_t *xx = XXH3_createState();
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int rc = -1;
    out->size = 0;
    if (!xx || !md) {
        af_fail(err, AF_E_INTERNAL, "out of memory hashing %s", path);
    } else if (XXH3_64bits_reset(xx) == XXH_OK && EVP_DigestInit_ex(md, EVP_md5(), NULL) == 1 &&
               hash_stream(fd, path, xx, md, &out->size, err) == 0) {
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        EVP_DigestFinal_ex(md, digest, &len);
        to_hex(digest, len, out->md5);
        snprintf(out->xxh3, sizeof out->xxh3, "%016llx",
                 (unsigned long long)XXH3_64bits_digest(xx));
        rc = 0;
    }
    XXH3_freeState(xx);
    EVP_MD_CTX_free(md);
    close(fd);
    return rc;
}
