/* af_gemm_u8: exact dot products of rows whose values are all whole numbers 0..255.
 *
 * Images (Fashion-MNIST's pixels) and other 8-bit data are often stored as floats. Their dot
 * products are integers below 2^31 for up to 33025 columns, so 8-bit multiplies with 32-bit
 * sums (AVX-512 VNNI: 64 of them per instruction, against 16 float multiply-adds) give them
 * exactly, and exact k-NN can rank by true distances faster than sgemm ranks by rounded ones.
 *
 * The reference rows are packed once into panels of 16 rows, 4 columns of each row side by side
 * (the instruction's layout); the query rows into signed bytes (value - 128), their sums made
 * whole again by adding 128 x the reference row's byte sum. */
#ifndef AF_GEMM_U8_H
#define AF_GEMM_U8_H

#include <stdint.h>

enum { AF_U8_MAX_DIM = 33025 }; /* 255 * 255 * dim < 2^31 */

typedef struct af_u8_refs {
    unsigned char *panels; /* groups of 16 rows: dim4 / 4 steps of 16 x 4 bytes */
    int32_t *sums;         /* per row: the sum of its bytes */
    int64_t *sq_norms;     /* per row: the sum of its bytes' squares */
    int64_t n, n_padded;   /* n_padded: a multiple of AF_U8_ROW_GROUP */
    int dim, dim4;         /* dim4: dim rounded up to a multiple of 4 */
} af_u8_refs;

typedef struct af_u8_queries {
    signed char *rows; /* n_padded rows of dim4 bytes, value - 128 */
    int64_t *sq_norms; /* per row: the sum of its values' squares */
    int64_t n, n_padded;
    int dim, dim4;
} af_u8_queries;

enum { AF_U8_ROW_GROUP = 48, AF_U8_QUERY_GROUP = 8 };

/* Whether this CPU has the instructions (and AF_SIMD does not cap the kernels below AVX-512). */
int af_u8_available(void);

/* Whether every row of rows[0..n) not marked in skip (may be NULL) holds only whole numbers
 * 0..255 (no NaN, no -0 issue: -0 == 0). dim must be at most AF_U8_MAX_DIM. */
int af_u8_rows_fit(const float *rows, int64_t n, int dim, const unsigned char *skip, int threads);

/* Pack rows that af_u8_rows_fit accepted; skipped rows are packed as zeros. 0, or -1 when out
 * of memory. */
int af_u8_refs_pack(af_u8_refs *r, const float *rows, int64_t n, int dim, const unsigned char *skip,
                    int threads);
void af_u8_refs_free(af_u8_refs *r);
int af_u8_queries_pack(af_u8_queries *q, const float *rows, int64_t n, int dim, int threads);
void af_u8_queries_free(af_u8_queries *q);

/* c[i * ldc + j] = dot(query q0 + i, reference row r0 + j) for i < nq, j < nr: q0 a multiple of
 * AF_U8_QUERY_GROUP, r0 of AF_U8_ROW_GROUP. Requires af_u8_available(). */
void af_u8_dots(const af_u8_refs *r, int64_t r0, int nr, const af_u8_queries *q, int64_t q0, int nq,
                int32_t *c, int ldc);

#endif
