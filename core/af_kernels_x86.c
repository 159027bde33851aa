/* af_kernels_x86: AVX2 and AVX-512 kernels, compiled through target attributes so the build
 * needs no -march flag; af_kernels_for() only hands them out when the CPU has the features.
 * They keep the portable kernels' order of additions (af_kernels_impl.h) and fuse no multiply
 * with an add, so every set returns the same bits; the one fused multiply-add, in the
 * two-means division (div_count8), computes an exact remainder. */
#include <immintrin.h>
#include <stdint.h>

#include "af_kernels_impl.h"

#define AVX2 __attribute__((target("avx2,fma,popcnt")))
#define AVX512 __attribute__((target("avx512f,avx512bw,avx2,popcnt")))

/* ---- AVX2: partial sums 0-7 in lo, 8-15 in hi. ---- */

/* Lanes i < m of the 8 starting at p, zeros elsewhere. */
AVX2 static inline __m256 load8_masked(const float *p, int m) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(m), lane);
    return _mm256_maskload_ps(p, mask);
}

/* Sums 0-7 plus 8-15 are in s: finish the fixed reduction. */
AVX2 static inline float reduce8(__m256 s) {
    __m128 four = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    __m128 two = _mm_add_ps(four, _mm_movehl_ps(four, four));
    __m128 one = _mm_add_ss(two, _mm_shuffle_ps(two, two, 0x55));
    return _mm_cvtss_f32(one);
}

#define AVX2_KERNEL(NAME, TERM)                                                                    \
    AVX2 static float NAME(const float *x, const float *y, int n) {                                \
        __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();                                 \
        int i = 0;                                                                                 \
        for (; i + 16 <= n; i += 16) {                                                             \
            lo = _mm256_add_ps(lo, TERM(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));          \
            hi = _mm256_add_ps(hi, TERM(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8)));  \
        }                                                                                          \
        int m = n - i;                                                                             \
        if (m > 0) {                                                                               \
            lo = _mm256_add_ps(lo, TERM(load8_masked(x + i, m), load8_masked(y + i, m)));          \
            if (m > 8)                                                                             \
                hi = _mm256_add_ps(                                                                \
                    hi, TERM(load8_masked(x + i + 8, m - 8), load8_masked(y + i + 8, m - 8)));     \
        }                                                                                          \
        return reduce8(_mm256_add_ps(lo, hi));                                                     \
    }

AVX2 static inline __m256 term_dot8(__m256 a, __m256 b) {
    return _mm256_mul_ps(a, b);
}
AVX2 static inline __m256 term_l2_8(__m256 a, __m256 b) {
    __m256 d = _mm256_sub_ps(a, b);
    return _mm256_mul_ps(d, d);
}
AVX2 static inline __m256 term_l1_8(__m256 a, __m256 b) {
    return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), _mm256_sub_ps(a, b));
}

AVX2_KERNEL(dot_avx2, term_dot8)
AVX2_KERNEL(l2sq_avx2, term_l2_8)
AVX2_KERNEL(l1_avx2, term_l1_8)

AVX2 static uint64_t hamming_popcnt(const uint64_t *x, const uint64_t *y, int n) {
    uint64_t a = 0, b = 0;
    int i = 0;
    for (; i + 2 <= n; i += 2) {
        a += (uint64_t)__builtin_popcountll(x[i] ^ y[i]);
        b += (uint64_t)__builtin_popcountll(x[i + 1] ^ y[i + 1]);
    }
    if (i < n)
        a += (uint64_t)__builtin_popcountll(x[i] ^ y[i]);
    return a + b;
}

/* t / c1, correctly rounded, for a whole number c1 = count + 1 <= DIVISOR_MAX, without a
 * division (10-20 cycles a vector; two-means divides at every step, by its step count, at most
 * 201): q0 = t * r with r the float reciprocal of c1 is within an ulp or so of t / c1; the
 * remainder e = q0 * c1 - t is exact in one fused multiply-add (a multiple of q0's ulp, and
 * small); q0 - e * r, rounded once, is then the correctly rounded quotient. That last step is
 * the classic division correction (Markstein), checked here exhaustively rather than taken on
 * trust: bench/check_pull_division.c compares it with IEEE division for every c1 up to
 * DIVISOR_MAX and every float t of [1, 2), of the binade below the largest float, and of
 * [2^-100, 2^-98), both signs. Every other t from 2^-100 up is one of those times a power of
 * two, which scales every step alike. Below 2^-100 (results near the subnormals, where rounding
 * loses bits and the scaling argument ends), and for infinities and NaNs, the lanes divide. */
