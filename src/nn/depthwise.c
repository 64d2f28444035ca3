/*
 * Depthwise convolution, NHWC: every output pixel is a per-channel weighted
 * sum of its window, so the channel loop is innermost and contiguous in the
 * input, the weights and the output — it vectorises (AVX-512 at -O3
 * -march=native).  Interior pixels of a 3x3 take a branch-free path with all
 * nine taps in one expression; border pixels skip the taps that fall into the
 * zero padding.
 */
#include "nn_internal.h"

/* One interior output pixel of a 3x3: rows r0..r2 start at the window's
 * top-left input pixel; C channels; w holds 9 taps of C weights. */
static void dw3x3_pixel(const float *restrict r0, const float *restrict r1,
                        const float *restrict r2, const float *restrict w,
                        const float *restrict b, float *restrict o, int C, fs_act act)
{
    const float *w0 = w, *w1 = w + C, *w2 = w + 2 * C, *w3 = w + 3 * C, *w4 = w + 4 * C,
                *w5 = w + 5 * C, *w6 = w + 6 * C, *w7 = w + 7 * C, *w8 = w + 8 * C;
    const float *r01 = r0 + C, *r02 = r0 + 2 * C, *r11 = r1 + C, *r12 = r1 + 2 * C,
                *r21 = r2 + C, *r22 = r2 + 2 * C;
    switch (act) {
    case FS_ACT_RELU6:
#pragma omp simd
        for (int c = 0; c < C; c++) {
            float v = b[c] + r0[c] * w0[c] + r01[c] * w1[c] + r02[c] * w2[c] + r1[c] * w3[c] +
                      r11[c] * w4[c] + r12[c] * w5[c] + r2[c] * w6[c] + r21[c] * w7[c] +
                      r22[c] * w8[c];
            v = v > 0.0f ? v : 0.0f;
            o[c] = v < 6.0f ? v : 6.0f;
        }
        break;
    default:
#pragma omp simd
        for (int c = 0; c < C; c++)
            o[c] = b[c] + r0[c] * w0[c] + r01[c] * w1[c] + r02[c] * w2[c] + r1[c] * w3[c] +
                   r11[c] * w4[c] + r12[c] * w5[c] + r2[c] * w6[c] + r21[c] * w7[c] +
                   r22[c] * w8[c];
        fs_nn_act_inplace(o, (size_t)C, act);
        break;
    }
}

/* Any kernel size, any position: taps outside the input are skipped. */
static void dw_generic_pixel(const layer *L, const fs_tensor *in, int iy0, int ix0,
                             float *restrict o)
{
    const int C = L->cout;
    for (int c = 0; c < C; c++)
        o[c] = L->b[c];
    for (int ky = 0; ky < L->kh; ky++) {
        int iy = iy0 + ky;
        if (iy < 0 || iy >= in->h)
            continue;
        for (int kx = 0; kx < L->kw; kx++) {
            int ix = ix0 + kx;
            if (ix < 0 || ix >= in->w)
                continue;
            const float *restrict src = in->data + ((size_t)iy * in->w + ix) * C;
            const float *restrict w = L->w + (size_t)(ky * L->kw + kx) * C;
#pragma omp simd
            for (int c = 0; c < C; c++)
                o[c] += src[c] * w[c];
        }
    }
    fs_nn_act_inplace(o, (size_t)C, L->act);
}

void fs_nn_depthwise(const layer *L, const fs_tensor *in, fs_tensor *out)
{
    const int C = L->cout, s = L->stride;
    int pt, pl;
    fs_nn_out_size(in->h, L->kh, s, L->pad, &pt);
    fs_nn_out_size(in->w, L->kw, s, L->pad, &pl);
    const size_t row = (size_t)in->w * C;
    for (int oy = 0; oy < out->h; oy++) {
        int iy0 = oy * s - pt;
        int y_inside = iy0 >= 0 && iy0 + L->kh <= in->h;
        for (int ox = 0; ox < out->w; ox++) {
            int ix0 = ox * s - pl;
            float *o = out->data + ((size_t)oy * out->w + ox) * C;
            if (L->kh == 3 && L->kw == 3 && y_inside && ix0 >= 0 && ix0 + 3 <= in->w) {
                const float *r0 = in->data + (size_t)iy0 * row + (size_t)ix0 * C;
                dw3x3_pixel(r0, r0 + row, r0 + 2 * row, L->w, L->b, o, C, L->act);
            } else {
                dw_generic_pixel(L, in, iy0, ix0, o);
            }
        }
    }
}
