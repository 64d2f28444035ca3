/*
 * Network inputs from a decoded photo (golden README §4.1, §5.1, §6.1): the
 * detector sees the photo zero-padded at the bottom/right to a square, the
 * face nets a crop zero-padded to a centred square; both resized with TF's
 * legacy bilinear (the image module's fs_resize_tf_u8), values 0..255.
 */
#include "face_internal.h"

#include <stdlib.h>
#include <string.h>

int fs_prep_window(const fs_image *img, int x0, int y0, int w, int h, int side, int size,
                   float *dst, fs_error *err)
{
    const uint8_t *src = img->data + ((size_t)y0 * img->width + x0) * 3;
    int st = fs_resize_tf_u8(src, w, h, img->width * 3, side, side, 3, dst, size, size);
    return st == FS_OK ? FS_OK : fs_fail(err, st, "detector input: resize failed");
}

int fs_prep_square(const fs_image *img, int size, float *dst, fs_error *err)
{
    int side = img->width > img->height ? img->width : img->height;
    return fs_prep_window(img, 0, 0, img->width, img->height, side, size, dst, err);
}

int fs_prep_crop(const fs_image *img, fs_rect crop, int size, uint8_t **buf, size_t *cap,
                 float *dst, fs_error *err)
{
    if (crop.w <= 0 || crop.h <= 0 || crop.x < 0 || crop.y < 0 ||
        crop.x > img->width - crop.w || crop.y > img->height - crop.h)
        return fs_fail(err, FS_EUSAGE, "crop %dx%d at (%d,%d) is not inside the %dx%d photo",
                       crop.w, crop.h, crop.x, crop.y, img->width, img->height);
    const uint8_t *src = img->data + ((size_t)crop.y * img->width + crop.x) * 3;
    int stride = img->width * 3, side = crop.w > crop.h ? crop.w : crop.h;
    int d = abs(crop.w - crop.h), after = (d + 1) / 2, before = d - after;
    if (before > 0) {
        /* Zeros on the top/left too: build the padded square. */
        size_t need = (size_t)side * side * 3;
        if (need > *cap) {
            uint8_t *nb = realloc(*buf, need);
            if (!nb)
                return fs_fail(err, FS_ENOMEM, "out of memory for a %dx%d face crop", side, side);
            *buf = nb;
            *cap = need;
        }
        memset(*buf, 0, need);
        int ox = crop.w < crop.h ? before : 0, oy = crop.h < crop.w ? before : 0;
        for (int r = 0; r < crop.h; r++)
            memcpy(*buf + ((size_t)(oy + r) * side + ox) * 3, src + (size_t)r * stride,
                   (size_t)crop.w * 3);
        src = *buf;
        stride = side * 3;
        crop.w = crop.h = side;
    }
    /* Otherwise any padding (one pixel at most) is bottom/right only, which
     * the resize does without a copy. */
    int st = fs_resize_tf_u8(src, crop.w, crop.h, stride, side, side, 3, dst, size, size);
    return st == FS_OK ? FS_OK : fs_fail(err, st, "face input: resize failed");
}

void fs_block_mean(const fs_image *img, fs_rect r, int k, uint8_t *dst, int stride)
{
    int ow = (r.w + k - 1) / k, oh = (r.h + k - 1) / k;
    for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++) {
            int ys = r.y + oy * k, xs = r.x + ox * k;
            int ye = ys + k < r.y + r.h ? ys + k : r.y + r.h;
            int xe = xs + k < r.x + r.w ? xs + k : r.x + r.w;
            unsigned sum[3] = {0, 0, 0}, cnt = (unsigned)((ye - ys) * (xe - xs));
            for (int y = ys; y < ye; y++) {
                const uint8_t *p = img->data + ((size_t)y * img->width + xs) * 3;
                for (int x = xs; x < xe; x++, p += 3) {
                    sum[0] += p[0];
                    sum[1] += p[1];
                    sum[2] += p[2];
                }
            }
            uint8_t *o = dst + (size_t)oy * stride + (size_t)ox * 3;
            for (int c = 0; c < 3; c++)
                o[c] = (uint8_t)((sum[c] + cnt / 2) / cnt);
        }
}
