/* Photo decoding entry points: format dispatch, options, orientation. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int unknown_format(const uint8_t *buf, size_t len, fs_error *err)
{
    if (len == 0)
        return fs_fail(err, FS_EFORMAT, "empty file");
    if (len >= 2 && buf[0] == 0xFF && buf[1] == 0xD8)
        return fs_fail(err, FS_ECORRUPT, "corrupt JPEG: no marker after SOI");
    const char *other = fs_sniff_other(buf, len);
    if (other)
        return fs_fail(err, FS_EFORMAT, "unsupported image format %s (JPEG, PNG, WebP, HEIF/HEIC, AVIF and TIFF are read)",
                       other);
    return fs_fail(err, FS_EFORMAT, "not an image format facesearch reads (JPEG, PNG, WebP, HEIF/HEIC, AVIF, TIFF)");
}

int fs_image_probe(const uint8_t *buf, size_t len, fs_image_info *info, fs_error *err)
{
    memset(info, 0, sizeof *info);
    switch (fs_image_sniff(buf, len)) {
    case FS_FORMAT_JPEG: return fs_jpeg_probe(buf, len, info, err);
    case FS_FORMAT_PNG: return fs_png_probe(buf, len, info, err);
    case FS_FORMAT_WEBP: return fs_webp_probe(buf, len, info, err);
    case FS_FORMAT_HEIF:
    case FS_FORMAT_AVIF: return fs_heif_probe(buf, len, info, err);
    case FS_FORMAT_TIFF: return fs_tiff_probe(buf, len, info, err);
    default: return unknown_format(buf, len, err);
    }
}

int fs_image_decode(const uint8_t *buf, size_t len, const fs_decode_opts *opts,
                    fs_image *out, fs_image_info *info, fs_error *err)
{
    fs_image_info local;
    if (!info)
        info = &local;
    memset(info, 0, sizeof *info);
    memset(out, 0, sizeof *out);
    fs_decode_req req = {0, 0, 0, FS_DEFAULT_MAX_PIXELS};
    if (opts) {
        req.min_width = opts->min_width;
        req.min_height = opts->min_height;
        req.apply_orientation = opts->apply_orientation;
        if (opts->max_pixels)
            req.max_pixels = opts->max_pixels;
    }
    int st;
    switch (fs_image_sniff(buf, len)) {
    case FS_FORMAT_JPEG: st = fs_jpeg_decode(buf, len, &req, out, info, err); break;
    case FS_FORMAT_PNG: st = fs_png_decode(buf, len, &req, out, info, err); break;
    case FS_FORMAT_WEBP: st = fs_webp_decode(buf, len, &req, out, info, err); break;
    case FS_FORMAT_HEIF:
    case FS_FORMAT_AVIF: st = fs_heif_decode(buf, len, &req, out, info, err); break;
    case FS_FORMAT_TIFF: st = fs_tiff_decode(buf, len, &req, out, info, err); break;
    default: return unknown_format(buf, len, err);
    }
    /* HEIF orients itself (its transform boxes, not EXIF, say which way is
     * up); every other format is oriented here by its EXIF-style tag. */
    int self_oriented = info->format == FS_FORMAT_HEIF || info->format == FS_FORMAT_AVIF;
    if (st == FS_OK && req.apply_orientation && info->orientation != 1 && !self_oriented)
        st = fs_image_orient(out, info->orientation, err);
    if (st != FS_OK)
        fs_image_free(out);
    return st;
}

int fs_image_decode_file(const char *path, const fs_decode_opts *opts,
                         fs_image *out, fs_image_info *info, fs_error *err)
{
    memset(out, 0, sizeof *out);
    if (info)
        memset(info, 0, sizeof *info);
    uint8_t *buf;
    size_t len;
    size_t max_bytes = opts && opts->max_file_bytes ? opts->max_file_bytes
                                                     : FS_DEFAULT_MAX_FILE_BYTES;
    /* fs_read_file's messages already start with the path. */
    int st = fs_read_file(path, max_bytes, &buf, &len, err);
    if (st != FS_OK)
        return st;
    st = fs_image_decode(buf, len, opts, out, info, err);
    free(buf);
    if (st != FS_OK)
        fs_error_prefix(err, path);
    return st;
}
