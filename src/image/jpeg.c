/*
 * JPEG decoding through the TurboJPEG API.
 *
 * Defaults are libjpeg's (ISLOW IDCT, fancy upsampling), so a full-size
 * decode is bit-identical to `djpeg`.  Decoding runs with
 * TJFLAG_STOPONWARNING: libjpeg reports damaged entropy-coded data only as a
 * warning and would otherwise hand back an image with grey blocks where the
 * data was missing.  TJFLAG_LIMITSCANS stops progressive files with
 * thousands of scans (a CPU-exhaustion trick).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "internal.h"

#define TJ_FLAGS (TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS)

static const char *colorspace_name(int cs)
{
    switch (cs) {
    case TJCS_RGB: return "rgb";
    case TJCS_YCbCr: return "ycbcr";
    case TJCS_GRAY: return "gray";
    case TJCS_CMYK: return "cmyk";
    case TJCS_YCCK: return "ycck";
    default: return "unknown";
    }
}

/* Turns the handle's last error into a status and message. */
static int tj_fail(tjhandle h, fs_error *err)
{
    const char *msg = tjGetErrorStr2(h);
    if (!msg || !*msg)
        msg = "unknown libjpeg-turbo error";
    if (strstr(msg, "Premature end"))
        return fs_fail(err, FS_ECORRUPT, "truncated JPEG data: %s", msg);
    if (strncmp(msg, "Corrupt JPEG data", 17) == 0)
        return fs_fail(err, FS_ECORRUPT, "%s", msg);
    if (strstr(msg, "Empty JPEG image")) /* a zero side; DNL is all but unused */
        return fs_fail(err, FS_ECORRUPT, "JPEG header gives an empty image: %s", msg);
    if (strstr(msg, "Unsupported") || strstr(msg, "not supported"))
        return fs_fail(err, FS_EFORMAT, "unsupported JPEG: %s", msg);
    if (strstr(msg, "Maximum supported image dimension"))
        return fs_fail(err, FS_ELIMIT, "JPEG too large: %s", msg);
    if (strstr(msg, "memory") || strstr(msg, "Memory"))
        return fs_fail(err, FS_ENOMEM, "JPEG decoder: %s", msg);
    return fs_fail(err, FS_ECORRUPT, "corrupt JPEG: %s", msg);
}

/* Reads the header into *info; *tjcs receives the TurboJPEG colourspace. */
static int read_header(tjhandle h, const uint8_t *buf, size_t len,
                       const fs_jpeg_markers *m, fs_image_info *info, int *tjcs,
                       fs_error *err)
{
    int w = 0, ht = 0, subsamp = -1, cs = -1;
    if (tjDecompressHeader3(h, buf, (unsigned long)len, &w, &ht, &subsamp, &cs) != 0) {
        /* TurboJPEG only knows the common chroma layouts; others (rare, but
         * legal) still decompress fine, so that one complaint is not fatal. */
        const char *msg = tjGetErrorStr2(h);
        if (!(msg && strstr(msg, "Could not determine subsampling") && cs >= 0))
            return tj_fail(h, err);
    }
    if (w <= 0 || ht <= 0) /* an abbreviated, tables-only datastream */
        return fs_fail(err, FS_ECORRUPT, "JPEG holds no image (tables only)");
    memset(info, 0, sizeof *info);
    info->format = FS_FORMAT_JPEG;
    info->width = w;
    info->height = ht;
    info->orientation = m->orientation;
    info->components = cs == TJCS_GRAY ? 1 : (cs == TJCS_CMYK || cs == TJCS_YCCK) ? 4 : 3;
    info->progressive = m->sof == 0xC2 || m->sof == 0xC6 || m->sof == 0xCA || m->sof == 0xCE;
    info->bit_depth = 8;
    info->colorspace = colorspace_name(cs);
    info->scale_num = info->scale_denom = 1;
    *tjcs = cs;
    return FS_OK;
}

/* The smallest scale factor <= 1 whose output still covers min_w x min_h
 * (in stored orientation; the caller swaps for a 90-degree orientation).
 * On equal output sizes the larger factor wins, as tjDecompress2 picks. */
static tjscalingfactor pick_scale(int w, int h, int min_w, int min_h)
{
    tjscalingfactor best = {1, 1};
    if (min_w <= 0 && min_h <= 0)
        return best;
    int n = 0;
    const tjscalingfactor *sf = tjGetScalingFactors(&n);
    long long best_area = (long long)w * h;
    for (int i = 0; sf && i < n; i++) {
        if (sf[i].num > sf[i].denom)
            continue;
        int sw = TJSCALED(w, sf[i]), sh = TJSCALED(h, sf[i]);
        if (sw < min_w || sh < min_h)
            continue;
        if ((long long)sw * sh < best_area) {
            best = sf[i];
            best_area = (long long)sw * sh;
        }
    }
    return best;
}

