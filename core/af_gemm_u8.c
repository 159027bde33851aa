/* af_gemm_u8: exact dot products of 8-bit rows with AVX-512 VNNI (see af_gemm_u8.h). */
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "af_gemm_u8.h"
#include "af_kernels.h"
#include "af_memory.h"

#define VNNI __attribute__((target("avx512f,avx512bw,avx512vnni")))

enum { PANEL_ROWS = 16, PANELS = AF_U8_ROW_GROUP / PANEL_ROWS, MR = AF_U8_QUERY_GROUP };

int af_u8_available(void) {
    __builtin_cpu_init();
    return af_kernels_best()->level == AF_SIMD_AVX512 && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vnni");
}

/* Whether row v holds only whole numbers 0..255 (NaN fails the first test). A loop the compiler
 * vectorises, with an AVX-512 copy picked at load time. */
__attribute__((target_clones("avx512f", "default"))) static int row_fits(const float *v, int dim) {
    int bad = 0;
    for (int c = 0; c < dim; c++)
        bad |= !(v[c] >= 0.0f && v[c] <= 255.0f && v[c] == truncf(v[c]));
    return !bad;
}

int af_u8_rows_fit(const float *rows, int64_t n, int dim, const unsigned char *skip, int threads) {
    if (dim < 1 || dim > AF_U8_MAX_DIM)
        return 0;
    int bad = 0;
#pragma omp parallel for schedule(static) num_threads(threads) reduction(| : bad)
    for (int64_t i = 0; i < n; i++) {
        if (bad || (skip && skip[i]))
            continue; /* this thread already met a row that does not fit: the answer is no */
        bad |= !row_fits(rows + (size_t)i * (size_t)dim, dim);
    }
    return !bad;
}

static int64_t round_up(int64_t n, int64_t m) {
    return (n + m - 1) / m * m;
}

int af_u8_refs_pack(af_u8_refs *r, const float *rows, int64_t n, int dim, const unsigned char *skip,
                    int threads) {
    memset(r, 0, sizeof *r);
    r->n = n;
    r->n_padded = round_up(n > 0 ? n : 1, AF_U8_ROW_GROUP);
    r->dim = dim;
    r->dim4 = (int)round_up(dim, 4);
    size_t bytes = (size_t)r->n_padded * (size_t)r->dim4;
    r->panels = af_alloc_large(bytes);
    r->sums = malloc((size_t)r->n_padded * sizeof *r->sums);
    r->sq_norms = malloc((size_t)r->n_padded * sizeof *r->sq_norms);
    if (!r->panels || !r->sums || !r->sq_norms) {
        af_u8_refs_free(r);
        return -1;
    }
    int64_t n_panels = r->n_padded / PANEL_ROWS;
    size_t panel_bytes = (size_t)PANEL_ROWS * (size_t)r->dim4;
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int64_t p = 0; p < n_panels; p++) {
        unsigned char *dst = r->panels + (size_t)p * panel_bytes;
        memset(dst, 0, panel_bytes);
        for (int w = 0; w < PANEL_ROWS; w++) {
            int64_t i = p * PANEL_ROWS + w;
            int32_t sum = 0;
            int64_t sq = 0;
            if (i < n && !(skip && skip[i])) {
                const float *v = rows + (size_t)i * (size_t)dim;
                for (int c = 0; c < dim; c++) {
                    unsigned char b = (unsigned char)v[c];
                    dst[(size_t)(c / 4) * 64 + (size_t)w * 4 + (size_t)(c % 4)] = b;
                    sum += b;
                    sq += b * b;
                }
            }
            r->sums[i] = sum;
            r->sq_norms[i] = sq;
        }
    }
    return 0;
}

void af_u8_refs_free(af_u8_refs *r) {
    free(r->panels);
    free(r->sums);
    free(r->sq_norms);
    memset(r, 0, sizeof *r);
}

