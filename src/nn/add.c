/*
 * Residual / dense-block sums: out = act(in0 + (in1 + (... + inN))).  The
 * right-to-left order is the one the reference uses (tf.add(a, tf.add(b, c))).
 * Inputs smaller than the output count as zero-extended (bottom/right rows
 * and columns, trailing channels): the ResNet down-sampling shortcut.
 */
#include "nn_internal.h"

#include <string.h>

/* Element (y, x, c) of t, or 0 outside it. */
static inline float at(const fs_tensor *t, int y, int x, int c)
{
    if (y >= t->h || x >= t->w || c >= t->c)
        return 0.0f;
    return t->data[((size_t)y * t->w + x) * t->c + c];
}

void fs_nn_add(const layer *L, const fs_tensor *in, fs_tensor *out)
{
    const int n = L->n_in;
    int same = 1;
    for (int k = 0; k < n; k++)
        same &= in[k].h == out->h && in[k].w == out->w && in[k].c == out->c;
    if (same) {
        const size_t count = fs_tensor_count(*out);
        float *restrict o = out->data;
        memcpy(o, in[n - 1].data, count * sizeof *o);
        for (int k = n - 2; k >= 0; k--) {
            const float *restrict a = in[k].data;
            for (size_t i = 0; i < count; i++)
                o[i] = a[i] + o[i];
        }
        fs_nn_act_inplace(o, count, L->act);
        return;
    }
    for (int y = 0; y < out->h; y++)
        for (int x = 0; x < out->w; x++)
            for (int c = 0; c < out->c; c++) {
                float v = at(&in[n - 1], y, x, c);
                for (int k = n - 2; k >= 0; k--)
                    v = at(&in[k], y, x, c) + v;
                out->data[((size_t)y * out->w + x) * out->c + c] = fs_nn_act(v, L->act);
            }
}
