/* af_kernels: the distance kernels, in a portable version and AVX2 (with FMA) / AVX-512
 * versions chosen at run time. All versions add in the same order (16 partial sums, then a
 * fixed pairwise reduction, no multiply fused with an add), so they return bit-identical
 * results and an index does not depend on the CPU that built it. */
#ifndef AF_KERNELS_H
#define AF_KERNELS_H

#include <stdint.h>

typedef enum af_simd_level {
    AF_SIMD_PORTABLE = 0,
    AF_SIMD_AVX2 = 1,
    AF_SIMD_AVX512 = 2
} af_simd_level;

typedef struct af_kernels {
    float (*dot)(const float *x, const float *y, int n);
    float (*l2sq)(const float *x, const float *y, int n);             /* sum (x - y)^2 */
    float (*l1)(const float *x, const float *y, int n);               /* sum |x - y| */
    uint64_t (*hamming)(const uint64_t *x, const uint64_t *y, int n); /* differing bits */
    /* Two-means update: v = (v * count + y / norm) / (count + 1), element by element. */
    void (*pull)(float *v, const float *y, float norm, int n, int count);
    /* out[i] = dot(x, y[i]) for four vectors at once, each to the bit of dot(): four
     * independent chains of additions keep the units busy where one waits on its latency. */
    void (*dot4)(const float *x, const float *const y[4], int n, float out[4]);
    /* out[i] = kernel(x[i], y[i]) for four pairs at once, each to the bit of the single
     * kernel: the search ranks a block of queries, whose pairs share neither side. */
    void (*dot_pairs4)(const float *const x[4], const float *const y[4], int n, float out[4]);
    void (*l2sq_pairs4)(const float *const x[4], const float *const y[4], int n, float out[4]);
    void (*l1_pairs4)(const float *const x[4], const float *const y[4], int n, float out[4]);
    /* The same distances between 8-bit codes (the search's first pass, af_codes.h): exact
     * integers, so every version agrees whatever its order of additions. */
    uint64_t (*l2sq_u8)(const uint8_t *x, const uint8_t *y, int n);
    uint64_t (*l1_u8)(const uint8_t *x, const uint8_t *y, int n);
    af_simd_level level;
    const char *name;
} af_kernels;

/* The best set this CPU runs (environment AF_SIMD=portable|avx2|avx512 caps it). */
const af_kernels *af_kernels_best(void);
/* A given set, or NULL when this CPU cannot run it. */
const af_kernels *af_kernels_for(af_simd_level level);

#endif
