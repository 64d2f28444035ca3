/*
 * Depthwise convolution, NHWC: every output pixel is a per-channel weighted
 * sum of its window, so the channel loop is innermost and contiguous in the
 * input, the weights and the output — it vectorises (AVX-512 at -O3
 * -march=native).  Interior pixels of a 3x3 take a branch-free path with all
 * nine taps in one expression, a row at a time with the weights held in
 * registers; border pixels skip the taps that fall into the zero padding.
 */
#include "nn_internal.h"

/* 16 floats; aligned(4) so loads and stores may be unaligned.  GCC lowers
 * it to one zmm, two ymm or four xmm registers, whatever -march allows.
 * (Without AVX-512 GCC warns that passing such vectors by value has no
 * stable ABI; they only cross static functions of this file.) */
#pragma GCC diagnostic ignored "-Wpsabi"
typedef float v16 __attribute__((vector_size(64), aligned(4)));

typedef int v16i __attribute__((vector_size(64), aligned(4)));

/* m ? a : b per lane (m from a vector comparison: all ones or zero). */
static inline v16 sel(v16i m, v16 a, v16 b)
{
    return (v16)(((v16i)a & m) | ((v16i)b & ~m));
}

/* The activations exactly as fs_nn_act writes them, 16 lanes at once. */
static inline v16 act16(v16 v, fs_act act)
{
    const v16 zero = {0}, six = zero + 6.0f;
    switch (act) {
    case FS_ACT_RELU: return sel(v > zero, v, zero);
    case FS_ACT_RELU6:
        v = sel(v > zero, v, zero);
        return sel(v < six, v, six);
    case FS_ACT_LEAKY: return sel(v > zero, v, v * 0.1f);
    case FS_ACT_NONE:
    case FS_ACT_PRELU: /* fs_nn_prelu over the range afterwards */
        break;
    }
    return v;
}

/*
 * Interior pixels [ox0, ox1) of one output row of a 3x3 depthwise conv,
 * written from `out` on; the windows' rows start at r0, r0 + row,
 * r0 + 2*row (column 0 of the window at input x = ox*s - pl).  Per block of 16 channels the nine weight
 * vectors and the bias stay in registers while the row is swept.  The sum is
 * the same expression, in the same order, as the per-pixel code it replaces
 * (bias first, then taps row by row), so float32 results are unchanged.
 */
static void dw3x3_row(const layer *L, const float *r0, size_t row, int s, int pl, int ox0,
                      int ox1, float *out)
{
    const int C = L->cout, C16 = C / 16 * 16;
    const float *w = L->w;
    for (int c = 0; c < C16; c += 16) {
        const v16 b = *(const v16 *)(L->b + c);
        const v16 w0 = *(const v16 *)(w + c), w1 = *(const v16 *)(w + C + c),
                  w2 = *(const v16 *)(w + 2 * C + c), w3 = *(const v16 *)(w + 3 * C + c),
                  w4 = *(const v16 *)(w + 4 * C + c), w5 = *(const v16 *)(w + 5 * C + c),
                  w6 = *(const v16 *)(w + 6 * C + c), w7 = *(const v16 *)(w + 7 * C + c),
                  w8 = *(const v16 *)(w + 8 * C + c);
        for (int ox = ox0; ox < ox1; ox++) {
            const float *p = r0 + (size_t)(ox * s - pl) * C + c;
            const float *q = p + row, *t = q + row;
            v16 v = b + *(const v16 *)p * w0 + *(const v16 *)(p + C) * w1 +
                    *(const v16 *)(p + 2 * C) * w2 + *(const v16 *)q * w3 +
                    *(const v16 *)(q + C) * w4 + *(const v16 *)(q + 2 * C) * w5 +
                    *(const v16 *)t * w6 + *(const v16 *)(t + C) * w7 +
                    *(const v16 *)(t + 2 * C) * w8;
            *(v16 *)(out + (size_t)(ox - ox0) * C + c) = act16(v, L->act);
        }
    }
    for (int ox = ox0; C16 < C && ox < ox1; ox++) { /* channels past the last 16 */
        const float *p = r0 + (size_t)(ox * s - pl) * C, *q = p + row, *t = q + row;
        float *o = out + (size_t)(ox - ox0) * C;
        for (int c = C16; c < C; c++)
            o[c] = fs_nn_act(L->b[c] + p[c] * w[c] + p[C + c] * w[C + c] +
                                 p[2 * C + c] * w[2 * C + c] + q[c] * w[3 * C + c] +
                                 q[C + c] * w[4 * C + c] + q[2 * C + c] * w[5 * C + c] +
                                 t[c] * w[6 * C + c] + t[C + c] * w[7 * C + c] +
                                 t[2 * C + c] * w[8 * C + c],
                             L->act);
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

void fs_nn_depthwise_range(const layer *L, const fs_tensor *in, int out_w, size_t m0,
                           size_t count, float *dst)
{
    const int C = L->cout, s = L->stride;
    int pt, pl;
    fs_nn_out_size(in->h, L->kh, s, L->pad, L->pad_px, &pt);
    fs_nn_out_size(in->w, L->kw, s, L->pad, L->pad_px, &pl);
    const size_t row = (size_t)in->w * C;
    /* output columns whose 3x3 window lies inside the input */
    const int ox0 = (pl + s - 1) / s, ox1 = (in->w - 3 + pl) / s + 1;
    for (size_t m = m0, end = m0 + count; m < end;) {
        int oy = (int)(m / (size_t)out_w), xa = (int)(m % (size_t)out_w);
        int xb = end - m < (size_t)(out_w - xa) ? xa + (int)(end - m) : out_w;
        float *o = dst + (m - m0) * C;
        int iy0 = oy * s - pt;
        int a = xa > ox0 ? xa : ox0, b = xb < ox1 ? xb : ox1;
        if (!(L->kh == 3 && L->kw == 3 && iy0 >= 0 && iy0 + 3 <= in->h))
            a = b = xb;
        for (int ox = xa; ox < xb; ox++) {
            if (ox == a && a < b) {
                dw3x3_row(L, in->data + (size_t)iy0 * row, row, s, pl, a, b,
                          o + (size_t)(a - xa) * C);
                ox = b - 1;
                continue;
            }
            dw_generic_pixel(L, in, iy0, ox * s - pl, o + (size_t)(ox - xa) * C);
        }
        m += (size_t)(xb - xa);
    }
    if (L->slope)
        fs_nn_prelu(dst, count, C, L->slope);
}

void fs_nn_depthwise(const layer *L, const fs_tensor *in, fs_tensor *out)
{
    fs_nn_depthwise_range(L, in, out->w, 0, (size_t)out->h * out->w, out->data);
}