#define DIVISOR_MAX 256
#define TINY_BITS 0x0d800000u     /* 2^-100 */
#define INFINITY_BITS 0x7f800000u /* the smallest exponent field of infinities and NaNs */

AVX2 static inline __m256 div_count8(__m256 t, __m256 c1, __m256 r) {
    __m256 q0 = _mm256_mul_ps(t, r);
    __m256 q = _mm256_fnmadd_ps(_mm256_fmsub_ps(q0, c1, t), r, q0);
    /* lanes whose |t| is in (0, 2^-100) or not finite: compare magnitudes as integers */
    __m256i mag = _mm256_and_si256(_mm256_castps_si256(t), _mm256_set1_epi32(0x7fffffff));
    __m256i tiny = _mm256_andnot_si256(_mm256_cmpeq_epi32(mag, _mm256_setzero_si256()),
                                       _mm256_cmpgt_epi32(_mm256_set1_epi32((int)TINY_BITS), mag));
    __m256i wild = _mm256_cmpgt_epi32(mag, _mm256_set1_epi32((int)INFINITY_BITS - 1));
    __m256 odd = _mm256_castsi256_ps(_mm256_or_si256(tiny, wild));
    if (_mm256_movemask_ps(odd))
        q = _mm256_blendv_ps(q, _mm256_div_ps(t, c1), odd);
    return q;
}

/* Each element by itself (IEEE-exact operations), so any width gives the same bits. */
AVX2 static void pull_avx2(float *v, const float *y, float norm, int n, int count) {
    if (count < 1 || count + 1 > DIVISOR_MAX) {
        af_pull_portable(v, y, norm, n, count);
        return;
    }
    __m256 c = _mm256_set1_ps((float)count);
    __m256 c1 = _mm256_set1_ps((float)(count + 1)), r = _mm256_set1_ps(1.0f / (float)(count + 1));
    __m256 nv = _mm256_set1_ps(norm);
    int z = 0;
    if (norm == 1.0f) /* y / 1 is y exactly: one division less (Minkowski metrics) */
        for (; z + 8 <= n; z += 8) {
            __m256 t =
                _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(v + z), c), _mm256_loadu_ps(y + z));
            _mm256_storeu_ps(v + z, div_count8(t, c1, r));
        }
    for (; z + 8 <= n; z += 8) {
        __m256 t = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(v + z), c),
                                 _mm256_div_ps(_mm256_loadu_ps(y + z), nv));
        _mm256_storeu_ps(v + z, div_count8(t, c1, r));
    }
    af_pull_portable(v + z, y + z, norm, n - z, count);
}

/* Four pairs, each in the single kernel's order (four independent chains). XS declares the
 * first operand, X(r) names pair r's: one vector shared by the four (ONE_X), or one per pair
 * (PAIR_X). */
#define ONE_X(r) x
#define PAIR_X(r) x[r]
#define AVX2_KERNEL4(NAME, TERM, XS, X)                                                            \
    AVX2 static void NAME(XS, const float *const y[4], int n, float out[4]) {                      \
        __m256 lo[4], hi[4];                                                                       \
        for (int r = 0; r < 4; r++)                                                                \
            lo[r] = hi[r] = _mm256_setzero_ps();                                                   \
        int i = 0;                                                                                 \
        for (; i + 16 <= n; i += 16)                                                               \
            for (int r = 0; r < 4; r++) {                                                          \
                lo[r] = _mm256_add_ps(lo[r],                                                       \
                                      TERM(_mm256_loadu_ps(X(r) + i), _mm256_loadu_ps(y[r] + i))); \
                hi[r] = _mm256_add_ps(                                                             \
                    hi[r], TERM(_mm256_loadu_ps(X(r) + i + 8), _mm256_loadu_ps(y[r] + i + 8)));    \
            }                                                                                      \
        int m = n - i;                                                                             \
        if (m > 0)                                                                                 \
            for (int r = 0; r < 4; r++) {                                                          \
                lo[r] = _mm256_add_ps(lo[r],                                                       \
                                      TERM(load8_masked(X(r) + i, m), load8_masked(y[r] + i, m))); \
                if (m > 8)                                                                         \
                    hi[r] = _mm256_add_ps(hi[r], TERM(load8_masked(X(r) + i + 8, m - 8),           \
                                                      load8_masked(y[r] + i + 8, m - 8)));         \
            }                                                                                      \
        for (int r = 0; r < 4; r++)                                                                \
            out[r] = reduce8(_mm256_add_ps(lo[r], hi[r]));                                         \
    }

