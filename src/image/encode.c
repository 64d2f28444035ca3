/* JPEG encoding (thumbnails, crops for reports) through TurboJPEG. */
#include <stdlib.h>
#include <turbojpeg.h>

#include "internal.h"

int fs_image_encode_jpeg(const fs_image *img, int quality, uint8_t **jpeg,
                         size_t *len, fs_error *err)
{
    *jpeg = NULL;
    *len = 0;
    if (!img || !img->data || img->width <= 0 || img->height <= 0)
        return fs_fail(err, FS_EUSAGE, "cannot encode an empty image");
    if (quality < 1 || quality > 100)
        return fs_fail(err, FS_EUSAGE, "JPEG quality %d is not in 1..100", quality);
    tjhandle h = tjInitCompress();
    if (!h)
        return fs_fail(err, FS_ENOMEM, "cannot create a JPEG encoder: %s", tjGetErrorStr2(NULL));
    /* Our own worst-case buffer (TJFLAG_NOREALLOC) so the caller can free()
     * it, as the contract says, instead of tjFree(). */
    unsigned long cap = tjBufSize(img->width, img->height, TJSAMP_420);
    unsigned char *out = cap ? malloc(cap) : NULL;
    if (!out) {
        tjDestroy(h);
        return fs_fail(err, FS_ENOMEM, "out of memory for a %dx%d JPEG", img->width, img->height);
    }
    unsigned long n = cap;
    int rc = tjCompress2(h, img->data, img->width, img->width * 3, img->height, TJPF_RGB,
                         &out, &n, TJSAMP_420, quality, TJFLAG_NOREALLOC);
    if (rc != 0) {
        int st = fs_fail(err, FS_EINTERNAL, "JPEG encoding failed: %s", tjGetErrorStr2(h));
        free(out);
        tjDestroy(h);
        return st;
    }
    tjDestroy(h);
    unsigned char *shrunk = realloc(out, n);
    *jpeg = shrunk ? shrunk : out;
    *len = n;
    return FS_OK;
}
