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

/* Rows [m0, m0+rows) of the im2col matrix into a (K floats per row). */
static void im2col(const layer *L, const fs_tensor *in, int ow, int pt, int pl, int m0, int rows,
                   float *restrict a)
{
    const int cin = L->cin, kw = L->kw, s = L->stride;
    const size_t K = (size_t)L->kh * kw * cin, span = (size_t)kw * cin;
    for (int r = 0; r < rows; r++) {
        int m = m0 + r, oy = m / ow, ox = m % ow;
        int iy0 = oy * s - pt, ix0 = ox * s - pl;
        float *row = a + (size_t)r * K;
        for (int ky = 0; ky < L->kh; ky++, row += span) {
            int iy = iy0 + ky;
            if (iy < 0 || iy >= in->h) {
                memset(row, 0, span * sizeof *row);
                continue;
            }
            const float *src = in->data + ((size_t)iy * in->w) * cin;
            if (ix0 >= 0 && ix0 + kw <= in->w) {
                /* the kw taps of one filter row are adjacent in NHWC */
                memcpy(row, src + (size_t)ix0 * cin, span * sizeof *row);
                continue;
            }
            for (int kx = 0; kx < kw; kx++) {
                int ix = ix0 + kx;
                if (ix < 0 || ix >= in->w)
                    memset(row + (size_t)kx * cin, 0, (size_t)cin * sizeof *row);
                else
                    memcpy(row + (size_t)kx * cin, src + (size_t)ix * cin,
                           (size_t)cin * sizeof *row);
            }
        }
    }
}

void fs_nn_conv(const layer *L, const fs_tensor *in, fs_tensor *out, float *scratch)
{
    const int M = out->h * out->w, N = L->cout, K = L->kh * L->kw * L->cin;
    const int direct = L->kh == 1 && L->kw == 1 && L->stride == 1;
    int pt, pl;
    fs_nn_out_size(in->h, L->kh, L->stride, L->pad, &pt);
    fs_nn_out_size(in->w, L->kw, L->stride, L->pad, &pl);
    const int chunk = fs_nn_conv_chunk_rows(L, M);
    for (int m0 = 0; m0 < M; m0 += chunk) {
        int rows = M - m0 < chunk ? M - m0 : chunk;
        const float *a;
        if (direct) {
            a = in[0].data + (size_t)m0 * K;
        } else {
            im2col(L, in, out->w, pt, pl, m0, rows, scratch);
            a = scratch;
        }
        float *c = out->data + (size_t)m0 * N;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, N, K, 1.0f, a, K, L->w, N,
                    0.0f, c, N);
        fs_nn_bias_act(c, (size_t)rows, N, L->b, L->act);
    }
}

void fs_nn_fc(const layer *L, const fs_tensor *in, fs_tensor *out)
{
    cblas_sgemv(CblasRowMajor, CblasTrans, L->cin, L->cout, 1.0f, L->w, L->cout, in->data, 1,
                0.0f, out->data, 1);
    fs_nn_bias_act(out->data, 1, L->cout, L->b, L->act);
}
