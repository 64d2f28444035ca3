/* The fs_image buffer: allocation, release, format names. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int fs_image_alloc(fs_image *img, int width, int height, fs_error *err)
{
    memset(img, 0, sizeof *img);
    if (width <= 0 || height <= 0)
        return fs_fail(err, FS_EUSAGE, "image size %dx%d is not positive", width, height);
    size_t n = (size_t)width * (size_t)height * 3;
    img->data = malloc(n);
    if (!img->data)
        return fs_fail(err, FS_ENOMEM, "out of memory for a %dx%d image (%zu bytes)",
                       width, height, n);
    img->width = width;
    img->height = height;
    return FS_OK;
}

void fs_image_free(fs_image *img)
{
    if (img) {
        free(img->data);
        memset(img, 0, sizeof *img);
    }
}

const char *fs_format_name(fs_format f)
{
    switch (f) {
    case FS_FORMAT_JPEG: return "jpeg";
    case FS_FORMAT_PNG: return "png";
    case FS_FORMAT_WEBP: return "webp";
    case FS_FORMAT_HEIF: return "heif";
    case FS_FORMAT_AVIF: return "avif";
    case FS_FORMAT_TIFF: return "tiff";
    default: return "unknown";
    }
}

int fs_check_dims(const char *what, long long w, long long h,
                  uint64_t max_pixels, fs_error *err)
{
    if (w <= 0 || h <= 0)
        return fs_fail(err, FS_ECORRUPT, "%s header gives an empty image (%lldx%lld)",
                       what, w, h);
    if (w > FS_IMAGE_MAX_SIDE || h > FS_IMAGE_MAX_SIDE)
        return fs_fail(err, FS_ELIMIT, "%s is %lldx%lld, a side over the %d pixel maximum",
                       what, w, h, FS_IMAGE_MAX_SIDE);
    uint64_t px = (uint64_t)w * (uint64_t)h;
    if (px > max_pixels)
        return fs_fail(err, FS_ELIMIT,
                       "%s is %lldx%lld = %llu pixels, over the limit of %llu (decode.max_pixels)",
                       what, w, h, (unsigned long long)px, (unsigned long long)max_pixels);
    return FS_OK;
}
