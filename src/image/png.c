/*
 * PNG decoding through libpng, to packed RGB8 (see image.h for the rules:
 * 16-bit scaled with rounding, palette/low-depth gray expanded, alpha and
 * tRNS dropped, no gamma correction).
 *
 * libpng reports errors by longjmp to the setjmp in png_run.  Locals that
 * change after that setjmp and are read after the jump (the pixel and row
 * buffers) are volatile, so the jump cannot leave them stale and leak them.
 */
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct png_src {
    const uint8_t *buf;
    size_t len, pos;
    char msg[200]; /* libpng's error message */
} png_src;

static void read_fn(png_structp png, png_bytep out, size_t n)
{
    png_src *s = png_get_io_ptr(png);
    if (n > s->len - s->pos)
        png_error(png, "truncated PNG data: file ends early");
    memcpy(out, s->buf + s->pos, n);
    s->pos += n;
}

static void error_fn(png_structp png, png_const_charp msg)
{
    png_src *s = png_get_error_ptr(png);
    snprintf(s->msg, sizeof s->msg, "%s", msg ? msg : "unknown libpng error");
    png_longjmp(png, 1);
}

/* Warnings concern ancillary data (bad iCCP, unknown chunk CRC, ...): the
 * pixels are fine and libpng has already dropped the bad chunk. */
static void warning_fn(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static const char *colorspace_name(int ct)
{
    switch (ct) {
    case PNG_COLOR_TYPE_GRAY: return "gray";
    case PNG_COLOR_TYPE_GRAY_ALPHA: return "gray+alpha";
    case PNG_COLOR_TYPE_RGB: return "rgb";
    case PNG_COLOR_TYPE_RGB_ALPHA: return "rgba";
    case PNG_COLOR_TYPE_PALETTE: return "palette";
    default: return "unknown";
    }
}

static void fill_info(png_structp png, png_infop pi, fs_image_info *info)
{
    memset(info, 0, sizeof *info);
    info->format = FS_FORMAT_PNG;
    info->width = (int)png_get_image_width(png, pi);
    info->height = (int)png_get_image_height(png, pi);
    info->components = png_get_channels(png, pi);
    info->bit_depth = png_get_bit_depth(png, pi);
    info->progressive = png_get_interlace_type(png, pi) != PNG_INTERLACE_NONE;
    info->colorspace = colorspace_name(png_get_color_type(png, pi));
    info->scale_num = info->scale_denom = 1;
    info->orientation = 1;
    png_uint_32 n = 0;
    png_bytep exif = NULL;
    if (png_get_eXIf_1(png, pi, &n, &exif) && exif)
        info->orientation = fs_exif_orientation(exif, n);
}

/* Every transform that turns any PNG into 8-bit RGB. */
static void set_transforms(png_structp png, png_infop pi)
{
    int ct = png_get_color_type(png, pi);
    if (ct == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png); /* may add alpha from tRNS: stripped below */
    if (ct == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, pi) < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_bit_depth(png, pi) == 16)
        png_set_scale_16(png);
    png_set_strip_alpha(png); /* acts only on rows that carry alpha */
    if (!(ct & PNG_COLOR_MASK_COLOR))
        png_set_gray_to_rgb(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, pi);
}

static int status_for(const char *msg)
{
    return strstr(msg, "memory") ? FS_ENOMEM : FS_ECORRUPT;
}

/* Probe (req == NULL: headers only) or full decode. */
static int png_run(const uint8_t *buf, size_t len, const fs_decode_req *req,
                   fs_image *out, fs_image_info *info, fs_error *err)
{
    png_src src = {buf, len, 0, ""};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, error_fn, warning_fn);
    png_infop pi = png ? png_create_info_struct(png) : NULL;
    if (!pi) {
        png_destroy_read_struct(&png, NULL, NULL);
        return fs_fail(err, FS_ENOMEM, "cannot create a PNG decoder");
    }
    uint8_t *volatile px = NULL;
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        free(px);
        free(rows);
        png_destroy_read_struct(&png, &pi, NULL);
        int st = status_for(src.msg);
        if (strncmp(src.msg, "truncated", 9) == 0)
            return fs_fail(err, st, "%s", src.msg);
        return fs_fail(err, st, "corrupt PNG: %s", src.msg);
    }
    png_set_read_fn(png, &src, read_fn);
    /* Our own limits (fs_check_dims) apply instead of libpng's defaults. */
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_read_info(png, pi);
    fill_info(png, pi, info);
    int st = FS_OK;
    if (!req)
        goto done;
    /* Dimensions come from IHDR; nothing image-sized is allocated yet. */
    st = fs_check_dims("PNG", info->width, info->height, req->max_pixels, err);
    if (st != FS_OK)
        goto done;
    set_transforms(png, pi);
    int w = info->width, h = info->height;
    if (png_get_rowbytes(png, pi) != (size_t)w * 3 || png_get_bit_depth(png, pi) != 8) {
        st = fs_fail(err, FS_EINTERNAL, "PNG transforms gave %zu bytes per row, not %d",
                     (size_t)png_get_rowbytes(png, pi), w * 3);
        goto done;
    }
    px = malloc((size_t)w * h * 3);
    rows = malloc(sizeof(png_bytep) * (size_t)h);
    if (!px || !rows) {
        st = fs_fail(err, FS_ENOMEM, "out of memory for a %dx%d PNG", w, h);
        goto done;
    }
    for (int y = 0; y < h; y++)
        rows[y] = px + (size_t)y * w * 3;
    png_read_image(png, rows);
    /* Reads to IEND, so a stream cut after the last row (or a bad zlib
     * checksum) is an error too, as truncation is for JPEG. */
    png_read_end(png, NULL);
    out->width = w;
    out->height = h;
    out->data = px;
    px = NULL;
done:
    free(px);
    free(rows);
    png_destroy_read_struct(&png, &pi, NULL);
    return st;
}

int fs_png_probe(const uint8_t *buf, size_t len, fs_image_info *info, fs_error *err)
{
    fs_image unused = {0};
    return png_run(buf, len, NULL, &unused, info, err);
}

int fs_png_decode(const uint8_t *buf, size_t len, const fs_decode_req *req,
                  fs_image *out, fs_image_info *info, fs_error *err)
{
    return png_run(buf, len, req, out, info, err);
}
