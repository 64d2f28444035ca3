/*
 * SSD anchors for any input size.
 *
 * The model's stored anchors (`Output/extra_dim`, 5118 boxes for a 512x512
 * input) are those of the TF object-detection API's multiple-grid anchor
 * generator as configured for this detector: six feature maps, scales
 * s_k = 0.2 + 0.75 k / 5 (k = 0..5), aspect ratios {1, 2, 1/2, 3, 0.3333}
 * plus, after ratio 1, the interpolated scale sqrt(s_k s_{k+1}) (s_6 = 1);
 * the lowest map has only (0.1, 1), (0.2, 2), (0.2, 1/2).  A box of scale s
 * and ratio a is s*sqrt(a) wide and s/sqrt(a) high; centres sit at
 * (i + 0.5) / grid.  All arithmetic is float32, in TF's order.
 *
 * The network is convolutional and learnt its sizes in pixels of a 512
 * input: feature map k has a stride of 16 * 2^k input pixels and its anchors
 * are s * 512 pixels across.  For another input side S the anchors keep those
 * pixel sizes and strides, expressed relative to S (centre (i + 0.5) *
 * stride_k / S, size s * 512 / S).  At S = 512 this is exactly the stored
 * table (tests/test_face_anchors.c checks every value).
 */
#include "face_internal.h"

#include <math.h>

#define N_RATIOS 5
static const float ratios[N_RATIOS] = {1.0f, 2.0f, 0.5f, 3.0f, 0.3333f};

int fs_ssd_anchor_count(const int grid_h[FS_SSD_HEADS], const int grid_w[FS_SSD_HEADS])
{
    int n = 0;
    for (int k = 0; k < FS_SSD_HEADS; k++)
        n += grid_h[k] * grid_w[k] * (k == 0 ? 3 : 6);
    return n;
}

/* The boxes of one cell of map k: heights and widths in units of the 512
 * reference input.
 *
 * Reproducing the stored table to the bit needs two details of how the
 * exporter computed it, both recovered from the table itself: the
 * interpolated scale is sqrt(s_k * s_{k+1}) of the float32 scales, and
 * sqrt(ratio) came out one ulp low for the first four of the six ratios of
 * maps 1-5 (a vectorised approximate square root on one 4-wide lane; the
 * two left over and the 3-box lowest map were exact). */
static int cell_boxes(int k, float *h, float *w)
{
    if (k == 0) {
        static const float s0[3] = {0.1f, 0.2f, 0.2f}, r0[3] = {1.0f, 2.0f, 0.5f};
        for (int a = 0; a < 3; a++) {
            float rs = sqrtf(r0[a]);
            h[a] = s0[a] / rs;
            w[a] = s0[a] * rs;
        }
        return 3;
    }
    /* The scales are Python doubles in the generator, handed over as float32. */
    float s = (float)(0.2 + (0.95 - 0.2) * k / (FS_SSD_HEADS - 1));
    float next = k + 1 < FS_SSD_HEADS ? (float)(0.2 + (0.95 - 0.2) * (k + 1) / (FS_SSD_HEADS - 1))
                                      : 1.0f;
    float sc[6], ar[6];
    int n = 0;
    for (int r = 0; r < N_RATIOS; r++) {
        sc[n] = s;
        ar[n++] = ratios[r];
        if (r == 0) {
            sc[n] = (float)sqrt((double)s * next);
            ar[n++] = 1.0f;
        }
    }
    for (int a = 0; a < n; a++) {
        float rs = sqrtf(ar[a]);
        if (a < 4)
            rs = nextafterf(rs, 0.0f);
        h[a] = sc[a] / rs;
        w[a] = sc[a] * rs;
    }
    return n;
}

int fs_ssd_anchors(int input, const int grid_h[FS_SSD_HEADS], const int grid_w[FS_SSD_HEADS],
                   float *out)
{
    const float unit = (float)((double)FS_SSD_INPUT / input); /* reference px per input px */
    int n = 0;
    for (int k = 0; k < FS_SSD_HEADS; k++) {
        float h[6], w[6];
        int per = cell_boxes(k, h, w);
        const float stride = (float)((16 << k) / (double)input);
        const float offset = 0.5f * stride;
        for (int y = 0; y < grid_h[k]; y++)
            for (int x = 0; x < grid_w[k]; x++)
                for (int a = 0; a < per; a++) {
                    float cy = (float)y * stride + offset, cx = (float)x * stride + offset;
                    float hh = h[a] * unit, ww = w[a] * unit;
                    float *b = out + 4 * n++;
                    b[0] = cy - 0.5f * hh;
                    b[1] = cx - 0.5f * ww;
                    b[2] = cy + 0.5f * hh;
                    b[3] = cx + 0.5f * ww;
                }
    }
    return n;
}
