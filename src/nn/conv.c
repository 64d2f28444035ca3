/*
 * Regular convolution as a matrix product: out[M=pixels][N=cout] =
 * A[M][K=kh*kw*cin] x W[K][N], where a row of A holds the receptive field of
 * one output pixel in (ky, kx, ci) order — the HWIO weight layout, so W is
 * the stored filter as is.  1x1 stride-1 convs use the NHWC input as A
 * directly.  The product runs in row chunks so that the im2col chunk and the
 * output chunk are still in cache when bias and activation are applied.
 */
#include "nn_internal.h"

#include <cblas.h>
#include <string.h>

void fs_nn_act_inplace(float *restrict x, size_t n, fs_act act)
{
    switch (act) {
    case FS_ACT_NONE:
    case FS_ACT_PRELU: /* fs_nn_prelu */
        break;
    case FS_ACT_RELU:
        for (size_t i = 0; i < n; i++)
            x[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    case FS_ACT_RELU6:
        for (size_t i = 0; i < n; i++) {
            float v = x[i] > 0.0f ? x[i] : 0.0f;
            x[i] = v < 6.0f ? v : 6.0f;
        }
        break;
    case FS_ACT_LEAKY:
        for (size_t i = 0; i < n; i++)
            x[i] = x[i] > 0.0f ? x[i] : 0.1f * x[i];
        break;
    }
}

void fs_nn_bias_act(float *restrict x, size_t rows, int c, const float *restrict bias, fs_act act)
{
    for (size_t r = 0; r < rows; r++, x += c) {
        switch (act) {
        case FS_ACT_NONE:
        case FS_ACT_PRELU: /* fs_nn_prelu follows */
            for (int i = 0; i < c; i++)
                x[i] += bias[i];
            break;
        case FS_ACT_RELU:
            for (int i = 0; i < c; i++) {
                float v = x[i] + bias[i];
                x[i] = v > 0.0f ? v : 0.0f;
            }
            break;
        case FS_ACT_RELU6:
            for (int i = 0; i < c; i++) {
                float v = x[i] + bias[i];
                v = v > 0.0f ? v : 0.0f;
                x[i] = v < 6.0f ? v : 6.0f;
            }
            break;
        case FS_ACT_LEAKY:
            for (int i = 0; i < c; i++) {
                float v = x[i] + bias[i];
                x[i] = v > 0.0f ? v : 0.1f * v;
            }
            break;
        }
    }
}

void fs_nn_prelu(float *restrict x, size_t rows, int c, const float *restrict slope)
{
    for (size_t r = 0; r < rows; r++, x += c)
        for (int i = 0; i < c; i++)
            x[i] = x[i] > 0.0f ? x[i] : slope[i] * x[i];
}

/* im2col destination: float rows, or bf16 rows (the bf16 kernel's A). */
typedef struct arows {
    void *base;
    size_t ld;  /* elements per row */
    int bf16;
} arows;

static inline void put(const arows *a, size_t at, const float *src, size_t n)
{
    if (a->bf16)
        fs_nn_bf16_convert(src, (uint16_t *)a->base + at, n);
    else
        memcpy((float *)a->base + at, src, n * sizeof(float));
}

static inline void zero(const arows *a, size_t at, size_t n)
{
    size_t es = a->bf16 ? sizeof(uint16_t) : sizeof(float);
    memset((char *)a->base + at * es, 0, n * es);
}

/* Rows [m0, m0+rows) of the im2col matrix into a (K values per row, then
 * zeros up to a->ld). */
static void im2col(const layer *L, const fs_tensor *in, int ow, int pt, int pl, int m0, int rows,
                   const arows *a)
{
    const int cin = L->cin, kw = L->kw, s = L->stride;
    const size_t K = (size_t)L->kh * kw * cin, span = (size_t)kw * cin;
    for (int r = 0; r < rows; r++) {
        int m = m0 + r, oy = m / ow, ox = m % ow;
        int iy0 = oy * s - pt, ix0 = ox * s - pl;
        size_t row = (size_t)r * a->ld;
        for (int ky = 0; ky < L->kh; ky++, row += span) {
            int iy = iy0 + ky;
            if (iy < 0 || iy >= in->h) {
                zero(a, row, span);
                continue;
            }
            const float *src = in->data + ((size_t)iy * in->w) * cin;
            if (ix0 >= 0 && ix0 + kw <= in->w) {
                /* the kw taps of one filter row are adjacent in NHWC */
                put(a, row, src + (size_t)ix0 * cin, span);
                continue;
            }
            for (int kx = 0; kx < kw; kx++) {
                int ix = ix0 + kx;
                if (ix < 0 || ix >= in->w)
                    zero(a, row + (size_t)kx * cin, (size_t)cin);
                else
                    put(a, row + (size_t)kx * cin, src + (size_t)ix * cin, (size_t)cin);
            }
        }
        if (a->ld > K)
            zero(a, (size_t)r * a->ld + K, a->ld - K);
    }
}

/* bf16 rows need an even stride (the kernel reads K pairs). */
static size_t bf16_ld(const layer *L)
{
    return ((size_t)L->kh * L->kw * L->cin + 1) / 2 * 2;
}

/* Floats of the conv's own scratch (before a fused depthwise chunk). */
static size_t own_scratch(const layer *L, size_t rows, int bf16)
{
    if (bf16 && L->wb)
        return (rows * bf16_ld(L) + 1) / 2;
    if (L->kh == 1 && L->kw == 1 && L->stride == 1)
        return 0;
    return rows * (size_t)(L->kh * L->kw * L->cin);
}

size_t fs_nn_conv_scratch(const layer *L, int out_pixels, int bf16, int fused)
{
    if (L->type != L_CONV)
        return 0;
    size_t rows = (size_t)fs_nn_conv_chunk_rows(L, out_pixels, bf16, fused);
    return own_scratch(L, rows, bf16) + (fused ? rows * (size_t)L->cin : 0);
}

void fs_nn_conv(const layer *L, const layer *dw, const fs_tensor *in, fs_tensor *out,
                float *scratch, int bf16)
{
    const int M = out->h * out->w, N = L->cout, K = L->kh * L->kw * L->cin;
    const int direct = L->kh == 1 && L->kw == 1 && L->stride == 1;
    bf16 = bf16 && L->wb;
    int pt, pl;
    fs_nn_out_size(in->h, L->kh, L->stride, L->pad, L->pad_px, &pt);
    fs_nn_out_size(in->w, L->kw, L->stride, L->pad, L->pad_px, &pl);
    const int chunk = fs_nn_conv_chunk_rows(L, M, bf16, dw != NULL);
    const arows a = {scratch, bf16 ? bf16_ld(L) : (size_t)K, bf16};
    /* a fused depthwise conv's chunk follows the conv's own scratch */
    float *dwbuf = scratch + own_scratch(L, (size_t)chunk, bf16);
    for (int m0 = 0; m0 < M; m0 += chunk) {
        int rows = M - m0 < chunk ? M - m0 : chunk;
        float *c = out->data + (size_t)m0 * N;
        const float *src = in[0].data + (size_t)m0 * K;
        if (dw) {
            fs_nn_depthwise_range(dw, in, out->w, (size_t)m0, (size_t)rows, dwbuf);
            src = dwbuf;
        }
        if (bf16) {
            if (direct && a.ld == (size_t)K)
                fs_nn_bf16_convert(src, (uint16_t *)(void *)scratch, (size_t)rows * K);
            else if (direct) /* odd K: pad each row */
                for (int r = 0; r < rows; r++) {
                    put(&a, (size_t)r * a.ld, src + (size_t)r * K, (size_t)K);
                    zero(&a, (size_t)r * a.ld + K, a.ld - K);
                }
            else
                im2col(L, in, out->w, pt, pl, m0, rows, &a);
            fs_nn_bf16_gemm(rows, N, K, (const uint16_t *)(void *)scratch, a.ld, L->wb, L->wsplit,
                            c, (size_t)N, L->b, L->act);
            if (L->slope)
                fs_nn_prelu(c, (size_t)rows, N, L->slope);
            continue;
        }
        if (!direct) {
            im2col(L, in, out->w, pt, pl, m0, rows, &a);
            src = scratch;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, N, K, 1.0f, src, K, L->w, N,
                    0.0f, c, N);
        fs_nn_bias_act(c, (size_t)rows, N, L->b, L->act);
        if (L->slope)
            fs_nn_prelu(c, (size_t)rows, N, L->slope);
    }
}

void fs_nn_fc(const layer *L, const fs_tensor *in, fs_tensor *out)
{
    cblas_sgemv(CblasRowMajor, CblasTrans, L->cin, L->cout, 1.0f, L->w, L->cout, in->data, 1,
                0.0f, out->data, 1);
    fs_nn_bias_act(out->data, 1, L->cout, L->b, L->act);
}
