#include "checksum.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

enum { READ_PIECE = 1 << 20 };

static void to_hex(const unsigned char *bytes, size_t n, char *out) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}

/* Read exactly len bytes at offset (pread, restarting on EINTR and short reads). */
static int read_exact(int fd, const char *path, unsigned char *buf, size_t len, uint64_t offset,
                      af_error *err) {
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(fd, buf + got, len - got, (off_t)(offset + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return af_fail_errno(err, AF_E_INPUT, errno, "cannot read %s", path);
        if (n == 0)
            return af_fail(err, AF_E_INPUT,
                           "%s ended at byte %llu while being read (changed or truncated?)", path,
                           (unsigned long long)(offset + got));
        got += (size_t)n;
    }
    return 0;
}

int af_chunk_xxh3(int fd, const char *path, uint64_t offset, uint64_t len, uint64_t *out,
                  af_error *err) {
    unsigned char *buf = malloc(READ_PIECE);
    if (!buf)
        return af_fail(err, AF_E_INTERNAL, "out of memory hashing %s", path);
    XXH3_state_t st;
    XXH3_64bits_reset(&st);
    int rc = 0;
    for (uint64_t done = 0; rc == 0 && done < len;) {
        size_t n = len - done < READ_PIECE ? (size_t)(len - done) : READ_PIECE;
        rc = read_exact(fd, path, buf, n, offset + done, err);
        if (rc == 0)
            XXH3_64bits_update(&st, buf, n);
        done += n;
    }
    if (rc == 0)
        *out = XXH3_64bits_digest(&st);
    free(buf);
    return rc;
}

static void put_le64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

void af_digest_combine(const uint64_t *chunk_digests, size_t n, uint64_t total_bytes,
                       char hex[17]) {
    XXH3_state_t st;
    unsigned char word[8];
    XXH3_64bits_reset(&st);
    for (size_t i = 0; i < n; i++) {
        put_le64(word, chunk_digests[i]);
        XXH3_64bits_update(&st, word, 8);
    }
    put_le64(word, total_bytes);
    XXH3_64bits_update(&st, word, 8);
    snprintf(hex, 17, "%016llx", (unsigned long long)XXH3_64bits_digest(&st));
}

int af_file_digest_serial(const char *path, uint64_t *size, char hex[17], af_error *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return af_fail_errno(err, AF_E_INPUT, errno, "cannot open %s", path);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return af_fail_errno(err, AF_E_INPUT, e, "cannot stat %s", path);
    }
    uint64_t bytes = (uint64_t)st.st_size;
    size_t n = (size_t)((bytes + AF_DIGEST_CHUNK_BYTES - 1) / AF_DIGEST_CHUNK_BYTES);
    uint64_t *digests = malloc((n ? n : 1) * sizeof *digests);
    int rc = digests ? 0 : af_fail(err, AF_E_INTERNAL, "out of memory hashing %s", path);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        uint64_t off = (uint64_t)i * AF_DIGEST_CHUNK_BYTES;
        uint64_t len = bytes - off < AF_DIGEST_CHUNK_BYTES ? bytes - off : AF_DIGEST_CHUNK_BYTES;
        rc = af_chunk_xxh3(fd, path, off, len, &digests[i], err);
    }
    if (rc == 0) {
        af_digest_combine(digests, n, bytes, hex);
        *size = bytes;
    }
    free(digests);
    close(fd);
    return rc;
}

int af_file_md5(const char *path, char hex[33], af_error *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return af_fail_errno(err, AF_E_INPUT, errno, "cannot open %s", path);
    enum { chunk = 4 << 20 };
    unsigned char *buf = malloc(chunk);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int rc = 0;
    if (!buf || !md || EVP_DigestInit_ex(md, EVP_md5(), NULL) != 1)
        rc = af_fail(err, AF_E_INTERNAL, "out of memory hashing %s", path);
    while (rc == 0) {
        ssize_t n = read(fd, buf, chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = af_fail_errno(err, AF_E_INPUT, errno, "cannot read %s", path);
        if (n <= 0)
            break;
        EVP_DigestUpdate(md, buf, (size_t)n);
    }
    if (rc == 0) {
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        EVP_DigestFinal_ex(md, digest, &len);
        to_hex(digest, len, hex);
    }
    EVP_MD_CTX_free(md);
    free(buf);
    close(fd);
    return rc;
}
