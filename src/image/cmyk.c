/*
 * CMYK to RGB for CMYK/YCCK JPEGs, in the Adobe-inverted convention that
 * libjpeg-turbo's tools, Chrome, Firefox and Pillow assume (255 = no ink):
 * R = round(C*K/255), G = round(M*K/255), B = round(Y*K/255).
 */
#include "internal.h"

/* round(x / 255) for 0 <= x <= 255*255, without a division.  Exact: x/255
 * never lies on a .5 boundary because 255 is odd (checked exhaustively in
 * tests/test_image_jpeg.c). */
static inline uint8_t div255_round(unsigned x)
{
    x += 128;
    return (uint8_t)((x + (x >> 8)) >> 8);
}

void fs_cmyk_to_rgb_inplace(uint8_t *px, size_t n)
{
    /* Forward order is safe in place: pixel i is written at 3i, read at 4i. */
    for (size_t i = 0; i < n; i++) {
        const uint8_t *s = px + 4 * i;
        unsigned c = s[0], m = s[1], y = s[2], k = s[3];
        uint8_t *d = px + 3 * i;
        d[0] = div255_round(c * k);
        d[1] = div255_round(m * k);
        d[2] = div255_round(y * k);
    }
}
