/* Affine warp with bilinear sampling (face alignment) and its inverse map. */
#include <math.h>

#include "internal.h"

static inline float px_or(const fs_image *s, int x, int y, int c, const float *border)
{
    if (x < 0 || y < 0 || x >= s->width || y >= s->height)
        return border[c];
    return (float)s->data[((size_t)y * s->width + x) * 3 + c];
}

void fs_warp_affine_u8(const fs_image *src, const double m[6],
                       float *dst, int dst_w, int dst_h, const float border[3])
{
    static const float zero[3] = {0, 0, 0};
    if (!border)
        border = zero;
    const int w = src->width, h = src->height;
    const uint8_t *p = src->data;
    for (int y = 0; y < dst_h; y++) {
        /* Row start computed afresh (not accumulated) so error cannot drift. */
        double bx = m[1] * y + m[2], by = m[4] * y + m[5];
        float *o = dst + (size_t)y * dst_w * 3;
        for (int x = 0; x < dst_w; x++, o += 3) {
            double sx = m[0] * x + bx, sy = m[3] * x + by;
            /* Entirely outside (or NaN): no neighbour can be inside. */
            if (!(sx > -1.0 && sy > -1.0 && sx < w && sy < h)) {
                o[0] = border[0];
                o[1] = border[1];
                o[2] = border[2];
                continue;
            }
            double fx0 = floor(sx), fy0 = floor(sy);
            int x0 = (int)fx0, y0 = (int)fy0;
            float fx = (float)(sx - fx0), fy = (float)(sy - fy0);
            if (x0 >= 0 && y0 >= 0 && x0 + 1 < w && y0 + 1 < h) {
                const uint8_t *a = p + ((size_t)y0 * w + x0) * 3, *b = a + (size_t)w * 3;
                for (int c = 0; c < 3; c++) {
                    float top = a[c] + (a[c + 3] - a[c]) * fx;
                    float bot = b[c] + (b[c + 3] - b[c]) * fx;
                    o[c] = top + (bot - top) * fy;
                }
            } else {
                for (int c = 0; c < 3; c++) {
                    float p00 = px_or(src, x0, y0, c, border), p01 = px_or(src, x0 + 1, y0, c, border);
                    float p10 = px_or(src, x0, y0 + 1, c, border);
                    float p11 = px_or(src, x0 + 1, y0 + 1, c, border);
                    float top = p00 + (p01 - p00) * fx, bot = p10 + (p11 - p10) * fx;
                    o[c] = top + (bot - top) * fy;
                }
            }
        }
    }
}

int fs_affine_invert(const double m[6], double inv[6])
{
    double det = m[0] * m[4] - m[1] * m[3];
    if (det == 0.0 || !isfinite(det))
        return FS_EUSAGE;
    double r[6] = {
        m[4] / det, -m[1] / det, (m[1] * m[5] - m[2] * m[4]) / det,
        -m[3] / det, m[0] / det, (m[2] * m[3] - m[0] * m[5]) / det,
    };
    for (int i = 0; i < 6; i++)
        if (!isfinite(r[i]))
            return FS_EUSAGE;
    for (int i = 0; i < 6; i++)
        inv[i] = r[i];
    return FS_OK;
}