int af_u8_queries_pack(af_u8_queries *q, const float *rows, int64_t n, int dim, int threads) {
    memset(q, 0, sizeof *q);
    q->n = n;
    q->n_padded = round_up(n > 0 ? n : 1, AF_U8_QUERY_GROUP);
    q->dim = dim;
    q->dim4 = (int)round_up(dim, 4);
    q->rows = calloc((size_t)q->n_padded, (size_t)q->dim4);
    q->sq_norms = malloc((size_t)q->n_padded * sizeof *q->sq_norms);
    if (!q->rows || !q->sq_norms) {
        af_u8_queries_free(q);
        return -1;
    }
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int64_t i = 0; i < n; i++) {
        const float *v = rows + (size_t)i * (size_t)dim;
        signed char *dst = q->rows + (size_t)i * (size_t)q->dim4;
        int64_t sq = 0;
        for (int c = 0; c < dim; c++) {
            int b = (int)v[c];
            dst[c] = (signed char)(b - 128);
            sq += b * b;
        }
        q->sq_norms[i] = sq;
    }
    return 0;
}

void af_u8_queries_free(af_u8_queries *q) {
    free(q->rows);
    free(q->sq_norms);
    memset(q, 0, sizeof *q);
}

/* MR queries against the 48 rows of three consecutive panels: out[i][j] = sum over the columns
 * of ref byte x (query byte - 128). 24 accumulators, three panel loads and eight 4-byte
 * broadcasts per step of 4 columns. */
VNNI static void dots_8x48(const unsigned char *panel, size_t panel_bytes, const signed char *q,
                           size_t q_stride, int steps, int32_t out[MR][AF_U8_ROW_GROUP]) {
    __m512i acc[MR][PANELS];
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 3
        for (int p = 0; p < PANELS; p++)
            acc[i][p] = _mm512_setzero_si512();
    for (int s = 0; s < steps; s++) {
        const unsigned char *at = panel + (size_t)s * 64;
        __m512i b0 = _mm512_loadu_si512((const void *)at);
        __m512i b1 = _mm512_loadu_si512((const void *)(at + panel_bytes));
        __m512i b2 = _mm512_loadu_si512((const void *)(at + 2 * panel_bytes));
#pragma GCC unroll 8
        for (int i = 0; i < MR; i++) {
            int32_t four;
            memcpy(&four, q + (size_t)i * q_stride + (size_t)s * 4, sizeof four);
            __m512i a = _mm512_set1_epi32(four);
            acc[i][0] = _mm512_dpbusd_epi32(acc[i][0], b0, a);
            acc[i][1] = _mm512_dpbusd_epi32(acc[i][1], b1, a);
            acc[i][2] = _mm512_dpbusd_epi32(acc[i][2], b2, a);
        }
    }
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 3
        for (int p = 0; p < PANELS; p++)
            _mm512_storeu_si512((void *)(out[i] + p * PANEL_ROWS), acc[i][p]);
}

VNNI void af_u8_dots(const af_u8_refs *r, int64_t r0, int nr, const af_u8_queries *q, int64_t q0,
                     int nq, int32_t *c, int ldc) {
    size_t panel_bytes = (size_t)PANEL_ROWS * (size_t)r->dim4;
    int steps = r->dim4 / 4;
    int32_t out[MR][AF_U8_ROW_GROUP];
    for (int g = 0; g < nr; g += AF_U8_ROW_GROUP) {
        int64_t row = r0 + g;
        const unsigned char *panel = r->panels + (size_t)(row / PANEL_ROWS) * panel_bytes;
        int cols = nr - g < AF_U8_ROW_GROUP ? nr - g : AF_U8_ROW_GROUP;
        for (int i0 = 0; i0 < nq; i0 += MR) {
            dots_8x48(panel, panel_bytes, q->rows + (size_t)(q0 + i0) * (size_t)q->dim4,
                      (size_t)q->dim4, steps, out);
            int rows = nq - i0 < MR ? nq - i0 : MR;
            for (int i = 0; i < rows; i++) {
                int32_t *dst = c + (size_t)(i0 + i) * (size_t)ldc + g;
                for (int j = 0; j < cols; j++)
                    dst[j] = out[i][j] + 128 * r->sums[row + j]; /* undo the - 128 */
            }
        }
    }
}
