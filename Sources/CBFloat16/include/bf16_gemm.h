#ifndef STYLEFILTER_BF16_GEMM_H
#define STYLEFILTER_BF16_GEMM_H

#include <stdbool.h>

/// Whether this CPU runs the AVX512-BF16 kernel and the OS saves its registers (cpuid leaf 7 and XGETBV):
/// AVX-512 F, BW and VL plus AVX512_BF16. Every CPU with AMX-BF16 also has these.
bool sf_bf16_gemm_supported(void);

/// `C = alpha * op(A) * op(B) + beta * C`, all matrices row-major (as `cblas_sgemm` with CblasRowMajor),
/// with the elements of A and B rounded to bfloat16 (to nearest, ties to even) and the products summed
/// in float32 (VDPBF16PS). `op(A)` is m x k, `op(B)` is k x n. Single-threaded; call only where
/// `sf_bf16_gemm_supported()` is true. Returns false when its packing buffers could not be allocated
/// (C is then untouched).
bool sf_bf16_gemm(bool transpose_a, bool transpose_b, long m, long n, long k, float alpha,
                  const float *a, long lda, const float *b, long ldb, float beta, float *c, long ldc);

#endif
