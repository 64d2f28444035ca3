/* Private to src/nn: the layer record shared by the builder, the planner and
 * the op kernels (one file per op family). */
#ifndef FS_NN_INTERNAL_H
#define FS_NN_INTERNAL_H

#include "facesearch/nn.h"

#define FS_NN_MAX_INPUTS 8

typedef enum layer_type {
    L_INPUT,
    L_CONV,  /* regular conv, weights [kh*kw*cin][cout] */
    L_DW,    /* depthwise conv, weights [kh*kw][c] */
    L_POOL,
    L_ADD,
    L_MEAN,
    L_FC     /* weights [in][out] */
} layer_type;

typedef struct layer {
    layer_type type;
    char *name;
    int n_in;
    int in[FS_NN_MAX_INPUTS];
    int kh, kw, cin, cout, stride;
    fs_pad pad;
    int pad_px;      /* FS_PAD_EXPLICIT */
    fs_act act;
    float *slope;    /* FS_ACT_PRELU: cout slopes (owned) */
    fs_pool_kind pool;
    float *w, *b;    /* folded weights and bias (owned, 64-byte aligned) */
    uint16_t *wb;    /* L_CONV: w as bf16, packed (fs_net_prepare_bf16) */
    int wsplit;      /* wb holds w's bf16 part and its remainder */
    int is_output;
} layer;

struct fs_net {
    char *name;
    layer *layers;
    int n, cap;
    int bf16_ready;  /* fs_net_prepare_bf16 packed the conv weights */
    fs_error err;  /* first builder error */
};

/* Output size along one axis and the padding before it (TF SAME/VALID).
 * Returns the size, or 0 when the input is too small (VALID). */
int fs_nn_out_size(int in, int k, int stride, fs_pad pad, int pad_px, int *pad_before);

/* One activation. */
static inline float fs_nn_act(float v, fs_act act)
{
    switch (act) {
    case FS_ACT_RELU: return v > 0.0f ? v : 0.0f;
    case FS_ACT_RELU6: return v < 0.0f ? 0.0f : v > 6.0f ? 6.0f : v;
    case FS_ACT_LEAKY: return v > 0.0f ? v : 0.1f * v;
    case FS_ACT_NONE:
    case FS_ACT_PRELU: /* needs the channel: fs_nn_prelu */
        break;
    }
    return v;
}

/* Applies act to n values in place (vectorised: the switch is outside the
 * loops, so no per-element branches). */
void fs_nn_act_inplace(float *x, size_t n, fs_act act);

/* The PReLU of rows x c values in place (slope per channel).  Kernels run
 * a PReLU layer's chunk with the identity activation, then this over it
 * while it is still in cache. */
void fs_nn_prelu(float *x, size_t rows, int c, const float *slope);

/* Applies per-channel bias and activation to rows x c values in place
 * (FS_ACT_PRELU: bias only). */
void fs_nn_bias_act(float *x, size_t rows, int c, const float *bias, fs_act act);

/* Rows of the output a conv processes per product, so the im2col chunk and
 * the output chunk stay in L2; `fused`: a depthwise conv is computed in
 * front of it (fs_nn_conv's dw). */
int fs_nn_conv_chunk_rows(const layer *L, int out_pixels, int bf16, int fused);

/* Scratch floats a conv needs: the im2col chunk, for bf16 also the
 * converted input of a 1x1 conv, and a fused depthwise conv's chunk. */
size_t fs_nn_conv_scratch(const layer *L, int out_pixels, int bf16, int fused);

/* Kernels.  `in` are the input tensors, `out` has its shape set.  A conv
 * runs in bf16 when `bf16` is set (and L->wb exists).  With `dw` (a
 * depthwise conv fused in front of a 1x1 stride-1 conv), `in` is the
 * depthwise conv's input and the conv computes it chunk by chunk. */
void fs_nn_conv(const layer *L, const layer *dw, const fs_tensor *in, fs_tensor *out,
                float *scratch, int bf16);
void fs_nn_depthwise(const layer *L, const fs_tensor *in, fs_tensor *out);
/* Output pixels [m0, m0+count) (row-major, out_w per row) of a depthwise
 * conv into dst (count * C floats). */
void fs_nn_depthwise_range(const layer *L, const fs_tensor *in, int out_w, size_t m0,
                           size_t count, float *dst);
void fs_nn_pool(const layer *L, const fs_tensor *in, fs_tensor *out);
void fs_nn_mean(const fs_tensor *in, fs_tensor *out);
void fs_nn_add(const layer *L, const fs_tensor *in, fs_tensor *out);
void fs_nn_fc(const layer *L, const fs_tensor *in, fs_tensor *out);

/* ---- bfloat16 (gemm_bf16.c) ---- */

/*
 * Layers whose dot products are this short or shorter keep 16-bit weights
 * (bf16 + bf16 remainder) in bf16 plans.  Why: rounding the weights is a
 * fixed perturbation of the model, and short sums do not average it out.
 * With every weight in plain bf16 the SSD's scores dropped by 0.009 on
 * average (1 % of LFW photos lost their only face) and its boxes moved by
 * 0.7 px; keeping the SSD's K <= 128 layers (its first 256x256..64x64
 * pointwise convs, memory-bound anyway) at 16 bits removes the bias for
 * ~15 % more time.  docs/benchmarks.md has the measurements.
 */
#ifndef FS_NN_BF16_SPLIT_MAX_K /* -DFS_NN_BF16_SPLIT_MAX_K=0 rebuilds the plain variant */
#define FS_NN_BF16_SPLIT_MAX_K 128
#endif

/* float -> bf16 rounded to nearest even (NaN stays NaN), and back. */
uint16_t fs_nn_bf16_round(float v);
float fs_nn_bf16_float(uint16_t h);
/* n floats to bf16 (AVX-512 BF16 only). */
void fs_nn_bf16_convert(const float *src, uint16_t *dst, size_t n);
/* Size in uint16 of B [K][N] packed for fs_nn_bf16_gemm, and the packing;
 * `split` adds the remainders w - bf16(w) (16-bit weights, twice the work). */
size_t fs_nn_bf16_packed_count(int K, int N, int split);
void fs_nn_bf16_pack_b(const float *w, int K, int N, int split, uint16_t *dst);
/* C[M][N] (row stride ldc) = act(A B + bias) with A [M][K] bf16 row-major,
 * row stride lda (even, A 4-byte aligned, a row's element K, if K is odd,
 * must be finite: it meets a zero weight), B packed; bias may be NULL.
 * AVX-512 BF16 only: the caller checks fs_nn_cpu_bf16(). */
void fs_nn_bf16_gemm(int M, int N, int K, const uint16_t *a, size_t lda, const uint16_t *bp,
                     int split, float *c, size_t ldc, const float *bias, fs_act act);

#endif
