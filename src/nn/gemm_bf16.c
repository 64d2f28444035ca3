/*
 * BF16 matrix product for the conv layers: C[M][N] = act(A[M][K] B[K][N] +
 * bias) with A and B rounded to bfloat16 (round to nearest even) and the sums
 * kept in float32, on AVX-512 BF16 (vdpbf16ps: 16 lanes, each adding the
 * products of one pair of bf16 values).
 *
 * Layouts, chosen so the inner loop is one broadcast per row and one load
 * per 16 columns:
 *   A  row-major bf16, each row padded to an even K: the pair (k, k+1) of a
 *      row is one 32-bit word that vdpbf16ps takes broadcast to all lanes.
 *   B  packed once at build time (fs_nn_bf16_pack_b) in panels of 32
 *      columns; inside a panel, K pair q holds the 32 columns' (k=2q, 2q+1)
 *      pairs: 64 bf16 = two zmm loads.  With `split`, each pair is followed
 *      by the same pairs of the weights' remainders (w - bf16(w), in bf16),
 *      so the weights carry ~16 significant bits for twice the products
 *      (the activations still carry 8).
 * The micro-kernel keeps a 12 x 32 tile of C in 24 registers over the whole
 * K (every layer of the nets has K <= 2304), then adds the bias, applies the
 * activation and stores — no second pass over C.
 *
 * This file is compiled for AVX-512 BF16 whatever -march says (target
 * pragma); callers reach it only after fs_nn_cpu_bf16() said yes.
 */
#include "nn_internal.h"

#include <string.h>

/* GCC's target pragmas compile the kernel for AVX-512 BF16 whatever -march
 * says; clang (the fuzzing build) has no such pragmas and goes without it. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FS_HAVE_BF16_KERNEL 1
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")
#include <immintrin.h>
#endif

#define MR 12          /* rows of C per micro-tile */
#define NR 32          /* columns per B panel (two zmm) */

uint16_t fs_nn_bf16_round(float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) /* NaN stays a (quiet) NaN */
        return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

float fs_nn_bf16_float(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float v;
    memcpy(&v, &u, sizeof v);
    return v;
}

size_t fs_nn_bf16_packed_count(int K, int N, int split)
{
    return (size_t)((N + NR - 1) / NR) * (size_t)((K + 1) / 2) * 2 * NR * (split ? 2 : 1);
}

/* Element (k, n) of w, 0 outside; its bf16 part, or with `lo` what the bf16
 * part missed, itself rounded to bf16. */
static uint16_t weight_part(const float *w, int K, int N, int k, int n, int lo)
{
    if (k >= K || n >= N)
        return 0;
    float v = w[(size_t)k * N + n];
    uint16_t hi = fs_nn_bf16_round(v);
    return lo ? fs_nn_bf16_round(v - fs_nn_bf16_float(hi)) : hi;
}

void fs_nn_bf16_pack_b(const float *w, int K, int N, int split, uint16_t *dst)
{
    const int kp = (K + 1) / 2;
    for (int n0 = 0; n0 < N; n0 += NR)
        for (int q = 0; q < kp; q++)
            for (int part = 0; part <= (split != 0); part++)
                for (int j = 0; j < NR; j++, dst += 2) {
                    dst[0] = weight_part(w, K, N, 2 * q, n0 + j, part);
                    dst[1] = weight_part(w, K, N, 2 * q + 1, n0 + j, part);
                }
}

#ifdef FS_HAVE_BF16_KERNEL

void fs_nn_bf16_convert(const float *restrict src, uint16_t *restrict dst, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256bh h = _mm512_cvtneps_pbh(_mm512_loadu_ps(src + i));
        _mm256_storeu_si256((__m256i *)(dst + i), (__m256i)h);
    }
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        __m256bh h = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, src + i));
        _mm256_mask_storeu_epi16(dst + i, m, (__m256i)h);
    }
}

static inline __attribute__((always_inline)) __m512 act512(__m512 v, fs_act act)
{
    const __m512 zero = _mm512_setzero_ps();
    switch (act) {
    case FS_ACT_RELU: return _mm512_max_ps(v, zero);
    case FS_ACT_RELU6: return _mm512_min_ps(_mm512_max_ps(v, zero), _mm512_set1_ps(6.0f));
    case FS_ACT_LEAKY: return _mm512_max_ps(v, _mm512_mul_ps(v, _mm512_set1_ps(0.1f)));
    case FS_ACT_NONE:
    case FS_ACT_PRELU: /* the caller's fs_nn_prelu */
        break;
    }
    return v;
}

/*
 * One tile: `rows` (compile-time after inlining) rows of A starting at a
 * (lda 32-bit pairs apart), one 32-column panel b, kp pairs; `nv` zmm per
 * row (2, or 1 when only the panel's first 16 columns exist).  Stores the
 * `mask`ed columns.
 */
