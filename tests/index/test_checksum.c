/* The chunked XXH3 digest is what checksum.h says it is (so another tool can recompute it),
 * and MD5 is MD5. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <xxhash.h>

#include "checksum.h"

static char path[] = "/tmp/af_checksum_XXXXXX";

static unsigned char *write_file(size_t n) {
    unsigned char *b = malloc(n ? n : 1);
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        b[i] = (unsigned char)x;
    }
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    fclose(f);
    return b;
}

/* The definition, written out: XXH3 of each 8 MiB chunk, then XXH3 of the little-endian
 * digests followed by the little-endian total size. */
static void reference_digest(const unsigned char *b, size_t n, char hex[17]) {
    size_t chunks = (n + AF_DIGEST_CHUNK_BYTES - 1) / AF_DIGEST_CHUNK_BYTES;
    unsigned char *words = malloc(8 * (chunks + 1));
    for (size_t c = 0; c < chunks; c++) {
        size_t off = c * AF_DIGEST_CHUNK_BYTES;
        size_t len = n - off < AF_DIGEST_CHUNK_BYTES ? n - off : AF_DIGEST_CHUNK_BYTES;
        uint64_t h = XXH3_64bits(b + off, len);
        for (int i = 0; i < 8; i++)
            words[8 * c + i] = (unsigned char)(h >> (8 * i));
    }
    for (int i = 0; i < 8; i++)
        words[8 * chunks + i] = (unsigned char)((uint64_t)n >> (8 * i));
    snprintf(hex, 17, "%016llx", (unsigned long long)XXH3_64bits(words, 8 * (chunks + 1)));
    free(words);
}

static void digest_matches_definition(size_t n) {
    unsigned char *b = write_file(n);
    char want[17], got[17];
    uint64_t size = 1;
    af_error err = {0};
    reference_digest(b, n, want);
    assert_int_equal(af_file_digest_serial(path, &size, got, &err), 0);
    assert_int_equal(size, n);
    assert_string_equal(got, want);
    free(b);
}

static void test_digest_sizes(void **state) {
    (void)state;
    digest_matches_definition(0);
    digest_matches_definition(1000);
    digest_matches_definition((size_t)AF_DIGEST_CHUNK_BYTES);
    digest_matches_definition((size_t)(2 * AF_DIGEST_CHUNK_BYTES + 12345));
}

static void test_digest_sees_one_byte(void **state) {
    (void)state;
    unsigned char *b = write_file(3 << 20);
    char a[17], c[17];
    uint64_t size;
    af_error err = {0};
    assert_int_equal(af_file_digest_serial(path, &size, a, &err), 0);
    b[123456] ^= 1;
    FILE *f = fopen(path, "wb");
    fwrite(b, 1, 3 << 20, f);
    fclose(f);
    assert_int_equal(af_file_digest_serial(path, &size, c, &err), 0);
    assert_string_not_equal(a, c);
    free(b);
}

static void test_chunk_past_end_fails(void **state) {
    (void)state;
    free(write_file(100));
    FILE *f = fopen(path, "rb");
    uint64_t h;
    af_error err = {0};
    assert_int_equal(af_chunk_xxh3(fileno(f), path, 50, 100, &h, &err), -1);
    assert_non_null(strstr(err.msg, "ended at byte 100"));
    fclose(f);
}

static void test_md5(void **state) {
    (void)state;
    FILE *f = fopen(path, "wb");
    fputs("abc", f);
    fclose(f);
    char hex[33];
    af_error err = {0};
    assert_int_equal(af_file_md5(path, hex, &err), 0);
    assert_string_equal(hex, "900150983cd24fb0d6963f7d28e17f72");
    assert_int_equal(af_file_md5("/nonexistent/af", hex, &err), -1);
    assert_non_null(strstr(err.msg, "/nonexistent/af"));
}

int main(void) {
    int fd = mkstemp(path);
    if (fd < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digest_sizes),
        cmocka_unit_test(test_digest_sees_one_byte),
        cmocka_unit_test(test_chunk_past_end_fails),
        cmocka_unit_test(test_md5),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    remove(path);
    return rc;
}
