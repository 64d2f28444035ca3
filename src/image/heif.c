/*
 * HEIF/HEIC and AVIF decoding through libheif, to packed RGB8: the primary
 * image only (a burst or a sequence shows its cover), alpha dropped, images
 * over 8 bits per sample reduced by libheif.
 *
 * Orientation.  HEIF says which way is up with its own transform boxes
 * (irot, imir, and clap for cropping), which every viewer applies and which
 * win over any EXIF orientation in the file.  So libheif applies them when
 * the caller asks for orientation (decode.apply_orientation) and ignores
 * them otherwise, exactly as EXIF is honoured or ignored for JPEG.  An
 * EXIF orientation inside a HEIF is ignored, as the format requires, and
 * fs_image_info.orientation stays 1: libheif applies the transform boxes
 * without saying which they were.
 */
#include <libheif/heif.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int fail_heif(struct heif_error e, const char *what, fs_error *err)
{
    /* libheif's messages may end in a newline; ours are one line. */
    char msg[256];
    snprintf(msg, sizeof msg, "%s", e.message ? e.message : "unknown libheif error");
    msg[strcspn(msg, "\r\n")] = '\0';
    if (e.subcode == heif_suberror_End_of_data)
        return fs_fail(err, FS_ECORRUPT, "truncated %s data: file ends early (%s)", what, msg);
    /* libheif files its own size limits under allocation errors: those are
     * the file's fault (a limit), not the machine's (FS_ENOMEM stops an
     * ingest). */
    if (e.subcode == heif_suberror_Security_limit_exceeded)
        return fs_fail(err, FS_ELIMIT, "%s over libheif's size limits: %s", what, msg);
    if (e.code == heif_error_Memory_allocation_error)
        return fs_fail(err, FS_ENOMEM, "out of memory decoding %s", what);
    if (e.code == heif_error_Unsupported_feature || e.code == heif_error_Unsupported_filetype)
        return fs_fail(err, FS_EFORMAT, "%s uses a feature libheif cannot decode: %s", what,
                       msg);
    return fs_fail(err, FS_ECORRUPT, "corrupt %s: %s", what, msg);
}

/* The decoder libheif lacks for this file, named for the error message; NULL
 * when it has the one needed. */
static const char *missing_decoder(int avif)
{
    if (avif)
        return heif_have_decoder_for_format(heif_compression_AV1) ? NULL
               : "no AV1 decoder (libheif built without libdav1d and libaom)";
    return heif_have_decoder_for_format(heif_compression_HEVC) ? NULL
           : "no HEVC decoder (libheif built without libde265)";
}

static int heif_run(const uint8_t *buf, size_t len, const fs_decode_req *req,
                    fs_image *out, fs_image_info *info, fs_error *err)
{
    int avif = fs_image_sniff(buf, len) == FS_FORMAT_AVIF;
    const char *what = avif ? "AVIF" : "HEIF";
    if (fs_heif_ref_cycle(buf, len))
        return fs_fail(err, FS_ECORRUPT, "corrupt %s: its derived-image references ('dimg') "
                       "form a cycle or number over 65536", what);
    struct heif_context *ctx = heif_context_alloc();
    if (!ctx)
        return fs_fail(err, FS_ENOMEM, "cannot create a %s decoder", what);
    /* One thread per photo: ingest already decodes photos in parallel. */
    heif_context_set_max_decoding_threads(ctx, 0);
    struct heif_image_handle *h = NULL;
    struct heif_image *img = NULL;
    struct heif_decoding_options *dopt = NULL;
    struct heif_error e = heif_context_read_from_memory_without_copy(ctx, buf, len, NULL);
    int st = FS_OK;
    if (e.code == heif_error_Ok)
        e = heif_context_get_primary_image_handle(ctx, &h);
    if (e.code != heif_error_Ok) {
        st = fail_heif(e, what, err);
        goto done;
    }
    memset(info, 0, sizeof *info);
    info->format = avif ? FS_FORMAT_AVIF : FS_FORMAT_HEIF;
    info->width = heif_image_handle_get_ispe_width(h);
    info->height = heif_image_handle_get_ispe_height(h);
    int alpha = heif_image_handle_has_alpha_channel(h);
    info->components = alpha ? 4 : 3;
    info->bit_depth = heif_image_handle_get_luma_bits_per_pixel(h);
    info->colorspace = alpha ? "rgba" : "ycbcr";
    info->scale_num = info->scale_denom = 1;
    info->orientation = 1; /* see the top of this file */
    if (!req)
        goto done;
    /* Both the coded size and the size after the transforms: a clap box
     * cannot enlarge, but a rotation swaps the sides. */
    st = fs_check_dims(what, info->width, info->height, req->max_pixels, err);
    if (st == FS_OK)
        st = fs_check_dims(what, heif_image_handle_get_width(h),
                           heif_image_handle_get_height(h), req->max_pixels, err);
    if (st != FS_OK)
        goto done;
    const char *missing = missing_decoder(avif);
    if (missing) {
        st = fs_fail(err, FS_EFORMAT, "cannot decode %s: this system's libheif has %s",
                     what, missing);
        goto done;
    }
    dopt = heif_decoding_options_alloc();
    if (!dopt) {
        st = fs_fail(err, FS_ENOMEM, "cannot create %s decoding options", what);
        goto done;
    }
    dopt->ignore_transformations = !req->apply_orientation;
    e = heif_decode_image(h, &img, heif_colorspace_RGB, heif_chroma_interleaved_RGB, dopt);
    if (e.code != heif_error_Ok) {
        st = fail_heif(e, what, err);
        goto done;
    }
    int w = heif_image_get_width(img, heif_channel_interleaved);
    int hgt = heif_image_get_height(img, heif_channel_interleaved);
    int stride = 0;
    const uint8_t *px = heif_image_get_plane_readonly(img, heif_channel_interleaved, &stride);
    if (!px || heif_image_get_bits_per_pixel_range(img, heif_channel_interleaved) != 8 ||
        stride < w * 3) {
        st = fs_fail(err, FS_EINTERNAL, "libheif returned no 8-bit RGB plane for this %s", what);
        goto done;
    }
    st = fs_image_alloc(out, w, hgt, err);
    for (int y = 0; st == FS_OK && y < hgt; y++)
        memcpy(out->data + (size_t)y * w * 3, px + (size_t)y * stride, (size_t)w * 3);
done:
    heif_decoding_options_free(dopt);
    heif_image_release(img);
    heif_image_handle_release(h);
    heif_context_free(ctx);
    return st;
}

int fs_heif_probe(const uint8_t *buf, size_t len, fs_image_info *info, fs_error *err)
{
    return heif_run(buf, len, NULL, NULL, info, err);
}

int fs_heif_decode(const uint8_t *buf, size_t len, const fs_decode_req *req,
                   fs_image *out, fs_image_info *info, fs_error *err)
{
    return heif_run(buf, len, req, out, info, err);
}
