// bfloat16 matrix multiply on AVX512-BF16 (VDPBF16PS): operands rounded to bf16, products summed in fp32.
//
// Layout follows the usual packed-panel GEMM: for each block of k, A is packed into panels of MR rows and
// B into panels of NR columns, both as bf16 pairs (elements 2p and 2p+1 of k side by side in 32 bits, the
// unit VDPBF16PS multiplies). A register tile of MR x NR accumulators then runs over a block: one 32-bit
// broadcast of A's pair per row against two 16-lane vectors of B's pairs.
//
// Only the functions marked SF_TARGET use AVX-512 instructions, so the library builds and loads on any
// x86-64 CPU; the caller checks sf_bf16_gemm_supported() first.

#include "bf16_gemm.h"

#if defined(__x86_64__)

#include <cpuid.h>
#include <immintrin.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SF_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

enum {
    MR = 12,   // rows of the register tile: 12 x 2 accumulators, 2 B vectors, 1 broadcast of 32 registers
    NR = 32,   // columns of the register tile (two 16-lane vectors)
    KPB = 128, // k pairs per block: a B panel (KPB x NR pairs, 16 KiB) stays in L1 while A's rows pass
    MC = 120,  // rows per block of the macro loop (10 panels; A's block of 120 x 256 bf16 stays in L2)
};

bool sf_bf16_gemm_supported(void) {
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & bit_OSXSAVE)) return false;
    // The OS must save the AVX-512 state: XCR0 bits 1-2 (SSE, AVX), 5-7 (opmask, ZMM upper halves, ZMM16-31).
    unsigned xcr0_lo, xcr0_hi;
    __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    if ((xcr0_lo & 0xE6) != 0xE6) return false;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
    const unsigned f = 1u << 16, bw = 1u << 30, vl = 1u << 31;
    if ((ebx & (f | bw | vl)) != (f | bw | vl)) return false;
    if (!__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx)) return false;
    return (eax & (1u << 5)) != 0; // AVX512_BF16
}

static inline __mmask16 first_lanes(long count) {
    if (count <= 0) return 0;
    return count >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << count) - 1);
}

// Packs the entities [0, ecount) (rows of op(A) or columns of op(B)) into panels of W, where k runs down
// two neighbouring source rows: pair p of entity e is (src[2p][e], src[2p + 1][e]), and panel q holds
// entities [qW, qW + W) at `dst + q * kpb * W`. Entities past `ecount` and k past `kcount` are zero. Each
// pair of rows is read once from start to end (panels inner), so the reads stream.
SF_TARGET static void pack_across_rows(const float *src, long ld, long kcount, long ecount, int w, long kpb, uint32_t *dst) {
    // Interleaves the two rows' 16 converted values into 16 pairs.
    const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8,
                                                23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    const long panels = (ecount + w - 1) / w;
    for (long p = 0; p < kpb; p++) {
        const float *r0 = 2 * p < kcount ? src + 2 * p * ld : NULL;
        const float *r1 = 2 * p + 1 < kcount ? src + (2 * p + 1) * ld : NULL;
        for (long q = 0; q < panels; q++) {
            uint32_t *out = dst + q * kpb * w + p * w;
            for (int e = 0; e < w; e += 16) {
                const long first = q * w + e;
                __mmask16 valid = first_lanes(ecount - first);
                __m512 x0 = r0 ? _mm512_maskz_loadu_ps(valid, r0 + first) : _mm512_setzero_ps();
                __m512 x1 = r1 ? _mm512_maskz_loadu_ps(valid, r1 + first) : _mm512_setzero_ps();
                __m512i both = (__m512i)_mm512_cvtne2ps_pbh(x1, x0); // words 0-15 from x0, 16-31 from x1
                _mm512_mask_storeu_epi32(out + e, first_lanes(w - e), _mm512_permutexvar_epi16(interleave, both));
            }
        }
    }
}

