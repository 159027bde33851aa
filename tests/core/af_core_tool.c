/* af_core_tool: a test driver for the interop tests. Builds an index file from a raw row-major
 * matrix (float32, or uint64 words for hamming) the way the MPI layer lays it out (shard by
 * shard), and searches an Annoy index file or the matrix itself by brute force.
 *
 *   af_core_tool build  METRIC DIM ROWS.bin N SHARDS TREES SEED OUT.ann
 *   af_core_tool search METRIC DIM INDEX.ann QUERIES.bin NQ K SEARCH_K OUT.txt
 *   af_core_tool exact  METRIC DIM ROWS.bin N QUERIES.bin NQ K OUT.txt
 *   af_core_tool gen    METRIC DIM N SEED OUT.bin        (clustered test rows)
 * OUT.txt: one line per query, k ids (0-based, -1 missing) then k distances. search prints
 * "items N roots R" on stdout. */
#include <stdio.h>
#include <stdlib.h>

#include "af_exact.h"
#include "core_fixtures.h"

static void *read_file(const char *path, size_t want, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "af_core_tool: cannot open %s\n", path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (want && (size_t)len != want) {
        fprintf(stderr, "af_core_tool: %s has %ld bytes, expected %zu\n", path, len, want);
        exit(1);
    }
    void *buf = malloc(len ? (size_t)len : 1);
    if (fread(buf, 1, (size_t)len, f) != (size_t)len) {
        fprintf(stderr, "af_core_tool: cannot read %s\n", path);
        exit(1);
    }
    fclose(f);
    if (size)
        *size = (size_t)len;
    return buf;
}

static void write_results(const char *path, const af_neighbor *nb, int64_t nq, int k) {
    FILE *f = fopen(path, "w");
    for (int64_t q = 0; q < nq; q++) {
        for (int i = 0; i < k; i++)
            fprintf(f, "%lld ", (long long)nb[q * k + i].id);
        for (int i = 0; i < k; i++)
            fprintf(f, "%.9g%c", nb[q * k + i].dist, i + 1 < k ? ' ' : '\n');
    }
    fclose(f);
}

static int die(const af_error *err) {
    fprintf(stderr, "af_core_tool: %s\n", err->msg);
    return 1;
}

int main(int argc, char **argv) {
    af_metric m;
    af_error err = {0};
    if (argc < 4 || af_metric_parse(argv[2], &m) < 0) {
        fprintf(stderr, "usage: see the comment at the top of af_core_tool.c\n");
        return 2;
    }
    int dim = atoi(argv[3]);
    size_t row = (size_t)dim * af_metric_elem_size(m);
    if (strcmp(argv[1], "build") == 0 && argc == 10) {
        int64_t n = atoll(argv[5]);
        void *rows = read_file(argv[4], (size_t)n * row, NULL);
        af_build_params p = {0};
        p.metric = m;
        p.dim = dim;
        p.n_trees = atoi(argv[7]);
        p.seed = strtoull(argv[8], NULL, 10);
        fx_index ix;
        if (fx_build_index(&p, rows, n, atoi(argv[6]), &ix, &err) < 0)
            return die(&err);
        FILE *f = fopen(argv[9], "wb");
        if (!f || fwrite(ix.bytes, 1, ix.size, f) != ix.size || fclose(f) != 0) {
            fprintf(stderr, "af_core_tool: cannot write %s\n", argv[9]);
            return 1;
        }
        fx_index_free(&ix);
        free(rows);
        return 0;
    }
    if (strcmp(argv[1], "search") == 0 && argc == 10) {
        size_t size;
        void *bytes = read_file(argv[4], 0, &size);
        int64_t nq = atoll(argv[6]);
        int k = atoi(argv[7]);
        void *q = read_file(argv[5], (size_t)nq * row, NULL);
        af_index_view v;
        if (af_index_load_annoy(&v, m, AF_NODES_NARROW, dim, bytes, size, &err) < 0)
            return die(&err);
        printf("items %lld roots %lld\n", (long long)v.n_items, (long long)v.n_roots);
        af_neighbor *out = malloc((size_t)nq * k * sizeof *out);
        af_search_params sp = {k, atoll(argv[8]), 0};
        if (af_search(&v, q, nq, &sp, NULL, 0, out, &err) < 0)
            return die(&err);
        write_results(argv[9], out, nq, k);
        return 0;
    }
    if (strcmp(argv[1], "exact") == 0 && argc == 10) {
        int64_t n = atoll(argv[5]), nq = atoll(argv[7]);
        int k = atoi(argv[8]);
        void *rows = read_file(argv[4], (size_t)n * row, NULL);
        void *q = read_file(argv[6], (size_t)nq * row, NULL);
        af_neighbor *out = malloc((size_t)nq * k * sizeof *out);
        af_exact_params ep = {m, dim, k, 0};
        if (af_exact_knn(&ep, rows, n, 0, NULL, q, nq, NULL, out, &err) < 0)
            return die(&err);
        write_results(argv[9], out, nq, k);
        return 0;
    }
    if (strcmp(argv[1], "gen") == 0 && argc == 7) {
        int64_t n = atoll(argv[4]);
        void *rows = fx_data(m, n, dim, 10, strtoull(argv[5], NULL, 10));
        FILE *f = fopen(argv[6], "wb");
        if (!f || fwrite(rows, row, (size_t)n, f) != (size_t)n || fclose(f) != 0)
            return 1;
        free(rows);
        return 0;
    }
    fprintf(stderr, "af_core_tool: bad command line\n");
    return 2;
}
