/* bench_common: what both benchmark drivers (core_bench.c, annoy_bench.cc) share, so that they
 * load the same data and score recall the same way: raw row-major float32 files, a monotonic
 * clock, and recall@k by distance (ann-benchmarks' rule: a returned id counts when its true
 * distance is within the k-th true distance, so ties at the k-th place do not cost recall).
 * Distances for scoring are recomputed here in double from the raw vectors, never taken from
 * the tool under test. Plain C, includable from C++. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline void bench_die(const char *what, const char *path) {
    fprintf(stderr, "bench: %s: %s\n", path, what);
    exit(1);
}

/* Read exactly `bytes` bytes of the file (which must hold at least that many). */
static inline void *bench_read_file(const char *path, size_t bytes) {
    FILE *f = fopen(path, "rb");
    if (!f)
        bench_die("cannot open", path);
    void *buf = malloc(bytes ? bytes : 1);
    if (!buf)
        bench_die("out of memory", path);
    if (fread(buf, 1, bytes, f) != bytes)
        bench_die("too short for the shape given", path);
    fclose(f);
    return buf;
}

static inline void bench_write_file(const char *path, const void *buf, size_t bytes) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, bytes, f) != bytes || fclose(f) != 0)
        bench_die("cannot write", path);
}

static inline float *bench_read_f32(const char *path, int64_t rows, int dim) {
    return (float *)bench_read_file(path, (size_t)rows * (size_t)dim * sizeof(float));
}

/* Squared L2 distance in double. */
static inline double bench_l2sq(const float *a, const float *b, int dim) {
    double s = 0;
    for (int i = 0; i < dim; i++) {
        double d = (double)a[i] - (double)b[i];
        s += d * d;
    }
    return s;
}

/* Recall@k of one query's answer (k ids, -1 = missing) against its true k-th distance. */
static inline double bench_recall_one(const float *train, int dim, const float *query,
                                      const int64_t *ids, int k, double kth_true_sq) {
    double limit = kth_true_sq * (1.0 + 1e-9) + 1e-9;
    int hits = 0;
    for (int j = 0; j < k; j++)
        if (ids[j] >= 0 && bench_l2sq(train + (size_t)ids[j] * dim, query, dim) <= limit)
            hits++;
    return (double)hits / k;
}

/* The true k-th squared distance of each of the first nq queries, from ground-truth ids
 * (gt: int32, gt_k per query, best first). */
static inline double *bench_kth_true(const float *train, const float *queries, int dim,
                                     const int32_t *gt, int gt_k, int64_t nq, int k) {
    double *kth = (double *)malloc((size_t)nq * sizeof(double));
    if (!kth)
        bench_die("out of memory", "ground truth");
    for (int64_t q = 0; q < nq; q++) {
        double worst = 0;
        for (int j = 0; j < k; j++) {
            double d = bench_l2sq(train + (size_t)gt[q * gt_k + j] * dim, queries + q * dim, dim);
            worst = d > worst ? d : worst;
        }
        kth[q] = worst;
    }
    return kth;
}

/* "a,b,c" -> up to max integers; returns how many. */
static inline int bench_parse_list(const char *s, int64_t *out, int max) {
    int n = 0;
    while (*s && n < max) {
        char *end;
        long long v = strtoll(s, &end, 10);
        if (end == s)
            bench_die("not a comma-separated list of integers", s);
        out[n++] = v;
        s = *end == ',' ? end + 1 : end;
    }
    return n;
}

#endif
