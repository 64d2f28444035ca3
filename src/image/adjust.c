/*
 * Photometric and geometric variants of a photo (facesearch/image.h): what
 * enrolment augmentation feeds back through the face pipeline.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "facesearch/image.h"

int fs_image_flip(const fs_image *img, fs_image *out, fs_error *err)
{
    if (fs_image_alloc(out, img->width, img->height, err) != FS_OK)
        return err ? err->code : FS_ENOMEM;
    for (int y = 0; y < img->height; y++) {
        const uint8_t *s = img->data + (size_t)y * img->width * 3;
        uint8_t *d = out->data + (size_t)y * img->width * 3;
        for (int x = 0; x < img->width; x++)
            memcpy(d + (size_t)(img->width - 1 - x) * 3, s + (size_t)x * 3, 3);
    }
    return FS_OK;
}

int fs_image_rotate(const fs_image *img, double degrees, double cx, double cy, fs_image *out,
                    fs_error *err)
{
    if (fs_image_alloc(out, img->width, img->height, err) != FS_OK)
        return err ? err->code : FS_ENOMEM;
    float *f = malloc((size_t)img->width * img->height * 3 * sizeof *f);
    if (!f) {
        fs_image_free(out);
        return fs_fail(err, FS_ENOMEM, "out of memory rotating a photo");
    }
    /* Content turns by +degrees (counter-clockwise on screen, y down): an
     * output pixel p reads the source at c + R(+a) (p - c) with y flipped. */
    double a = degrees * M_PI / 180, co = cos(a), si = sin(a);
    double m[6] = {co, si, cx - co * cx - si * cy, -si, co, cy + si * cx - co * cy};
    fs_warp_affine_u8(img, m, f, img->width, img->height, NULL);
    for (size_t i = 0; i < (size_t)img->width * img->height * 3; i++)
        out->data[i] = (uint8_t)(f[i] < 0 ? 0 : f[i] > 255 ? 255 : lrintf(f[i]));
    free(f);
    return FS_OK;
}

int fs_image_blur(const fs_image *img, double sigma, fs_image *out, fs_error *err)
{
    int r = (int)ceil(3 * sigma);
    if (r < 1)
        r = 1;
    if (r > 64)
        r = 64;
    float k[129], sum = 0;
    for (int i = -r; i <= r; i++)
        sum += k[i + r] = expf((float)(-(i * i) / (2 * sigma * sigma)));
    for (int i = 0; i <= 2 * r; i++)
        k[i] /= sum;
    const int w = img->width, h = img->height;
    float *tmp = malloc((size_t)w * h * 3 * sizeof *tmp);
    if (!tmp || fs_image_alloc(out, w, h, err) != FS_OK) {
        free(tmp);
        return fs_fail(err, FS_ENOMEM, "out of memory blurring a photo");
    }
    /* Separable, edges clamped: rows into tmp, then columns into out. */
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) {
                float s = 0;
                for (int i = -r; i <= r; i++) {
                    int xx = x + i < 0 ? 0 : x + i >= w ? w - 1 : x + i;
                    s += k[i + r] * img->data[((size_t)y * w + xx) * 3 + c];
                }
                tmp[((size_t)y * w + x) * 3 + c] = s;
            }
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) {
                float s = 0;
                for (int i = -r; i <= r; i++) {
                    int yy = y + i < 0 ? 0 : y + i >= h ? h - 1 : y + i;
                    s += k[i + r] * tmp[((size_t)yy * w + x) * 3 + c];
                }
                out->data[((size_t)y * w + x) * 3 + c] = (uint8_t)(s > 255 ? 255 : lrintf(s));
            }
    free(tmp);
    return FS_OK;
}

int fs_image_levels(const fs_image *img, double contrast, double brightness, fs_image *out,
                    fs_error *err)
{
    if (fs_image_alloc(out, img->width, img->height, err) != FS_OK)
        return err ? err->code : FS_ENOMEM;
    uint8_t lut[256];
    for (int v = 0; v < 256; v++) {
        double o = contrast * (v - 128) + 128 + brightness;
        lut[v] = (uint8_t)(o < 0 ? 0 : o > 255 ? 255 : lrint(o));
    }
    for (size_t i = 0; i < (size_t)img->width * img->height * 3; i++)
        out->data[i] = lut[img->data[i]];
    return FS_OK;
}
