/*
 * TIFF decoding through libtiff, to packed RGB8: the first page (directory)
 * only; 1..16-bit samples, RGB, grey, palette, CMYK and YCbCr as libtiff's
 * RGBA interface converts them (16-bit samples rounded to 8 bits, CMYK
 * is R = (255 - C)(255 - K) / 255 without colour management); alpha dropped.
 * The TIFF Orientation tag plays the part of EXIF orientation.
 *
 * libtiff reads from the caller's buffer through client procedures, and its
 * error and warning handlers are per handle (TIFFOpenOptions), so decoding
 * stays reentrant and nothing is printed.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>

#include "internal.h"

typedef struct mem {
    const uint8_t *buf;
    size_t len, pos;
    char msg[200]; /* libtiff's first error */
} mem;

static tmsize_t mem_read(thandle_t h, void *out, tmsize_t n)
{
    mem *m = h;
    if (n < 0)
        return -1;
    size_t k = (size_t)n < m->len - m->pos ? (size_t)n : m->len - m->pos;
    memcpy(out, m->buf + m->pos, k);
    m->pos += k;
    return (tmsize_t)k;
}

static tmsize_t mem_write(thandle_t h, void *in, tmsize_t n)
{
    (void)h, (void)in, (void)n;
    return -1;
}

static toff_t mem_seek(thandle_t h, toff_t off, int whence)
{
    mem *m = h;
    uint64_t base = whence == SEEK_CUR ? m->pos : whence == SEEK_END ? m->len : 0;
    /* toff_t is unsigned: a negative relative seek arrives wrapped around. */
    uint64_t to = base + off;
    if (to > m->len)
        return (toff_t)-1;
    m->pos = (size_t)to;
    return to;
}

static int mem_close(thandle_t h)
{
    (void)h;
    return 0;
}

static toff_t mem_size(thandle_t h)
{
    return ((mem *)h)->len;
}

static int mem_map(thandle_t h, void **base, toff_t *size)
{
    mem *m = h;
    *base = (void *)m->buf;
    *size = m->len;
    return 1;
}

static void mem_unmap(thandle_t h, void *base, toff_t size)
{
    (void)h, (void)base, (void)size;
}

static int on_error(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
    (void)tif, (void)module;
    mem *m = user;
    if (!m->msg[0])
        vsnprintf(m->msg, sizeof m->msg, fmt, ap);
    return 1;
}

/* Warnings concern tags libtiff skips (unknown, ill-typed); the pixels are
 * read or an error follows. */
static int on_warning(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
    (void)tif, (void)user, (void)module, (void)fmt, (void)ap;
    return 1;
}

static const char *colorspace_name(uint16_t photometric)
{
    switch (photometric) {
    case PHOTOMETRIC_MINISWHITE:
    case PHOTOMETRIC_MINISBLACK: return "gray";
    case PHOTOMETRIC_RGB: return "rgb";
    case PHOTOMETRIC_PALETTE: return "palette";
    case PHOTOMETRIC_SEPARATED: return "cmyk";
    case PHOTOMETRIC_YCBCR: return "ycbcr";
    default: return "unknown";
    }
}

static int fail_tiff(const mem *m, int st, const char *fallback, fs_error *err)
{
    const char *why = m->msg[0] ? m->msg : fallback;
    /* A header claiming more than the allocation cap set below is the file's
     * fault, not the machine's: a limit, never FS_ENOMEM (which stops an
     * ingest). */
    if (strstr(why, "byte limit"))
        return fs_fail(err, FS_ELIMIT, "TIFF over the size limit (decode.max_pixels): %s", why);
    return fs_fail(err, st, "corrupt TIFF: %s", why);
}

/* Converts the RGBA raster (one uint32 per pixel, R in the low byte) to
 * packed RGB in place. */
static void rgba_to_rgb(uint8_t *px, size_t n)
{
    const uint32_t *in = (const uint32_t *)(void *)px;
    for (size_t i = 0; i < n; i++) {
        uint32_t v = in[i];
        px[3 * i] = (uint8_t)TIFFGetR(v);
        px[3 * i + 1] = (uint8_t)TIFFGetG(v);
        px[3 * i + 2] = (uint8_t)TIFFGetB(v);
    }
}