AVX2_KERNEL4(dot4_avx2, term_dot8, const float *x, ONE_X)
AVX2_KERNEL4(dot_pairs4_avx2, term_dot8, const float *const x[4], PAIR_X)
AVX2_KERNEL4(l2sq_pairs4_avx2, term_l2_8, const float *const x[4], PAIR_X)
AVX2_KERNEL4(l1_pairs4_avx2, term_l1_8, const float *const x[4], PAIR_X)

/* ---- 8-bit codes: exact integer sums ---- */

/* Sum of (x - y)^2: 16 codes widened to 16 bits per step, squared and paired into 32-bit lanes
 * (madd); the lanes are emptied into 64 bits every 4096 steps, before they could overflow. */
AVX2 static uint64_t l2sq_u8_avx2(const uint8_t *x, const uint8_t *y, int n) {
    uint64_t total = 0;
    int i = 0;
    while (i + 16 <= n) {
        __m256i acc = _mm256_setzero_si256();
        for (int steps = 0; steps < 4096 && i + 16 <= n; steps++, i += 16) {
            __m256i a = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(x + i)));
            __m256i b = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(y + i)));
            __m256i d = _mm256_sub_epi16(a, b);
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(d, d));
        }
        uint32_t lanes[8];
        _mm256_storeu_si256((__m256i *)lanes, acc);
        for (int j = 0; j < 8; j++)
            total += lanes[j];
    }
    return total + af_l2sq_u8_portable(x + i, y + i, n - i);
}

/* Sum of |x - y|: the sum-of-absolute-differences instruction, 32 codes per step into four
 * 64-bit lanes. */
AVX2 static uint64_t l1_u8_avx2(const uint8_t *x, const uint8_t *y, int n) {
    __m256i acc = _mm256_setzero_si256();
    int i = 0;
    for (; i + 32 <= n; i += 32)
        acc = _mm256_add_epi64(acc, _mm256_sad_epu8(_mm256_loadu_si256((const __m256i *)(x + i)),
                                                    _mm256_loadu_si256((const __m256i *)(y + i))));
    uint64_t lanes[4];
    _mm256_storeu_si256((__m256i *)lanes, acc);
    return lanes[0] + lanes[1] + lanes[2] + lanes[3] + af_l1_u8_portable(x + i, y + i, n - i);
}

const af_kernels af_kernels_avx2 = {dot_avx2,       l2sq_avx2,    l1_avx2,         hamming_popcnt,
                                    pull_avx2,      dot4_avx2,    dot_pairs4_avx2, l2sq_pairs4_avx2,
                                    l1_pairs4_avx2, l2sq_u8_avx2, l1_u8_avx2,      AF_SIMD_AVX2,
                                    "avx2"};

/* ---- AVX-512: all 16 partial sums in one register. ---- */

AVX512 static inline float reduce16(__m512 s) {
    __m256 lo = _mm512_castps512_ps256(s);
    __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(s), 1));
    __m256 eight = _mm256_add_ps(lo, hi);
    __m128 four = _mm_add_ps(_mm256_castps256_ps128(eight), _mm256_extractf128_ps(eight, 1));
    __m128 two = _mm_add_ps(four, _mm_movehl_ps(four, four));
    __m128 one = _mm_add_ss(two, _mm_shuffle_ps(two, two, 0x55));
    return _mm_cvtss_f32(one);
}

#define AVX512_KERNEL(NAME, TERM)                                                                  \
    AVX512 static float NAME(const float *x, const float *y, int n) {                              \
        __m512 acc = _mm512_setzero_ps();                                                          \
        int i = 0;                                                                                 \
        for (; i + 16 <= n; i += 16)                                                               \
            acc = _mm512_add_ps(acc, TERM(_mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));        \
        int m = n - i;                                                                             \
        if (m > 0) {                                                                               \
            __mmask16 k = (__mmask16)((1u << m) - 1u);                                             \
            acc = _mm512_add_ps(                                                                   \
                acc, TERM(_mm512_maskz_loadu_ps(k, x + i), _mm512_maskz_loadu_ps(k, y + i)));      \
        }                                                                                          \
        return reduce16(acc);                                                                      \
    }