// Transposes a 16 x 16 matrix of 32-bit elements held as 16 rows.
SF_TARGET static inline void transpose16(__m512i r[16]) {
    __m512i t[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        r[4 * i] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
        r[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
        r[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
        r[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
    }
    for (int h = 0; h < 2; h++) {
        for (int i = 0; i < 4; i++) {
            t[8 * h + i] = _mm512_shuffle_i32x4(r[8 * h + i], r[8 * h + i + 4], 0x88);
            t[8 * h + i + 4] = _mm512_shuffle_i32x4(r[8 * h + i], r[8 * h + i + 4], 0xdd);
        }
    }
    for (int i = 0; i < 8; i++) {
        r[i] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0xdd);
    }
}

// Packs one panel of W entities whose k runs along one source row each: pair p of entity e is
// (src[e][2p], src[e][2p + 1]). Sixteen rows at a time are converted (each 32-bit lane then holds a pair)
// and transposed, so the panel is written pair by pair.
SF_TARGET static void pack_along_rows(const float *src, long ld, long kcount, long ecount, int w, long kpb, uint32_t *dst) {
    for (int e0 = 0; e0 < w; e0 += 16) {
        const int group = w - e0 < 16 ? w - e0 : 16;
        for (long p0 = 0; p0 < kpb; p0 += 16) {
            const long k0 = 2 * p0;
            __m512i r[16];
            for (int i = 0; i < 16; i++) {
                if (i < group && e0 + i < ecount) {
                    const float *row = src + (e0 + i) * ld;
                    __m512 lo = _mm512_maskz_loadu_ps(first_lanes(kcount - k0), row + k0);
                    __m512 hi = _mm512_maskz_loadu_ps(first_lanes(kcount - k0 - 16), row + k0 + 16);
                    r[i] = (__m512i)_mm512_cvtne2ps_pbh(hi, lo); // words in k order: lane q is pair p0 + q
                } else {
                    r[i] = _mm512_setzero_si512();
                }
            }
            transpose16(r); // r[q] lane i: pair p0 + q of entity e0 + i
            const long count = kpb - p0 < 16 ? kpb - p0 : 16;
            for (long q = 0; q < count; q++) _mm512_mask_storeu_epi32(dst + (p0 + q) * w + e0, first_lanes(group), r[q]);
        }
    }
}

// C[rows x cols] (at most MR x NR) = alpha * A_panel * B_panel + (accumulate ? C : beta * C).
SF_TARGET static void tile(long kpb, const uint32_t *ap, const uint32_t *bp, float *c, long ldc, int rows, int cols,
                           float alpha, float beta, bool accumulate) {
    __m512 acc0[MR], acc1[MR];
#pragma clang loop unroll(full)
    for (int r = 0; r < MR; r++) acc0[r] = acc1[r] = _mm512_setzero_ps();
    for (long p = 0; p < kpb; p++) {
        __m512bh b0 = (__m512bh)_mm512_load_si512(bp + p * NR);
        __m512bh b1 = (__m512bh)_mm512_load_si512(bp + p * NR + 16);
        const uint32_t *a = ap + p * MR;
#pragma clang loop unroll(full)
        for (int r = 0; r < MR; r++) {
            __m512bh av = (__m512bh)_mm512_set1_epi32((int)a[r]);
            acc0[r] = _mm512_dpbf16_ps(acc0[r], av, b0);
            acc1[r] = _mm512_dpbf16_ps(acc1[r], av, b1);
        }
    }
    const __mmask16 m0 = first_lanes(cols), m1 = first_lanes(cols - 16);
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma clang loop unroll(full)
    for (int r = 0; r < MR; r++) {
        if (r >= rows) continue;
        float *cr = c + r * ldc;
        __m512 v0 = _mm512_mul_ps(va, acc0[r]), v1 = _mm512_mul_ps(va, acc1[r]);
        if (accumulate) {
            v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, cr));
            v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, cr + 16));
        } else if (beta != 0) { // beta 0 must not read C (it may hold NaN from an earlier use)
            v0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, cr), v0);
            v1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, cr + 16), v1);
        }
        _mm512_mask_storeu_ps(cr, m0, v0);
        _mm512_mask_storeu_ps(cr + 16, m1, v1);
    }
}

