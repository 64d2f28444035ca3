/* Rectangular crops, clipped to the image. */
#include <string.h>

#include "internal.h"

int fs_image_crop(const fs_image *img, int x, int y, int w, int h,
                  fs_image *out, fs_error *err)
{
    memset(out, 0, sizeof *out);
    /* Clip in 64 bits: x + w may overflow int for absurd arguments. */
    long long x0 = x > 0 ? x : 0, y0 = y > 0 ? y : 0;
    long long x1 = (long long)x + w, y1 = (long long)y + h;
    if (x1 > img->width)
        x1 = img->width;
    if (y1 > img->height)
        y1 = img->height;
    if (w <= 0 || h <= 0 || x1 <= x0 || y1 <= y0)
        return fs_fail(err, FS_EUSAGE, "crop %dx%d at (%d,%d) lies outside the %dx%d image",
                       w, h, x, y, img->width, img->height);
    int cw = (int)(x1 - x0), ch = (int)(y1 - y0);
    int st = fs_image_alloc(out, cw, ch, err);
    if (st != FS_OK)
        return st;
    for (int r = 0; r < ch; r++)
        memcpy(out->data + (size_t)r * cw * 3,
               img->data + ((size_t)(y0 + r) * img->width + (size_t)x0) * 3, (size_t)cw * 3);
    return FS_OK;
}