AVX512 static inline __m512 term_dot16(__m512 a, __m512 b) {
    return _mm512_mul_ps(a, b);
}
AVX512 static inline __m512 term_l2_16(__m512 a, __m512 b) {
    __m512 d = _mm512_sub_ps(a, b);
    return _mm512_mul_ps(d, d);
}
AVX512 static inline __m512 term_l1_16(__m512 a, __m512 b) {
    return _mm512_castsi512_ps(
        _mm512_and_si512(_mm512_castps_si512(_mm512_sub_ps(a, b)), _mm512_set1_epi32(0x7fffffff)));
}

AVX512_KERNEL(dot_avx512, term_dot16)
AVX512_KERNEL(l2sq_avx512, term_l2_16)
AVX512_KERNEL(l1_avx512, term_l1_16)

/* As div_count8. */
AVX512 static inline __m512 div_count16(__m512 t, __m512 c1, __m512 r) {
    __m512 q0 = _mm512_mul_ps(t, r);
    __m512 q = _mm512_fnmadd_ps(_mm512_fmsub_ps(q0, c1, t), r, q0);
    __m512i mag = _mm512_and_si512(_mm512_castps_si512(t), _mm512_set1_epi32(0x7fffffff));
    __mmask16 odd = _mm512_cmplt_epu32_mask(_mm512_sub_epi32(mag, _mm512_set1_epi32(1)),
                                            _mm512_set1_epi32((int)(TINY_BITS - 1))) |
                    _mm512_cmpge_epu32_mask(mag, _mm512_set1_epi32((int)INFINITY_BITS));
    if (odd)
        q = _mm512_mask_div_ps(q, odd, t, c1);
    return q;
}

/* As pull_avx2. */
AVX512 static void pull_avx512(float *v, const float *y, float norm, int n, int count) {
    if (count < 1 || count + 1 > DIVISOR_MAX) {
        af_pull_portable(v, y, norm, n, count);
        return;
    }
    __m512 c = _mm512_set1_ps((float)count);
    __m512 c1 = _mm512_set1_ps((float)(count + 1)), r = _mm512_set1_ps(1.0f / (float)(count + 1));
    __m512 nv = _mm512_set1_ps(norm);
    int z = 0;
    if (norm == 1.0f) /* y / 1 is y exactly: one division less (Minkowski metrics) */
        for (; z + 16 <= n; z += 16) {
            __m512 t =
                _mm512_add_ps(_mm512_mul_ps(_mm512_loadu_ps(v + z), c), _mm512_loadu_ps(y + z));
            _mm512_storeu_ps(v + z, div_count16(t, c1, r));
        }
    for (; z + 16 <= n; z += 16) {
        __m512 t = _mm512_add_ps(_mm512_mul_ps(_mm512_loadu_ps(v + z), c),
                                 _mm512_div_ps(_mm512_loadu_ps(y + z), nv));
        _mm512_storeu_ps(v + z, div_count16(t, c1, r));
    }
    if (z < n) {
        __mmask16 k = (__mmask16)((1u << (n - z)) - 1u);
        __m512 t = _mm512_add_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(k, v + z), c),
                                 _mm512_div_ps(_mm512_maskz_loadu_ps(k, y + z), nv));
        _mm512_mask_storeu_ps(v + z, k, div_count16(t, c1, r));
    }
}

