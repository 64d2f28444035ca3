/* Face quality measures stored with each face record. */
#include <math.h>

#include "internal.h"

static float luma(const fs_image *img, int x, int y)
{
    const uint8_t *p = img->data + ((size_t)y * (size_t)img->width + (size_t)x) * 3;
    return 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
}

float fs_face_sharpness(const fs_image *img, const float box[4])
{
    int x0 = (int)floorf(box[0]), y0 = (int)floorf(box[1]);
    int x1 = (int)ceilf(box[0] + box[2]), y1 = (int)ceilf(box[1] + box[3]);
    if (x0 < 1) x0 = 1;
    if (y0 < 1) y0 = 1;
    if (x1 > img->width - 1) x1 = img->width - 1;
    if (y1 > img->height - 1) y1 = img->height - 1;
    if (x1 - x0 < 3 || y1 - y0 < 3)
        return 0;
    /* Step so that at most 64 samples are taken per axis; the Laplacian uses
     * neighbours `step` apart, i.e. it is measured at the sampling scale. */
    int step = ((x1 - x0 > y1 - y0 ? x1 - x0 : y1 - y0) + 63) / 64;
    if (step < 1)
        step = 1;
    double sum = 0, sum2 = 0;
    long n = 0;
    for (int y = y0; y + step < y1 + 1 && y - step >= 0; y += step)
        for (int x = x0; x + step < x1 + 1 && x - step >= 0; x += step) {
            if (y + step >= img->height || x + step >= img->width)
                continue;
            float l = luma(img, x - step, y) + luma(img, x + step, y) + luma(img, x, y - step) +
                      luma(img, x, y + step) - 4 * luma(img, x, y);
            sum += l;
            sum2 += (double)l * l;
            n++;
        }
    if (n < 2)
        return 0;
    double mean = sum / (double)n;
    return (float)(sum2 / (double)n - mean * mean);
}
