/*
 * Pooling and global mean.  TF semantics: SAME max pooling ignores the
 * padded positions, SAME average pooling divides by the number of real
 * (non-padded) elements — for VALID windows that is always k*k.
 */
#include "nn_internal.h"

#include <float.h>
#include <stdlib.h>

void fs_nn_pool(const layer *L, const fs_tensor *in, fs_tensor *out)
{
    const int C = L->cout, s = L->stride;
    int pt, pl;
    fs_nn_out_size(in->h, L->kh, s, L->pad, L->pad_px, &pt);
    fs_nn_out_size(in->w, L->kw, s, L->pad, L->pad_px, &pl);
    for (int oy = 0; oy < out->h; oy++) {
        for (int ox = 0; ox < out->w; ox++) {
            float *restrict o = out->data + ((size_t)oy * out->w + ox) * C;
            int y0 = oy * s - pt, x0 = ox * s - pl;
            int y1 = y0 + L->kh, x1 = x0 + L->kw;
            y0 = y0 < 0 ? 0 : y0;
            x0 = x0 < 0 ? 0 : x0;
            y1 = y1 > in->h ? in->h : y1;
            x1 = x1 > in->w ? in->w : x1;
            float init = L->pool == FS_POOL_MAX ? -FLT_MAX : 0.0f;
            for (int c = 0; c < C; c++)
                o[c] = init;
            for (int y = y0; y < y1; y++) {
                for (int x = x0; x < x1; x++) {
                    const float *restrict p = in->data + ((size_t)y * in->w + x) * C;
                    if (L->pool == FS_POOL_MAX) {
                        for (int c = 0; c < C; c++)
                            o[c] = p[c] > o[c] ? p[c] : o[c];
                    } else {
                        for (int c = 0; c < C; c++)
                            o[c] += p[c];
                    }
                }
            }
            if (L->pool == FS_POOL_AVG) {
                float n = (float)((y1 - y0) * (x1 - x0));
                for (int c = 0; c < C; c++)
                    o[c] /= n;
            }
        }
    }
}

void fs_nn_mean(const fs_tensor *in, fs_tensor *out)
{
    const int C = in->c;
    const size_t n = (size_t)in->h * in->w;
    for (int c = 0; c < C; c++) {
        double sum = 0;
        for (size_t i = 0; i < n; i++)
            sum += in->data[i * C + c];
        out->data[c] = (float)(sum / (double)n);
    }
}