/* As AVX2_KERNEL4, one register per pair. */
#define AVX512_KERNEL4(NAME, TERM, XS, X)                                                          \
    AVX512 static void NAME(XS, const float *const y[4], int n, float out[4]) {                    \
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;                                \
        int i = 0;                                                                                 \
        for (; i + 16 <= n; i += 16) {                                                             \
            a0 = _mm512_add_ps(a0, TERM(_mm512_loadu_ps(X(0) + i), _mm512_loadu_ps(y[0] + i)));    \
            a1 = _mm512_add_ps(a1, TERM(_mm512_loadu_ps(X(1) + i), _mm512_loadu_ps(y[1] + i)));    \
            a2 = _mm512_add_ps(a2, TERM(_mm512_loadu_ps(X(2) + i), _mm512_loadu_ps(y[2] + i)));    \
            a3 = _mm512_add_ps(a3, TERM(_mm512_loadu_ps(X(3) + i), _mm512_loadu_ps(y[3] + i)));    \
        }                                                                                          \
        int m = n - i;                                                                             \
        if (m > 0) {                                                                               \
            __mmask16 k = (__mmask16)((1u << m) - 1u);                                             \
            a0 = _mm512_add_ps(                                                                    \
                a0, TERM(_mm512_maskz_loadu_ps(k, X(0) + i), _mm512_maskz_loadu_ps(k, y[0] + i))); \
            a1 = _mm512_add_ps(                                                                    \
                a1, TERM(_mm512_maskz_loadu_ps(k, X(1) + i), _mm512_maskz_loadu_ps(k, y[1] + i))); \
            a2 = _mm512_add_ps(                                                                    \
                a2, TERM(_mm512_maskz_loadu_ps(k, X(2) + i), _mm512_maskz_loadu_ps(k, y[2] + i))); \
            a3 = _mm512_add_ps(                                                                    \
                a3, TERM(_mm512_maskz_loadu_ps(k, X(3) + i), _mm512_maskz_loadu_ps(k, y[3] + i))); \
        }                                                                                          \
        out[0] = reduce16(a0);                                                                     \
        out[1] = reduce16(a1);                                                                     \
        out[2] = reduce16(a2);                                                                     \
        out[3] = reduce16(a3);                                                                     \
    }

AVX512_KERNEL4(dot4_avx512, term_dot16, const float *x, ONE_X)
AVX512_KERNEL4(dot_pairs4_avx512, term_dot16, const float *const x[4], PAIR_X)
AVX512_KERNEL4(l2sq_pairs4_avx512, term_l2_16, const float *const x[4], PAIR_X)
AVX512_KERNEL4(l1_pairs4_avx512, term_l1_16, const float *const x[4], PAIR_X)

/* ---- 8-bit codes, twice the width of AVX2's (the grouped rerank reads them from L2, where
 * their arithmetic, not memory, sets the pace) ---- */

/* As l2sq_u8_avx2, 32 codes per step. */
AVX512 static uint64_t l2sq_u8_avx512(const uint8_t *x, const uint8_t *y, int n) {
    uint64_t total = 0;
    int i = 0;
    while (i + 32 <= n) {
        __m512i acc = _mm512_setzero_si512();
        for (int steps = 0; steps < 4096 && i + 32 <= n; steps++, i += 32) {
            __m512i a = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(x + i)));
            __m512i b = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(y + i)));
            __m512i d = _mm512_sub_epi16(a, b);
            acc = _mm512_add_epi32(acc, _mm512_madd_epi16(d, d));
        }
        uint32_t lanes[16];
        _mm512_storeu_si512(lanes, acc);
        for (int j = 0; j < 16; j++)
            total += lanes[j];
    }
    return total + af_l2sq_u8_portable(x + i, y + i, n - i);
}

/* As l1_u8_avx2, 64 codes per step into eight 64-bit lanes. */
AVX512 static uint64_t l1_u8_avx512(const uint8_t *x, const uint8_t *y, int n) {
    __m512i acc = _mm512_setzero_si512();
    int i = 0;
    for (; i + 64 <= n; i += 64)
        acc = _mm512_add_epi64(
            acc, _mm512_sad_epu8(_mm512_loadu_si512(x + i), _mm512_loadu_si512(y + i)));
    uint64_t lanes[8];
    _mm512_storeu_si512(lanes, acc);
    uint64_t total = 0;
    for (int j = 0; j < 8; j++)
        total += lanes[j];
    return total + af_l1_u8_portable(x + i, y + i, n - i);
}

const af_kernels af_kernels_avx512 = {dot_avx512,        l2sq_avx512,        l1_avx512,
                                      hamming_popcnt,    pull_avx512,        dot4_avx512,
                                      dot_pairs4_avx512, l2sq_pairs4_avx512, l1_pairs4_avx512,
                                      l2sq_u8_avx512,    l1_u8_avx512,       AF_SIMD_AVX512,
                                      "avx512"};
