/* Exhaustive check of the SIMD two-means update against the portable one (IEEE division), for
 * the division by count + 1 that the SIMD kernels compute without dividing (div_count8 in
 * core/af_kernels_x86.c). For every count from 1 to 255 and every SIMD kernel set this CPU runs,
 * it pulls a zero vector towards every float t of:
 *   [1, 2) and its negatives (every other normal t from 2^-100 up is one of these times a power
 *   of two, which scales each step of the division alike);
 *   the binade below the largest float, and [2^-100, 2^-92), both signs (the ends of that range);
 *   every bit pattern below 2^-100 and every infinity and NaN, both signs (the lanes the kernels
 *   hand to a division: this checks that they are picked out).
 * With v = 0 the update is (0 * count + t / 1) / (count + 1) = t / (count + 1), bit for bit.
 *
 *   gcc -std=c11 -O2 -fopenmp -Icore bench/check_pull_division.c build-bench/core/libaf_core.a \
 *       build-bench/core/libaf_base.a -lopenblas -lm -o check_pull_division &&
 * ./check_pull_division
 *
 * Prints the mismatches (none expected) and exits 1 if there is any. About a minute on 2 cores. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "af_kernels.h"

#define CHUNK (1 << 16)

/* Every `stride`-th bit pattern of [lo, hi), and the last, as floats through kernel k and IEEE
 * division; the mismatches. */
static long check_range(const af_kernels *k, uint64_t lo, uint64_t hi, uint64_t stride, int count,
                        float *t, float *got, float *want) {
    long bad = 0;
    const float c1 = (float)(count + 1);
    for (uint64_t at = lo; at < hi; at += CHUNK * stride) {
        int n = 0;
        for (uint64_t bits = at; bits < hi && n < CHUNK; bits += stride, n++) {
            uint32_t b32 = (uint32_t)bits;
            memcpy(&t[n], &b32, sizeof b32);
        }
        if (at + CHUNK * stride >= hi) { /* the range's last pattern (in the last slot if full) */
            uint32_t b32 = (uint32_t)(hi - 1);
            if (n == CHUNK)
                n--;
            memcpy(&t[n++], &b32, sizeof b32);
        }
        memset(got, 0, (size_t)n * sizeof *got);
        k->pull(got, t, 1.0f, n, count);
        for (int i = 0; i < n; i++) /* the portable update, with v = 0 (0 + -0 is +0) */
            want[i] = (0.0f * (float)count + t[i] / 1.0f) / c1;
        if (memcmp(got, want, (size_t)n * sizeof *got) == 0)
            continue;
        for (int i = 0; i < n; i++)
            if (memcmp(&got[i], &want[i], sizeof *got) && bad++ < 5)
                printf("%s: count %d, t %a: %a, IEEE division %a\n", k->name, count, t[i], got[i],
                       want[i]);
    }
    return bad;
}

int main(void) {
    /* {first, end, stride} bit patterns, positive; each is also checked with the sign bit set */
    const uint64_t ranges[][3] = {{0x3f800000u, 0x40000000u, 1},   /* [1, 2) */
                                  {0x7f000000u, 0x7f800000u, 1},   /* [2^127, largest] */
                                  {0x0d800000u, 0x0e800000u, 1},   /* [2^-100, 2^-98) */
                                  {0x00000000u, 0x0d800000u, 97},  /* 0, and below 2^-100 */
                                  {0x7f800000u, 0x80000000u, 97}}; /* infinity, NaNs */
    long bad = 0;
    int sets = 0;
    for (int level = AF_SIMD_AVX2; level <= AF_SIMD_AVX512; level++) {
        const af_kernels *k = af_kernels_for((af_simd_level)level);
        if (!k)
            continue;
        sets++;
#pragma omp parallel for schedule(dynamic, 1) reduction(+ : bad)
        for (int count = 1; count <= 255; count++) {
            float *t = malloc(CHUNK * sizeof *t), *got = malloc(CHUNK * sizeof *got),
                  *want = malloc(CHUNK * sizeof *want);
            for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++)
                for (uint64_t sign = 0; sign <= 0x80000000u; sign += 0x80000000u)
                    bad += check_range(k, ranges[r][0] + sign, ranges[r][1] + sign, ranges[r][2],
                                       count, t, got, want);
            free(t);
            free(got);
            free(want);
        }
        printf("%s: checked counts 1-255\n", k->name);
    }
    printf("%d SIMD set(s), %ld mismatch(es)\n", sets, bad);
    return bad || sets == 0;
}
