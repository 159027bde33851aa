/* af_kernels: portable kernels and the run-time choice of the best set for this CPU. */
#include "af_kernels.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "af_kernels_impl.h"

/* Pairwise reduction of the 16 partial sums, in the contract's order. */
static float reduce_lanes(float *acc) {
    for (int w = AF_KERNEL_LANES / 2; w >= 2; w /= 2)
        for (int j = 0; j < w; j++)
            acc[j] = acc[j] + acc[j + w];
    return acc[0] + acc[1];
}

float af_dot_portable(const float *x, const float *y, int n) {
    float acc[AF_KERNEL_LANES] = {0};
    for (int i = 0; i < n; i += AF_KERNEL_LANES) {
        int m = n - i < AF_KERNEL_LANES ? n - i : AF_KERNEL_LANES;
        for (int j = 0; j < m; j++)
            acc[j] = acc[j] + x[i + j] * y[i + j];
    }
    return reduce_lanes(acc);
}

float af_l2sq_portable(const float *x, const float *y, int n) {
    float acc[AF_KERNEL_LANES] = {0};
    for (int i = 0; i < n; i += AF_KERNEL_LANES) {
        int m = n - i < AF_KERNEL_LANES ? n - i : AF_KERNEL_LANES;
        for (int j = 0; j < m; j++) {
            float d = x[i + j] - y[i + j];
            acc[j] = acc[j] + d * d;
        }
    }
    return reduce_lanes(acc);
}

float af_l1_portable(const float *x, const float *y, int n) {
    float acc[AF_KERNEL_LANES] = {0};
    for (int i = 0; i < n; i += AF_KERNEL_LANES) {
        int m = n - i < AF_KERNEL_LANES ? n - i : AF_KERNEL_LANES;
        for (int j = 0; j < m; j++)
            acc[j] = acc[j] + fabsf(x[i + j] - y[i + j]);
    }
    return reduce_lanes(acc);
}

uint64_t af_hamming_portable(const uint64_t *x, const uint64_t *y, int n) {
    uint64_t bits = 0;
    for (int i = 0; i < n; i++)
        bits += (uint64_t)__builtin_popcountll(x[i] ^ y[i]);
    return bits;
}

void af_pull_portable(float *v, const float *y, float norm, int n, int count) {
    float c = (float)count, c1 = (float)(count + 1);
    for (int z = 0; z < n; z++)
        v[z] = (v[z] * c + y[z] / norm) / c1;
}

void af_dot4_portable(const float *x, const float *const y[4], int n, float out[4]) {
    for (int i = 0; i < 4; i++)
        out[i] = af_dot_portable(x, y[i], n);
}

void af_dot_pairs4_portable(const float *const x[4], const float *const y[4], int n, float out[4]) {
    for (int i = 0; i < 4; i++)
        out[i] = af_dot_portable(x[i], y[i], n);
}

void af_l2sq_pairs4_portable(const float *const x[4], const float *const y[4], int n,
                             float out[4]) {
    for (int i = 0; i < 4; i++)
        out[i] = af_l2sq_portable(x[i], y[i], n);
}

void af_l1_pairs4_portable(const float *const x[4], const float *const y[4], int n, float out[4]) {
    for (int i = 0; i < 4; i++)
        out[i] = af_l1_portable(x[i], y[i], n);
}

uint64_t af_l2sq_u8_portable(const uint8_t *x, const uint8_t *y, int n) {
    uint64_t sum = 0;
    for (int i = 0; i < n; i++) {
        int64_t d = (int64_t)x[i] - (int64_t)y[i];
        sum += (uint64_t)(d * d);
    }
    return sum;
}

uint64_t af_l1_u8_portable(const uint8_t *x, const uint8_t *y, int n) {
    uint64_t sum = 0;
    for (int i = 0; i < n; i++)
        sum += (uint64_t)(x[i] > y[i] ? x[i] - y[i] : y[i] - x[i]);
    return sum;
}

static const af_kernels portable = {af_dot_portable,
                                    af_l2sq_portable,
                                    af_l1_portable,
                                    af_hamming_portable,
                                    af_pull_portable,
                                    af_dot4_portable,
                                    af_dot_pairs4_portable,
                                    af_l2sq_pairs4_portable,
                                    af_l1_pairs4_portable,
                                    af_l2sq_u8_portable,
                                    af_l1_u8_portable,
                                    AF_SIMD_PORTABLE,
                                    "portable"};

const af_kernels *af_kernels_for(af_simd_level level) {
    __builtin_cpu_init();
    switch (level) {
    case AF_SIMD_PORTABLE:
        return &portable;
    case AF_SIMD_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                       __builtin_cpu_supports("popcnt")
                   ? &af_kernels_avx2
                   : NULL;
    case AF_SIMD_AVX512: /* F and BW (the 8-bit kernels): every AVX-512 CPU but Xeon Phi */
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                       __builtin_cpu_supports("popcnt")
                   ? &af_kernels_avx512
                   : NULL;
    }
    return NULL;
}

static const af_kernels *best;
static pthread_once_t best_once = PTHREAD_ONCE_INIT;

static void choose_best(void) {
    af_simd_level cap = AF_SIMD_AVX512;
    const char *env = getenv("AF_SIMD");
    if (env && strcmp(env, "portable") == 0)
        cap = AF_SIMD_PORTABLE;
    else if (env && strcmp(env, "avx2") == 0)
        cap = AF_SIMD_AVX2;
    best = &portable;
    for (int level = (int)cap; level > (int)AF_SIMD_PORTABLE; level--) {
        const af_kernels *k = af_kernels_for((af_simd_level)level);
        if (k) {
            best = k;
            break;
        }
    }
}

const af_kernels *af_kernels_best(void) {
    pthread_once(&best_once, choose_best);
    return best;
}
