/*
 * TensorFlow-legacy bilinear resize (see image.h and the golden README §3).
 *
 * Arithmetic is float32 in the order TF's kernel uses: scale = in / out,
 * s = i * scale, i0 = floor(s), i1 = min(ceil(s), in-1), f = s - i0;
 * top = p00 + (p01 - p00) * fx, bottom likewise, out = top + (bottom - top) * fy.
 * (The build is ISO C, so the compiler does not contract these into FMAs.)
 *
 * Speed: per-column indices and fractions are computed once; each needed
 * source row is interpolated horizontally once into a cached float row (two
 * rows cached, so upscaling reuses them); then a vertical lerp.  Columns and
 * rows inside the zero padding are split off into their own ranges, so the
 * hot loop has no bounds tests.  Reading a padded zero as 0.0f gives exactly
 * what the formula gives on a materialised zero-padded image.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct axis {
    int *i0, *i1;     /* source indices (columns: already times channels) */
    float *f;         /* fraction */
    int n_full;       /* [0, n_full): both neighbours inside the window */
    int n_edge;       /* [n_full, n_edge): i0 inside, i1 in the padding */
} axis;               /* [n_edge, n): both in the padding */

static void axis_setup(axis *a, int n, int in, int inside, int mult)
{
    float scale = (float)in / (float)n;
    a->n_full = a->n_edge = 0;
    for (int i = 0; i < n; i++) {
        float s = (float)i * scale;
        int i0 = (int)s; /* s >= 0: truncation is floor */
        int i1 = (float)i0 < s ? i0 + 1 : i0;
        if (i1 > in - 1)
            i1 = in - 1;
        a->i0[i] = i0 * mult;
        a->i1[i] = i1 * mult;
        a->f[i] = s - (float)i0;
        /* i0 and i1 never decrease with i, so the ranges are contiguous. */
        if (i1 < inside)
            a->n_full = i + 1;
        if (i0 < inside)
            a->n_edge = i + 1;
    }
}

/* Horizontal pass over one source row into out[dst_w * ch]. */
#define DEFINE_HPASS(NAME, T)                                                    \
    static inline __attribute__((always_inline)) void NAME(                     \
        const T *row, const axis *ax, int n, int ch, float *out)                 \
    {                                                                            \
        int j = 0;                                                               \
        for (; j < ax->n_full; j++) {                                            \
            const T *a = row + ax->i0[j], *b = row + ax->i1[j];                  \
            float fx = ax->f[j];                                                 \
            for (int c = 0; c < ch; c++) {                                       \
                float p0 = (float)a[c], p1 = (float)b[c];                        \
                out[j * ch + c] = p0 + (p1 - p0) * fx;                           \
            }                                                                    \
        }                                                                        \
        for (; j < ax->n_edge; j++) {                                            \
            const T *a = row + ax->i0[j];                                        \
            float fx = ax->f[j];                                                 \
            for (int c = 0; c < ch; c++) {                                       \
                float p0 = (float)a[c];                                          \
                out[j * ch + c] = p0 + (0.0f - p0) * fx;                         \
            }                                                                    \
        }                                                                        \
        memset(out + (size_t)j * ch, 0, sizeof(float) * (size_t)(n - j) * ch);   \
    }

DEFINE_HPASS(hpass_u8, uint8_t)
DEFINE_HPASS(hpass_f32, float)

typedef struct job {
    const void *src;
    int is_u8, src_h, stride, ch, dst_w;
    axis cols;
    float *row[2];    /* cached horizontal passes */
    int row_y[2];     /* which source row each holds, -1 = none */
} job;

static void hrow(const job *jb, int y, float *out)
{
    int n = jb->dst_w, ch = jb->ch;
    if (y >= jb->src_h) {
        memset(out, 0, sizeof(float) * (size_t)n * ch);
    } else if (jb->is_u8) {
        const uint8_t *r = (const uint8_t *)jb->src + (size_t)y * jb->stride;
        if (ch == 3) /* the common case, with the channel loop unrolled */
            hpass_u8(r, &jb->cols, n, 3, out);
        else
            hpass_u8(r, &jb->cols, n, ch, out);
    } else {
        const float *r = (const float *)jb->src + (size_t)y * jb->stride;
        if (ch == 3)
            hpass_f32(r, &jb->cols, n, 3, out);
        else
            hpass_f32(r, &jb->cols, n, ch, out);
    }
}

/* The cached horizontal pass of source row y, computed into a slot other
 * than `keep` if needed. */
static const float *cached_row(job *jb, int y, const float *keep)
{
    for (int k = 0; k < 2; k++)
        if (jb->row_y[k] == y)
            return jb->row[k];
    int k = jb->row[0] == keep ? 1 : 0;
    hrow(jb, y, jb->row[k]);
    jb->row_y[k] = y;
    return jb->row[k];
}

static int resize_tf(const void *src, int is_u8, int src_w, int src_h, int src_stride,
                     int pad_w, int pad_h, int ch, float *dst, int dst_w, int dst_h)
{
    if (!src || !dst || ch < 1 || src_w < 0 || src_h < 0 || pad_w < 1 || pad_h < 1 ||
        pad_w < src_w || pad_h < src_h || dst_w < 1 || dst_h < 1 ||
        src_stride < src_w * ch)
        return FS_EUSAGE;
    size_t rowlen = (size_t)dst_w * ch;
    job jb = {src, is_u8, src_h, src_stride, ch, dst_w, {0}, {0}, {-1, -1}};
    axis rows = {0};
    int *ints = malloc(sizeof(int) * 2 * ((size_t)dst_w + dst_h));
    float *flts = malloc(sizeof(float) * ((size_t)dst_w + dst_h + 2 * rowlen));
    if (!ints || !flts) {
        free(ints);
        free(flts);
        return FS_ENOMEM;
    }
    jb.cols.i0 = ints;
    jb.cols.i1 = ints + dst_w;
    rows.i0 = ints + 2 * dst_w;
    rows.i1 = rows.i0 + dst_h;
    jb.cols.f = flts;
    rows.f = flts + dst_w;
    jb.row[0] = flts + dst_w + dst_h;
    jb.row[1] = jb.row[0] + rowlen;
    axis_setup(&jb.cols, dst_w, pad_w, src_w, ch);
    axis_setup(&rows, dst_h, pad_h, src_h, 1);

    for (int r = 0; r < dst_h; r++) {
        const float *top = cached_row(&jb, rows.i0[r], NULL);
        const float *bot = cached_row(&jb, rows.i1[r], top);
        float fy = rows.f[r];
        float *o = dst + (size_t)r * rowlen;
        for (size_t k = 0; k < rowlen; k++)
            o[k] = top[k] + (bot[k] - top[k]) * fy;
    }
    free(ints);
    free(flts);
    return FS_OK;
}

int fs_resize_tf_u8(const uint8_t *src, int src_w, int src_h, int src_stride,
                    int pad_w, int pad_h, int channels,
                    float *dst, int dst_w, int dst_h)
{
    return resize_tf(src, 1, src_w, src_h, src_stride, pad_w, pad_h, channels, dst, dst_w, dst_h);
}

int fs_resize_tf_f32(const float *src, int src_w, int src_h, int src_stride,
                     int pad_w, int pad_h, int channels,
                     float *dst, int dst_w, int dst_h)
{
    return resize_tf(src, 0, src_w, src_h, src_stride, pad_w, pad_h, channels, dst, dst_w, dst_h);
}