/* Runs the decompression; on the benign "junk after the last scan" warning
 * decodes again without stopping and keeps that image if that warning stays
 * the first one (libjpeg keeps the first warning's text): every pixel was
 * then decoded from clean data. */
static int decompress(tjhandle h, const uint8_t *buf, size_t len, uint8_t *dst,
                      int w, int ht, int pf, fs_error *err)
{
    int pitch = w * tjPixelSize[pf];
    if (tjDecompress2(h, buf, (unsigned long)len, dst, w, pitch, ht, pf, TJ_FLAGS) == 0)
        return FS_OK;
    const char *msg = tjGetErrorStr2(h);
    if (tjGetErrorCode(h) != TJERR_WARNING || !msg ||
        !strstr(msg, "extraneous bytes before marker 0xd9"))
        return tj_fail(h, err);
    char first[200]; /* JMSG_LENGTH_MAX */
    snprintf(first, sizeof first, "%s", msg);
    if (tjDecompress2(h, buf, (unsigned long)len, dst, w, pitch, ht, pf,
                      TJ_FLAGS & ~TJFLAG_STOPONWARNING) == 0)
        return FS_OK;
    msg = tjGetErrorStr2(h);
    if (tjGetErrorCode(h) == TJERR_WARNING && msg && strcmp(msg, first) == 0)
        return FS_OK;
    return tj_fail(h, err);
}

/* Header quirks that only make libjpeg warn (see fs_jpeg_markers) are
 * patched in a private copy so that STOPONWARNING stays strict. */
static const uint8_t *unquirk(const uint8_t *buf, size_t len, const fs_jpeg_markers *m,
                              uint8_t **copy, fs_error *err)
{
    *copy = NULL;
    if (!m->quirk_off[0])
        return buf;
    *copy = malloc(len);
    if (!*copy) {
        fs_fail(err, FS_ENOMEM, "out of memory copying a %zu byte JPEG", len);
        return NULL;
    }
    memcpy(*copy, buf, len);
    for (int i = 0; i < 2; i++)
        if (m->quirk_off[i])
            (*copy)[m->quirk_off[i]] = m->quirk_val[i];
    return *copy;
}

int fs_jpeg_probe(const uint8_t *buf, size_t len, fs_image_info *info, fs_error *err)
{
    fs_jpeg_markers m;
    fs_jpeg_scan_markers(buf, len, &m);
    tjhandle h = tjInitDecompress();
    if (!h)
        return fs_fail(err, FS_ENOMEM, "cannot create a JPEG decoder: %s", tjGetErrorStr2(NULL));
    uint8_t *copy;
    const uint8_t *src = unquirk(buf, len, &m, &copy, err);
    int cs, st = src ? read_header(h, src, len, &m, info, &cs, err) : FS_ENOMEM;
    free(copy);
    tjDestroy(h);
    return st;
}

int fs_jpeg_decode(const uint8_t *buf, size_t len, const fs_decode_req *req,
                   fs_image *out, fs_image_info *info, fs_error *err)
{
    fs_jpeg_markers m;
    fs_jpeg_scan_markers(buf, len, &m);
    tjhandle h = tjInitDecompress();
    if (!h)
        return fs_fail(err, FS_ENOMEM, "cannot create a JPEG decoder: %s", tjGetErrorStr2(NULL));
    uint8_t *copy, *px = NULL;
    int cs = -1, st = FS_ENOMEM;
    const uint8_t *src = unquirk(buf, len, &m, &copy, err);
    if (!src)
        goto done;
    st = read_header(h, src, len, &m, info, &cs, err);
    if (st == FS_OK)
        st = fs_check_dims("JPEG", info->width, info->height, req->max_pixels, err);
    if (st != FS_OK)
        goto done;

    int swap = req->apply_orientation && info->orientation >= 5;
    tjscalingfactor sf = swap ? pick_scale(info->width, info->height, req->min_height, req->min_width)
                              : pick_scale(info->width, info->height, req->min_width, req->min_height);
    int sw = TJSCALED(info->width, sf), sh = TJSCALED(info->height, sf);
    int cmyk = cs == TJCS_CMYK || cs == TJCS_YCCK;
    int pf = cmyk ? TJPF_CMYK : TJPF_RGB;
    size_t n = (size_t)sw * (size_t)sh;
    px = malloc(n * (size_t)tjPixelSize[pf]);
    if (!px) {
        st = fs_fail(err, FS_ENOMEM, "out of memory for a %dx%d JPEG", sw, sh);
        goto done;
    }
    st = decompress(h, src, len, px, sw, sh, pf, err);
    if (st != FS_OK)
        goto done;
    if (cmyk) {
        fs_cmyk_to_rgb_inplace(px, n);
        uint8_t *shrunk = realloc(px, n * 3);
        if (shrunk)
            px = shrunk;
    }
    out->width = sw;
    out->height = sh;
    out->data = px;
    px = NULL;
    info->scale_num = sf.num;
    info->scale_denom = sf.denom;
done:
    free(px);
    free(copy);
    tjDestroy(h);
    return st;
}
