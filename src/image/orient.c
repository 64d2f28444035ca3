/*
 * EXIF orientation: turning a stored image upright.
 *
 * For orientation o the upright pixel (x, y) comes from stored pixel
 *   1 (x, y)        2 (W-1-x, y)      3 (W-1-x, H-1-y)   4 (x, H-1-y)
 *   5 (y, x)        6 (y, H-1-x)      7 (W-1-y, H-1-x)   8 (W-1-y, x)
 * (6 = rotate 90° clockwise to view, 8 = 90° counter-clockwise, 5 and 7 the
 * transpose and transverse).  2..4 are done in place; 5..8 need a new
 * buffer and are one affine walk over the source, done in tiles so reading
 * down columns does not stride a whole row apart for every pixel.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define TILE 64

static inline void swap_px(uint8_t *a, uint8_t *b)
{
    uint8_t t0 = a[0], t1 = a[1], t2 = a[2];
    a[0] = b[0], a[1] = b[1], a[2] = b[2];
    b[0] = t0, b[1] = t1, b[2] = t2;
}

/* Orientations 2, 3, 4 keep the size: swap pixels in place.  (A fresh 7 MB
 * buffer costs more in page faults than the whole flip on some VMs.) */
static void flip_in_place(fs_image *img, int flip_x, int flip_y)
{
    size_t w = (size_t)img->width, h = (size_t)img->height, row = w * 3;
    uint8_t *p = img->data;
    if (flip_x && flip_y) { /* 180 degrees: reverse the pixel sequence */
        for (size_t i = 0, j = w * h - 1; i < j; i++, j--)
            swap_px(p + 3 * i, p + 3 * j);
        return;
    }
    if (flip_x) {
        for (size_t y = 0; y < h; y++)
            for (size_t i = 0, j = w - 1; i < j; i++, j--)
                swap_px(p + y * row + 3 * i, p + y * row + 3 * j);
        return;
    }
    uint8_t tmp[1024];
    for (size_t y = 0; y < h / 2; y++) {
        uint8_t *a = p + y * row, *b = p + (h - 1 - y) * row;
        for (size_t off = 0; off < row; off += sizeof tmp) {
            size_t n = row - off < sizeof tmp ? row - off : sizeof tmp;
            memcpy(tmp, a + off, n);
            memcpy(a + off, b + off, n);
            memcpy(b + off, tmp, n);
        }
    }
}

int fs_image_orient(fs_image *img, int orientation, fs_error *err)
{
    if (orientation < 2 || orientation > 8)
        return FS_OK;
    if (orientation <= 4) {
        flip_in_place(img, orientation != 4, orientation != 2);
        return FS_OK;
    }
    static const signed char tab[9][6] = {
        /* x0 is 0 or W-1 (flag), dx/dy are the source x steps per output x/y;
         * y0 likewise with the source y steps. */
        [1] = {0, 1, 0, 0, 0, 1},   [2] = {1, -1, 0, 0, 0, 1},
        [3] = {1, -1, 0, 1, 0, -1}, [4] = {0, 1, 0, 1, 0, -1},
        [5] = {0, 0, 1, 0, 1, 0},   [6] = {0, 0, 1, 1, -1, 0},
        [7] = {1, 0, -1, 1, -1, 0}, [8] = {1, 0, -1, 0, 1, 0},
    };
    const signed char *t = tab[orientation];
    ptrdiff_t W = img->width, H = img->height;
    int ow = orientation >= 5 ? img->height : img->width;
    int oh = orientation >= 5 ? img->width : img->height;
    fs_image up;
    int st = fs_image_alloc(&up, ow, oh, err);
    if (st != FS_OK)
        return st;
    /* Source pixel index = base + x*step_x + y*step_y. */
    ptrdiff_t base = (t[0] ? W - 1 : 0) + (t[3] ? H - 1 : 0) * W;
    ptrdiff_t step_x = t[1] + t[4] * W, step_y = t[2] + t[5] * W;
    const uint8_t *src = img->data;
    for (int ty = 0; ty < oh; ty += TILE) {
        int ye = ty + TILE < oh ? ty + TILE : oh;
        for (int tx = 0; tx < ow; tx += TILE) {
            int xe = tx + TILE < ow ? tx + TILE : ow;
            for (int y = ty; y < ye; y++) {
                const uint8_t *s = src + 3 * (base + tx * step_x + y * step_y);
                uint8_t *d = up.data + 3 * ((size_t)y * ow + tx);
                for (int x = tx; x < xe; x++, d += 3, s += 3 * step_x) {
                    d[0] = s[0];
                    d[1] = s[1];
                    d[2] = s[2];
                }
            }
        }
    }
    fs_image_free(img);
    *img = up;
    return FS_OK;
}
