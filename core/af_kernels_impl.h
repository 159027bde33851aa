/* Internal to the kernel files: the portable kernels, which the SIMD versions must match to the
 * bit. The order of additions is the contract: 16 partial sums (element i goes to sum i % 16),
 * then sums j and j + 8 are added, then j and j + 4, then j and j + 2, then the last two. */
#ifndef AF_KERNELS_IMPL_H
#define AF_KERNELS_IMPL_H

#include "af_kernels.h"

#define AF_KERNEL_LANES 16

float af_dot_portable(const float *x, const float *y, int n);
float af_l2sq_portable(const float *x, const float *y, int n);
float af_l1_portable(const float *x, const float *y, int n);
uint64_t af_hamming_portable(const uint64_t *x, const uint64_t *y, int n);
void af_pull_portable(float *v, const float *y, float norm, int n, int count);
void af_dot4_portable(const float *x, const float *const y[4], int n, float out[4]);
void af_dot_pairs4_portable(const float *const x[4], const float *const y[4], int n, float out[4]);
void af_l2sq_pairs4_portable(const float *const x[4], const float *const y[4], int n, float out[4]);
void af_l1_pairs4_portable(const float *const x[4], const float *const y[4], int n, float out[4]);
uint64_t af_l2sq_u8_portable(const uint8_t *x, const uint8_t *y, int n);
uint64_t af_l1_u8_portable(const uint8_t *x, const uint8_t *y, int n);

extern const af_kernels af_kernels_avx2;
extern const af_kernels af_kernels_avx512;

#endif