static uint32_t *allocate_pairs(size_t count) {
    size_t bytes = (count * sizeof(uint32_t) + 63) & ~(size_t)63;
    return aligned_alloc(64, bytes);
}

SF_TARGET bool sf_bf16_gemm(bool transpose_a, bool transpose_b, long m, long n, long k, float alpha,
                            const float *a, long lda, const float *b, long ldb, float beta, float *c, long ldc) {
    if (m <= 0 || n <= 0) return true;
    const long mp = (m + MR - 1) / MR, np = (n + NR - 1) / NR;
    const long block_pairs = (k + 1) / 2 < KPB ? (k + 1) / 2 : KPB;
    uint32_t *ap = allocate_pairs((size_t)mp * MR * (size_t)(block_pairs > 0 ? block_pairs : 1));
    uint32_t *bp = allocate_pairs((size_t)np * NR * (size_t)(block_pairs > 0 ? block_pairs : 1));
    if (!ap || !bp) {
        free(ap);
        free(bp);
        return false;
    }
    if (k <= 0) { // no products: C = beta * C (beta 0 writes zeros without reading C)
        for (long i = 0; i < m; i++)
            for (long j = 0; j < n; j++) c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j];
    }
    for (long k0 = 0; k0 < k; k0 += 2 * KPB) {
        const long kcount = k - k0 < 2 * KPB ? k - k0 : 2 * KPB;
        const long kpb = (kcount + 1) / 2;
        if (transpose_a) pack_across_rows(a + k0 * lda, lda, kcount, m, MR, kpb, ap);
        else
            for (long panel = 0; panel < mp; panel++)
                pack_along_rows(a + panel * MR * lda + k0, lda, kcount, m - panel * MR, MR, kpb, ap + panel * kpb * MR);
        if (transpose_b)
            for (long panel = 0; panel < np; panel++)
                pack_along_rows(b + panel * NR * ldb + k0, ldb, kcount, n - panel * NR, NR, kpb, bp + panel * kpb * NR);
        else pack_across_rows(b + k0 * ldb, ldb, kcount, n, NR, kpb, bp);
        const bool accumulate = k0 > 0;
        for (long ic = 0; ic < mp; ic += MC / MR) {
            const long icEnd = ic + MC / MR < mp ? ic + MC / MR : mp;
            for (long jp = 0; jp < np; jp++) {
                const long j0 = jp * NR;
                const int cols = n - j0 < NR ? (int)(n - j0) : NR;
                for (long ip = ic; ip < icEnd; ip++) {
                    const long i0 = ip * MR;
                    const int rows = m - i0 < MR ? (int)(m - i0) : MR;
                    tile(kpb, ap + ip * kpb * MR, bp + jp * kpb * NR, c + i0 * ldc + j0, ldc, rows, cols, alpha, beta, accumulate);
                }
            }
        }
    }
    free(ap);
    free(bp);
    return true;
}

#else // Not x86-64: no AVX512-BF16, so MatmulPrecision.bf16 is refused before this could be called.

bool sf_bf16_gemm_supported(void) { return false; }

bool sf_bf16_gemm(bool transpose_a, bool transpose_b, long m, long n, long k, float alpha,
                  const float *a, long lda, const float *b, long ldb, float beta, float *c, long ldc) {
    (void)transpose_a, (void)transpose_b, (void)m, (void)n, (void)k, (void)alpha, (void)a, (void)lda, (void)b, (void)ldb,
        (void)beta, (void)c, (void)ldc;
    return false;
}

#endif
