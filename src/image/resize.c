/*
 * Resizing for thumbnails and previews (not network inputs; those use the
 * TF-exact fs_resize_tf_*).  Separable: along each axis every output pixel is
 * a weighted sum of source pixels — the area it covers when shrinking (box
 * filter, so no aliasing), bilinear with pixel-centre alignment when
 * enlarging.  Taps are computed once per axis; a horizontal pass over every
 * source row into a float buffer is followed by a vertical pass.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct taps {
    int *start;   /* first source index of output i */
    int *count;   /* taps used by output i */
    float *w;     /* weights, max_taps per output */
    int max_taps;
} taps;

static void taps_free(taps *t)
{
    free(t->start);
    free(t->count);
    free(t->w);
}

static int taps_make(taps *t, int in, int out)
{
    double s = (double)in / out;
    t->max_taps = out <= in ? (int)ceil(s) + 1 : 2;
    t->start = malloc(sizeof(int) * (size_t)out);
    t->count = malloc(sizeof(int) * (size_t)out);
    t->w = calloc((size_t)out * t->max_taps, sizeof(float));
    if (!t->start || !t->count || !t->w) {
        taps_free(t);
        return FS_ENOMEM;
    }
    for (int i = 0; i < out; i++) {
        float *w = t->w + (size_t)i * t->max_taps;
        if (out <= in) {
            /* Output i covers source [i*s, (i+1)*s): weight = overlap / s. */
            double lo = i * s, hi = (i + 1) * s;
            int j0 = (int)floor(lo), j1 = (int)ceil(hi);
            if (j1 > in)
                j1 = in;
            t->start[i] = j0;
            t->count[i] = j1 - j0;
            for (int j = j0; j < j1; j++)
                w[j - j0] = (float)((fmin(j + 1, hi) - fmax(j, lo)) / s);
        } else {
            double c = (i + 0.5) * s - 0.5;
            if (c < 0)
                c = 0;
            int j0 = (int)floor(c);
            if (j0 > in - 2)
                j0 = in - 2 < 0 ? 0 : in - 2;
            double f = c - j0;
            if (f > 1)
                f = 1;
            t->start[i] = j0;
            t->count[i] = in > 1 ? 2 : 1;
            w[0] = (float)(1 - f);
            w[1] = (float)f;
            if (in == 1)
                w[0] = 1;
        }
    }
    return FS_OK;
}

int fs_image_resize(const fs_image *img, int w, int h, fs_image *out, fs_error *err)
{
    memset(out, 0, sizeof *out);
    if (!img || !img->data || img->width <= 0 || img->height <= 0 || w <= 0 || h <= 0 ||
        w > FS_IMAGE_MAX_SIDE || h > FS_IMAGE_MAX_SIDE)
        return fs_fail(err, FS_EUSAGE, "cannot resize a %dx%d image to %dx%d",
                       img ? img->width : 0, img ? img->height : 0, w, h);
    taps tx = {0}, ty = {0};
    float *mid = NULL;
    int st = FS_ENOMEM;
    if (taps_make(&tx, img->width, w) || taps_make(&ty, img->height, h))
        goto done;
    int sw = img->width, sh = img->height;
    size_t midrow = (size_t)w * 3;
    mid = malloc(sizeof(float) * midrow * sh);
    if (!mid || fs_image_alloc(out, w, h, err) != FS_OK)
        goto done;
    for (int y = 0; y < sh; y++) {
        const uint8_t *row = img->data + (size_t)y * sw * 3;
        float *m = mid + (size_t)y * midrow;
        for (int i = 0; i < w; i++) {
            const float *wt = tx.w + (size_t)i * tx.max_taps;
            const uint8_t *p = row + (size_t)tx.start[i] * 3;
            float r = 0, g = 0, b = 0;
            for (int k = 0; k < tx.count[i]; k++, p += 3) {
                r += wt[k] * p[0];
                g += wt[k] * p[1];
                b += wt[k] * p[2];
            }
            m[3 * i] = r;
            m[3 * i + 1] = g;
            m[3 * i + 2] = b;
        }
    }
    float *acc = malloc(sizeof(float) * midrow);
    if (!acc) {
        fs_image_free(out);
        goto done;
    }
    for (int y = 0; y < h; y++) {
        const float *wt = ty.w + (size_t)y * ty.max_taps;
        memset(acc, 0, sizeof(float) * midrow);
        for (int k = 0; k < ty.count[y]; k++) {
            const float *m = mid + (size_t)(ty.start[y] + k) * midrow;
            for (size_t j = 0; j < midrow; j++)
                acc[j] += wt[k] * m[j];
        }
        uint8_t *o = out->data + (size_t)y * midrow;
        for (size_t j = 0; j < midrow; j++) {
            float v = acc[j] + 0.5f;
            o[j] = v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t)v;
        }
    }
    free(acc);
    st = FS_OK;
done:
    if (st == FS_ENOMEM)
        fs_fail(err, st, "out of memory resizing %dx%d to %dx%d", img->width, img->height, w, h);
    free(mid);
    taps_free(&tx);
    taps_free(&ty);
    return st;
}
