/*
 * WebP decoding through libwebp (stills) and libwebpdemux (animations, and
 * the EXIF chunk of either), to packed RGB8.  Alpha is dropped without
 * compositing, as for PNG; an animation yields its first frame, composed
 * on its canvas as a viewer shows it before playing.
 */
#include <stdlib.h>
#include <string.h>
#include <webp/decode.h>
#include <webp/demux.h>

#include "internal.h"

static const char *status_text(VP8StatusCode s)
{
    switch (s) {
    case VP8_STATUS_OUT_OF_MEMORY: return "out of memory";
    case VP8_STATUS_INVALID_PARAM: return "invalid parameter";
    case VP8_STATUS_BITSTREAM_ERROR: return "bitstream error";
    case VP8_STATUS_UNSUPPORTED_FEATURE: return "unsupported feature";
    case VP8_STATUS_SUSPENDED: return "suspended";
    case VP8_STATUS_USER_ABORT: return "aborted";
    case VP8_STATUS_NOT_ENOUGH_DATA: return "file ends early";
    default: return "unknown error";
    }
}

static int fail_status(VP8StatusCode s, fs_error *err)
{
    if (s == VP8_STATUS_OUT_OF_MEMORY)
        return fs_fail(err, FS_ENOMEM, "out of memory decoding a WebP");
    if (s == VP8_STATUS_NOT_ENOUGH_DATA)
        return fs_fail(err, FS_ECORRUPT, "truncated WebP data: file ends early");
    if (s == VP8_STATUS_UNSUPPORTED_FEATURE)
        return fs_fail(err, FS_EFORMAT, "WebP uses a feature libwebp does not support");
    return fs_fail(err, FS_ECORRUPT, "corrupt WebP: %s", status_text(s));
}

/* The EXIF chunk's orientation.  Some writers keep JPEG's "Exif\0\0" prefix
 * in front of the TIFF structure, so it is skipped when present. */
static int webp_orientation(const WebPDemuxer *dmx)
{
    WebPChunkIterator it;
    int o = 1;
    if (!(WebPDemuxGetI(dmx, WEBP_FF_FORMAT_FLAGS) & EXIF_FLAG) ||
        !WebPDemuxGetChunk(dmx, "EXIF", 1, &it))
        return 1;
    const uint8_t *p = it.chunk.bytes;
    size_t n = it.chunk.size;
    if (n >= 6 && memcmp(p, "Exif\0\0", 6) == 0) {
        p += 6;
        n -= 6;
    }
    o = fs_exif_orientation(p, n);
    WebPDemuxReleaseChunkIterator(&it);
    return o;
}

static int probe(const uint8_t *buf, size_t len, WebPBitstreamFeatures *f,
                 fs_image_info *info, fs_error *err)
{
    VP8StatusCode s = WebPGetFeatures(buf, len, f);
    if (s != VP8_STATUS_OK)
        return fail_status(s, err);
    memset(info, 0, sizeof *info);
    info->format = FS_FORMAT_WEBP;
    info->width = f->width;
    info->height = f->height;
    info->components = f->has_alpha ? 4 : 3;
    info->bit_depth = 8;
    info->colorspace = f->has_alpha ? "rgba" : "rgb";
    info->progressive = f->has_animation; /* documented: "animated" for WebP */
    info->scale_num = info->scale_denom = 1;
    info->orientation = 1;
    /* The demuxer needs the whole file; a truncated one simply has no
     * readable EXIF (the decode then reports the truncation). */
    WebPData data = {buf, len};
    WebPDemuxer *dmx = WebPDemux(&data);
    if (dmx) {
        info->orientation = webp_orientation(dmx);
        WebPDemuxDelete(dmx);
    }
    return FS_OK;
}

int fs_webp_probe(const uint8_t *buf, size_t len, fs_image_info *info, fs_error *err)
{
    WebPBitstreamFeatures f;
    return probe(buf, len, &f, info, err);
}

static int decode_still(const uint8_t *buf, size_t len, fs_image *out, fs_error *err)
{
    WebPDecoderConfig cfg;
    if (!WebPInitDecoderConfig(&cfg))
        return fs_fail(err, FS_EINTERNAL, "libwebp version mismatch");
    cfg.output.colorspace = MODE_RGB;
    cfg.output.is_external_memory = 1;
    cfg.output.u.RGBA.rgba = out->data;
    cfg.output.u.RGBA.stride = out->width * 3;
    cfg.output.u.RGBA.size = (size_t)out->width * out->height * 3;
    VP8StatusCode s = WebPDecode(buf, len, &cfg);
    WebPFreeDecBuffer(&cfg.output);
    return s == VP8_STATUS_OK ? FS_OK : fail_status(s, err);
}

static int decode_first_frame(const uint8_t *buf, size_t len, fs_image *out, fs_error *err)
{
    WebPAnimDecoderOptions o;
    if (!WebPAnimDecoderOptionsInit(&o))
        return fs_fail(err, FS_EINTERNAL, "libwebp version mismatch");
    o.color_mode = MODE_RGBA;
    o.use_threads = 0;
    WebPData data = {buf, len};
    WebPAnimDecoder *dec = WebPAnimDecoderNew(&data, &o);
    if (!dec)
        return fs_fail(err, FS_ECORRUPT, "corrupt or truncated animated WebP");
    WebPAnimInfo ai;
    uint8_t *rgba;
    int ts, st = FS_OK;
    if (!WebPAnimDecoderGetInfo(dec, &ai) || (int)ai.canvas_width != out->width ||
        (int)ai.canvas_height != out->height)
        st = fs_fail(err, FS_ECORRUPT, "corrupt animated WebP: canvas size disagrees with header");
    else if (!WebPAnimDecoderGetNext(dec, &rgba, &ts))
        st = fs_fail(err, FS_ECORRUPT, "corrupt animated WebP: first frame undecodable");
    else {
        size_t n = (size_t)out->width * out->height;
        for (size_t i = 0; i < n; i++)
            memcpy(out->data + 3 * i, rgba + 4 * i, 3);
    }
    WebPAnimDecoderDelete(dec);
    return st;
}

int fs_webp_decode(const uint8_t *buf, size_t len, const fs_decode_req *req,
                   fs_image *out, fs_image_info *info, fs_error *err)
{
    WebPBitstreamFeatures f;
    int st = probe(buf, len, &f, info, err);
    if (st == FS_OK)
        st = fs_check_dims("WebP", info->width, info->height, req->max_pixels, err);
    if (st == FS_OK)
        st = fs_image_alloc(out, info->width, info->height, err);
    if (st == FS_OK)
        st = f.has_animation ? decode_first_frame(buf, len, out, err)
                             : decode_still(buf, len, out, err);
    if (st != FS_OK)
        fs_image_free(out);
    return st;
}