static int read_pixels(TIFF *tif, mem *m, int w, int h, fs_image *out, fs_error *err)
{
    char emsg[1024] = "";
    if (!TIFFRGBAImageOK(tif, emsg))
        return fs_fail(err, FS_EFORMAT, "TIFF layout not supported: %s", emsg);
    TIFFRGBAImage ri;
    if (!TIFFRGBAImageBegin(&ri, tif, 1, emsg))
        return fail_tiff(m, FS_ECORRUPT, emsg, err);
    /* Asking for the file's own orientation makes libtiff flip nothing, so
     * the raster holds the rows as stored and fs_image_decode orients them
     * by the same rules as a JPEG's EXIF. */
    ri.req_orientation = ri.orientation;
    size_t n = (size_t)w * h;
    uint8_t *px = malloc(n * 4);
    if (!px) {
        TIFFRGBAImageEnd(&ri);
        return fs_fail(err, FS_ENOMEM, "out of memory for a %dx%d TIFF", w, h);
    }
    int ok = TIFFRGBAImageGet(&ri, (uint32_t *)(void *)px, (uint32_t)w, (uint32_t)h);
    TIFFRGBAImageEnd(&ri);
    /* A damaged strip is an error even where libtiff carried on past it:
     * a half-grey photo must not be indexed as if it were whole. */
    if (!ok || m->msg[0]) {
        free(px);
        return fail_tiff(m, FS_ECORRUPT, "pixel data unreadable", err);
    }
    rgba_to_rgb(px, n);
    uint8_t *shrunk = realloc(px, n * 3);
    out->data = shrunk ? shrunk : px;
    out->width = w;
    out->height = h;
    return FS_OK;
}

static int tiff_run(const uint8_t *buf, size_t len, const fs_decode_req *req,
                    fs_image *out, fs_image_info *info, fs_error *err)
{
    mem m = {buf, len, 0, ""};
    TIFFOpenOptions *o = TIFFOpenOptionsAlloc();
    if (!o)
        return fs_fail(err, FS_ENOMEM, "cannot create a TIFF decoder");
    TIFFOpenOptionsSetErrorHandlerExtR(o, on_error, &m);
    TIFFOpenOptionsSetWarningHandlerExtR(o, on_warning, &m);
    /* No single strip, tile or table may claim more than the largest image
     * the pixel limit allows (8 bytes a pixel: 16-bit RGBA) plus a margin:
     * a single-strip scan within the limit reads, a forged header cannot
     * make libtiff allocate gigabytes. */
    uint64_t max_px = req ? req->max_pixels : FS_DEFAULT_MAX_PIXELS;
    TIFFOpenOptionsSetMaxSingleMemAlloc(o, (tmsize_t)(max_px * 8 + (16u << 20)));
    TIFF *tif = TIFFClientOpenExt("tiff", "r", &m, mem_read, mem_write, mem_seek, mem_close,
                                  mem_size, mem_map, mem_unmap, o);
    TIFFOpenOptionsFree(o);
    if (!tif)
        return fail_tiff(&m, FS_ECORRUPT, "unreadable header", err);
    uint32_t w = 0, h = 0;
    uint16_t spp = 1, bps = 1, photometric = PHOTOMETRIC_MINISBLACK, orient = 1;
    TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w);
    TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
    TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bps);
    TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photometric);
    TIFFGetFieldDefaulted(tif, TIFFTAG_ORIENTATION, &orient);
    memset(info, 0, sizeof *info);
    info->format = FS_FORMAT_TIFF;
    info->width = (int)(w > INT32_MAX ? INT32_MAX : w);
    info->height = (int)(h > INT32_MAX ? INT32_MAX : h);
    info->components = spp;
    info->bit_depth = bps;
    info->colorspace = colorspace_name(photometric);
    info->scale_num = info->scale_denom = 1;
    info->orientation = orient >= 1 && orient <= 8 ? orient : 1;
    int st = FS_OK;
    if (req) {
        st = fs_check_dims("TIFF", w, h, req->max_pixels, err);
        if (st == FS_OK)
            st = read_pixels(tif, &m, (int)w, (int)h, out, err);
    }
    TIFFClose(tif);
    return st;
}

int fs_tiff_probe(const uint8_t *buf, size_t len, fs_image_info *info, fs_error *err)
{
    return tiff_run(buf, len, NULL, NULL, info, err);
}

int fs_tiff_decode(const uint8_t *buf, size_t len, const fs_decode_req *req,
                   fs_image *out, fs_image_info *info, fs_error *err)
{
    return tiff_run(buf, len, req, out, info, err);
}
