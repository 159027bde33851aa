/* libFuzzer target: loading an Annoy index file from bytes and searching it, as `query` does for
 * an Annoy file made elsewhere. Byte 0 picks the metric (and, from 5 on, the wide node format),
 * byte 1 the dimension; the rest is the file. A damaged file must fail with a message - never
 * crash, loop or read outside it. */
#include "af_index.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2)
        return 0;
    static const af_metric metrics[] = {AF_EUCLIDEAN, AF_ANGULAR, AF_MANHATTAN, AF_DOT, AF_HAMMING};
    af_metric m = metrics[data[0] % 5];
    af_node_format f = data[0] % 10 < 5 ? AF_NODES_NARROW : AF_NODES_WIDE;
    int dim = 1 + data[1] % 16;
    size_t n = size - 2;
    /* mmap'd files are page-aligned: give the loader an 8-byte aligned copy, exactly n bytes
     * long so that ASan sees any read past the end. */
    void *bytes = NULL;
    if (n > 0 && posix_memalign(&bytes, 8, n) != 0)
        abort();
    if (n > 0)
        memcpy(bytes, data + 2, n);
    af_index_view v;
    af_error err = {0};
    int rc = af_index_load_annoy(&v, m, f, dim, bytes, n, &err);
    fuzz_check_error(rc, &err);
    if (rc == 0) {
        /* 32 queries take the grouped ranking, 2 the one-at-a-time one: when the 32 succeed,
         * so must the 2 (a subset), with the same answers */
        enum { n_query = 32, few = 2, k = 3 };
        uint64_t query[n_query * 16];
        for (size_t i = 0; i < sizeof query / sizeof query[0]; i++) {
            float two[2] = {1.0f + (float)(i % 7) * 0.25f, -0.5f * (float)(i / 16 % 5)};
            memcpy(&query[i], two, sizeof two);
            if (m == AF_HAMMING)
                query[i] = 0x5555555555555555ull * (i & 1) ^ (i / 16);
        }
        af_neighbor out[n_query * k], out_few[few * k];
        af_search_params p = {k, 64, 0};
        rc = af_search(&v, query, n_query, &p, NULL, 1, out, &err);
        fuzz_check_error(rc, &err);
        af_error err_few = {0};
        int rc_few = af_search(&v, query, few, &p, NULL, 1, out_few, &err_few);
        fuzz_check_error(rc_few, &err_few);
        if (rc == 0 && (rc_few != 0 || memcmp(out, out_few, sizeof out_few) != 0))
            abort();
        af_index_view_free(&v);
    }
    free(bytes);
    return 0;
}