static inline __attribute__((always_inline)) void tile(int rows, int nv, int split,
                                                       const uint32_t *a,
                                                       size_t lda, const uint16_t *b, int kp,
                                                       float *c, size_t ldc, const float *bias,
                                                       __mmask16 m0, __mmask16 m1, fs_act act)
{
    __m512 acc[MR][2];
    __m512 b0 = _mm512_setzero_ps(), b1 = b0;
    if (bias) {
        b0 = _mm512_maskz_loadu_ps(m0, bias);
        b1 = _mm512_maskz_loadu_ps(m1, bias + 16);
    }
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) {
        if (i < rows) {
            acc[i][0] = b0;
            acc[i][1] = b1;
        }
    }
    for (int q = 0; q < kp; q++, b += (split ? 4 : 2) * NR) {
        __m512bh w0 = (__m512bh)_mm512_loadu_si512(b);
        __m512bh w1 = (__m512bh)_mm512_loadu_si512(b + NR);
        __m512bh l0 = w0, l1 = w1;
        if (split) {
            l0 = (__m512bh)_mm512_loadu_si512(b + 2 * NR);
            l1 = (__m512bh)_mm512_loadu_si512(b + 3 * NR);
        }
#pragma GCC unroll 12
        for (int i = 0; i < MR; i++) {
            if (i < rows) {
                __m512bh x = (__m512bh)_mm512_set1_epi32((int)a[(size_t)i * lda + q]);
                acc[i][0] = _mm512_dpbf16_ps(acc[i][0], x, w0);
                if (nv > 1)
                    acc[i][1] = _mm512_dpbf16_ps(acc[i][1], x, w1);
                if (split) {
                    acc[i][0] = _mm512_dpbf16_ps(acc[i][0], x, l0);
                    if (nv > 1)
                        acc[i][1] = _mm512_dpbf16_ps(acc[i][1], x, l1);
                }
            }
        }
    }
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) {
        if (i < rows) {
            _mm512_mask_storeu_ps(c + (size_t)i * ldc, m0, act512(acc[i][0], act));
            if (nv > 1)
                _mm512_mask_storeu_ps(c + (size_t)i * ldc + 16, m1, act512(acc[i][1], act));
        }
    }
}

/* Instantiations: every row count, 32- and 16-wide, plain and split. */
#define TILE_FN(R, V, S)                                                                      \
    static void tile_##R##_##V##_##S(const uint32_t *a, size_t lda, const uint16_t *b, int kp, \
                                     float *c, size_t ldc, const float *bias, __mmask16 m0,   \
                                     __mmask16 m1, fs_act act)                                \
    {                                                                                         \
        tile(R, V, S, a, lda, b, kp, c, ldc, bias, m0, m1, act);                              \
    }
#define TILE_ROWS(V, S)                                                                       \
    TILE_FN(1, V, S) TILE_FN(2, V, S) TILE_FN(3, V, S) TILE_FN(4, V, S) TILE_FN(5, V, S)      \
    TILE_FN(6, V, S) TILE_FN(7, V, S) TILE_FN(8, V, S) TILE_FN(9, V, S) TILE_FN(10, V, S)     \
    TILE_FN(11, V, S) TILE_FN(12, V, S)
TILE_ROWS(1, 0)
TILE_ROWS(2, 0)
TILE_ROWS(1, 1)
TILE_ROWS(2, 1)

typedef void (*tile_fn)(const uint32_t *, size_t, const uint16_t *, int, float *, size_t,
                        const float *, __mmask16, __mmask16, fs_act);
#define TILE_TABLE(V, S)                                                                      \
    {tile_1_##V##_##S, tile_2_##V##_##S, tile_3_##V##_##S, tile_4_##V##_##S,                  \
     tile_5_##V##_##S, tile_6_##V##_##S, tile_7_##V##_##S, tile_8_##V##_##S,                  \
     tile_9_##V##_##S, tile_10_##V##_##S, tile_11_##V##_##S, tile_12_##V##_##S}
static const tile_fn tiles[2][2][MR] = {
    {TILE_TABLE(1, 0), TILE_TABLE(2, 0)},
    {TILE_TABLE(1, 1), TILE_TABLE(2, 1)},
};

void fs_nn_bf16_gemm(int M, int N, int K, const uint16_t *a, size_t lda, const uint16_t *bp,
                     int split, float *c, size_t ldc, const float *bias, fs_act act)
{
    const int kp = (K + 1) / 2;
    split = split != 0;
    const uint32_t *a32 = (const uint32_t *)(const void *)a;
    for (int n0 = 0; n0 < N; n0 += NR) {
        const uint16_t *b = bp + (size_t)(n0 / NR) * kp * (2 + 2 * split) * NR;
        int cols = N - n0 < NR ? N - n0 : NR;
        __mmask16 m0 = cols >= 16 ? 0xffff : (__mmask16)((1u << cols) - 1);
        __mmask16 m1 = cols >= 32 ? 0xffff : cols > 16 ? (__mmask16)((1u << (cols - 16)) - 1) : 0;
        const tile_fn *row = tiles[split][cols > 16];
        for (int m0r = 0; m0r < M; m0r += MR) {
            int rows = M - m0r < MR ? M - m0r : MR;
            row[rows - 1](a32 + (size_t)m0r * (lda / 2), lda / 2, b, kp, c + (size_t)m0r * ldc + n0,
                          ldc, bias ? bias + n0 : NULL, m0, m1, act);
        }
    }
}

#pragma GCC pop_options

#else /* no AVX-512 BF16 kernel on this compiler/target: never called */

void fs_nn_bf16_convert(const float *src, uint16_t *dst, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = fs_nn_bf16_round(src[i]);
}

void fs_nn_bf16_gemm(int M, int N, int K, const uint16_t *a, size_t lda, const uint16_t *bp,
                     int split, float *c, size_t ldc, const float *bias, fs_act act)
{
    (void)M, (void)N, (void)K, (void)a, (void)lda, (void)bp, (void)split, (void)c, (void)ldc,
        (void)bias, (void)act;
}

#endif
