/*
 * WebP, HEIF/HEIC, AVIF and TIFF photos made at test time by Debian's own
 * encoders (cwebp and img2webp, heif-enc and libheif's encoder API, libtiff),
 * decoded by content to the pixels they hold: lossless files exactly, lossy
 * ones within a small error; orientation tags honoured, truncated files and
 * oversized headers refused cleanly; and a folder of them ingested with the
 * faces found.
 */
#include <libheif/heif.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <tiffio.h>
#include <turbojpeg.h>

#include "../src/image/internal.h"
#include "facesearch/image.h"
#include "encode_util.h"
#include "harness.h"
#include "image_util.h"

/* The pattern as a lossless-quality JPEG file (the encoders' input) and its
 * decoded pixels (what a lossless re-encoding must give back). */
static const char *pattern_jpeg(int w, int h, const uint8_t *exif, size_t exif_len,
                                const char *name, fs_image *ref)
{
    fs_image img;
    tu_pattern(&img, w, h);
    size_t len;
    uint8_t *jpg = tu_jpeg_encode(img.data, w, h, TJPF_RGB, TJSAMP_444, 100, 0, &len);
    fs_image_free(&img);
    if (!jpg)
        return NULL;
    fs_error e = {0};
    if (ref && fs_image_decode(jpg, len, NULL, ref, NULL, &e) != FS_OK) {
        free(jpg);
        return NULL;
    }
    if (exif) {
        size_t n;
        uint8_t *with = tu_jpeg_insert(jpg, len, 0xE1, exif, exif_len, &n);
        free(jpg);
        jpg = with;
        len = n;
    }
    const char *path = jpg ? tu_write_tmp(name, jpg, len) : NULL;
    free(jpg);
    return path;
}

static int tool(const char *name)
{
    char cmd[128], out[64];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null", name);
    return fs_test_sh(cmd, out, sizeof out) == 0;
}

/* Runs a shell command and reports its output when it fails. */
static int run(const char *cmd)
{
    char out[2048];
    int rc = fs_test_sh(cmd, out, sizeof out);
    if (rc != 0)
        fs_test_fail(__FILE__, __LINE__, "`%s` -> %d: %s", cmd, rc, out);
    return rc;
}

static int decode_path(const char *path, int orient, fs_image *img, fs_image_info *info,
                       fs_error *e)
{
    fs_decode_opts o = {0};
    o.apply_orientation = orient;
    return fs_image_decode_file(path, &o, img, info, e);
}

static const char *tmp(const char *name)
{
    static char buf[4][512];
    static int k;
    char *p = buf[k++ % 4];
    snprintf(p, sizeof buf[0], "%s/%s", fs_test_tmpdir(), name);
    return p;
}

TEST(formats_webp_lossless_lossy_animated_and_misnamed)
{
    if (!tool("cwebp") || !tool("img2webp"))
        SKIP("cwebp/img2webp not installed (Debian package webp)");
    fs_image ref = {0}, img = {0}, flipped = {0};
    fs_image_info info;
    fs_error e = {0};
    const char *src = pattern_jpeg(97, 61, NULL, 0, "wp.jpg", &ref);
    REQUIRE(src);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cwebp -quiet -lossless %s -o %s && cwebp -quiet -q 90 %s -o %s",
             src, tmp("wp-lossless.webp"), src, tmp("wp-lossy.webp"));
    REQUIRE(run(cmd) == 0);
    CHECK_OK(decode_path(tmp("wp-lossless.webp"), 1, &img, &info, &e), &e);
    CHECK_INT(info.format, FS_FORMAT_WEBP);
    CHECK_STR(fs_format_name(info.format), "webp");
    REQUIRE(img.width == 97 && img.height == 61);
    CHECK_INT(tu_max_diff(img.data, ref.data, 97 * 61 * 3), 0);
    fs_image_free(&img);
    CHECK_OK(decode_path(tmp("wp-lossy.webp"), 1, &img, &info, &e), &e);
    REQUIRE(img.data);
    CHECK_MSG(tu_mean_diff(img.data, ref.data, 97 * 61 * 3) < 3, "lossy WebP mean error %.2f",
              tu_mean_diff(img.data, ref.data, 97 * 61 * 3));

    /* An animation: the first frame is the photo, the second differs. */
    fs_image_free(&img);
    CHECK_OK(fs_image_alloc(&flipped, 97, 61, &e), &e);
    for (size_t i = 0; i < (size_t)97 * 61 * 3; i++)
        flipped.data[i] = (uint8_t)(255 - ref.data[i]);
    size_t len;
    uint8_t *jpg = tu_jpeg_encode(flipped.data, 97, 61, TJPF_RGB, TJSAMP_444, 100, 0, &len);
    REQUIRE(jpg);
    REQUIRE(tu_write_tmp("wp-second.jpg", jpg, len));
    snprintf(cmd, sizeof cmd, "cd %s && cwebp -quiet -lossless wp-second.jpg -o wp-second.webp "
             "&& img2webp -lossless wp-lossless.webp wp-second.webp -o wp-anim.webp >/dev/null 2>&1",
             fs_test_tmpdir());
    free(jpg);
    REQUIRE(run(cmd) == 0);
    CHECK_OK(decode_path(tmp("wp-anim.webp"), 1, &img, &info, &e), &e);
    CHECK_INT(info.progressive, 1); /* "animated" */
    REQUIRE(img.width == 97 && img.height == 61);
    CHECK_INT(tu_max_diff(img.data, ref.data, 97 * 61 * 3), 0);
    fs_image_free(&img);

    /* Named .jpg, read by content. */
    snprintf(cmd, sizeof cmd, "cp %s %s", tmp("wp-lossless.webp"), tmp("wp-misnamed.jpg"));
    REQUIRE(run(cmd) == 0);
    CHECK_OK(decode_path(tmp("wp-misnamed.jpg"), 1, &img, &info, &e), &e);
    CHECK_INT(info.format, FS_FORMAT_WEBP);
    fs_image_free(&img);
    fs_image_free(&flipped);
    fs_image_free(&ref);
}

TEST(formats_webp_exif_orientation_as_for_jpeg)
{
    if (!tool("cwebp"))
        SKIP("cwebp not installed (Debian package webp)");
    size_t n;
    uint8_t *exif = tu_exif_block(6, 0, 1, &n);
    fs_image ref = {0}, img = {0};
    fs_image_info info;
    fs_error e = {0};
    const char *src = pattern_jpeg(64, 40, exif, n, "wo.jpg", &ref);
    free(exif);
    REQUIRE(src);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cwebp -quiet -lossless -metadata exif %s -o %s", src,
             tmp("wo.webp"));
    REQUIRE(run(cmd) == 0);
    CHECK_OK(decode_path(tmp("wo.webp"), 0, &img, &info, &e), &e);
    CHECK_INT(info.orientation, 6);
    CHECK(img.width == 64 && img.height == 40);
    fs_image_free(&img);
    CHECK_OK(decode_path(tmp("wo.webp"), 1, &img, &info, &e), &e);
    CHECK_OK(fs_image_orient(&ref, 6, &e), &e);
    REQUIRE(img.width == 40 && img.height == 64);
    CHECK_INT(tu_max_diff(img.data, ref.data, 40 * 64 * 3), 0);
    fs_image_free(&img);
    fs_image_free(&ref);
}

/* ---- HEIF / AVIF -------------------------------------------------------- */

/* A HEIF/AVIF file with rotation boxes, written by libheif's encoder. */
static int heif_write(const fs_image *img, enum heif_compression_format fmt, int orientation,
                      const char *name)
{
    size_t len;
    uint8_t *buf = tu_heif_encode(img, fmt, 90, orientation, &len);
    const char *path = buf ? tu_write_tmp(name, buf, len) : NULL;
    free(buf);
    return path ? 0 : -1;
}

TEST(formats_heif_and_avif_decode_and_orient)
{
    if (!tool("heif-enc"))
        SKIP("heif-enc not installed (Debian package libheif-examples)");
    fs_image ref = {0}, img = {0}, rot = {0};
    fs_image_info info;
    fs_error e = {0};
    const char *src = pattern_jpeg(128, 80, NULL, 0, "hf.jpg", &ref);
    REQUIRE(src);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "heif-enc -q 90 -o %s %s && heif-enc -A -q 90 -o %s %s",
             tmp("hf.heic"), src, tmp("hf.avif"), src);
    REQUIRE(run(cmd) == 0);
    const char *files[] = {"hf.heic", "hf.avif"};
    const int fmts[] = {FS_FORMAT_HEIF, FS_FORMAT_AVIF};
    for (int i = 0; i < 2; i++) {
        CHECK_OK(decode_path(tmp(files[i]), 1, &img, &info, &e), &e);
        CHECK_INT(info.format, fmts[i]);
        REQUIRE(img.width == 128 && img.height == 80);
        double md = tu_mean_diff(img.data, ref.data, 128 * 80 * 3);
        CHECK_MSG(md < 4, "%s: mean error %.2f against the source", files[i], md);
        fs_image_free(&img);
    }
    /* Rotation boxes written by libheif's encoder: applied when orientation
     * is asked for, ignored otherwise (as EXIF for a JPEG). */
    CHECK_INT(heif_write(&ref, heif_compression_AV1, 6, "hf-rot.avif"), 0);
    CHECK_INT(heif_write(&ref, heif_compression_HEVC, 6, "hf-rot.heic"), 0);
    const char *rotated[] = {"hf-rot.avif", "hf-rot.heic"};
    for (int i = 0; i < 2; i++) {
        CHECK_OK(decode_path(tmp(rotated[i]), 0, &img, &info, &e), &e);
        CHECK(img.width == 128 && img.height == 80);
        fs_image_free(&img);
        CHECK_OK(decode_path(tmp(rotated[i]), 1, &img, &info, &e), &e);
        REQUIRE(img.width == 80 && img.height == 128);
        CHECK_OK(fs_image_crop(&ref, 0, 0, 128, 80, &rot, &e), &e);
        CHECK_OK(fs_image_orient(&rot, 6, &e), &e);
        double md = tu_mean_diff(img.data, rot.data, 128 * 80 * 3);
        CHECK_MSG(md < 4, "%s: mean error %.2f against the rotated source", rotated[i], md);
        fs_image_free(&rot);
        fs_image_free(&img);
    }
    fs_image_free(&ref);
}

/* ---- TIFF --------------------------------------------------------------- */

typedef struct tiff_spec {
    int w, h, spp, bps;
    uint16_t photometric, orientation;
    const uint16_t *cmap; /* palette: 3 * 2^bps entries */
    int pages;
} tiff_spec;

/* Writes a TIFF with libtiff whose sample (x, y, c) is sample(x, y, c). */
static int tiff_write(const char *path, const tiff_spec *s,
                      unsigned (*sample)(int x, int y, int c, int bps))
{
    TIFF *t = TIFFOpen(path, "w");
    if (!t)
        return -1;
    int rc = 0;
    for (int page = 0; page < (s->pages ? s->pages : 1) && rc == 0; page++) {
        TIFFSetField(t, TIFFTAG_IMAGEWIDTH, s->w);
        TIFFSetField(t, TIFFTAG_IMAGELENGTH, s->h);
        TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, s->spp);
        TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, s->bps);
        TIFFSetField(t, TIFFTAG_PHOTOMETRIC, s->photometric);
        TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
        TIFFSetField(t, TIFFTAG_ORIENTATION, s->orientation ? s->orientation : 1);
        TIFFSetField(t, TIFFTAG_COMPRESSION, page ? COMPRESSION_NONE : COMPRESSION_ADOBE_DEFLATE);
        TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 7);
        if (s->photometric == PHOTOMETRIC_SEPARATED)
            TIFFSetField(t, TIFFTAG_INKSET, INKSET_CMYK);
        if (s->cmap) {
            int n = 1 << s->bps;
            TIFFSetField(t, TIFFTAG_COLORMAP, s->cmap, s->cmap + n, s->cmap + 2 * n);
        }
        size_t rowbytes = (size_t)s->w * s->spp * s->bps / 8;
        uint8_t *row = calloc(1, rowbytes);
        for (int y = 0; y < s->h && row && rc == 0; y++) {
            for (int x = 0; x < s->w; x++)
                for (int c = 0; c < s->spp; c++) {
                    unsigned v = sample(x, y, c, s->bps) + (unsigned)page * 7;
                    size_t k = (size_t)x * s->spp + c;
                    if (s->bps == 16)
                        ((uint16_t *)(void *)row)[k] = (uint16_t)v;
                    else
                        row[k] = (uint8_t)v;
                }
            rc = TIFFWriteScanline(t, row, (uint32_t)y, 0) == 1 ? 0 : -1;
        }
        free(row);
        if (rc == 0 && !TIFFWriteDirectory(t))
            rc = -1;
    }
    TIFFClose(t);
    return rc;
}

static unsigned rgb_sample(int x, int y, int c, int bps)
{
    unsigned v = (unsigned)(x * 37 + y * 11 + c * 80) & 0xff;
    return bps == 16 ? v * 257 : v;
}

static unsigned grey_sample(int x, int y, int c, int bps)
{
    (void)c;
    unsigned v = (unsigned)(x * 5 + y * 3) & 0xff;
    return bps == 16 ? v * 257 : v; /* libtiff rounds v * 257 to v */
}

static unsigned index_sample(int x, int y, int c, int bps)
{
    (void)c, (void)bps;
    return (unsigned)(x + y) & 0xff;
}

static unsigned cmyk_sample(int x, int y, int c, int bps)
{
    (void)bps;
    return (unsigned)(x * 13 + y * 7 + c * 60) & 0xff;
}

/* The RGB8 pixel each kind of TIFF above must decode to. */
static void expect_px(char kind, int x, int y, uint8_t px[3])
{
    for (int c = 0; c < 3; c++) {
        switch (kind) {
        case 'r': px[c] = (uint8_t)rgb_sample(x, y, c, 8); break;
        case 'g': px[c] = (uint8_t)((x * 5 + y * 3) & 0xff); break;
        case 'p': {
            unsigned i = index_sample(x, y, 0, 8);
            px[c] = (uint8_t)(c == 0 ? i : c == 1 ? 255 - i : (i * 3) & 0xff);
            break;
        }
        default: { /* CMYK without colour management, as libtiff does it */
            unsigned k = 255 - cmyk_sample(x, y, 3, 8);
            px[c] = (uint8_t)(k * (255 - cmyk_sample(x, y, c, 8)) / 255);
        }
        }
    }
}

TEST(formats_tiff_layouts_pages_and_orientations)
{
    static uint16_t cmap[3 * 256];
    for (int i = 0; i < 256; i++) {
        cmap[i] = (uint16_t)(i * 257);
        cmap[256 + i] = (uint16_t)((255 - i) * 257);
        cmap[512 + i] = (uint16_t)(((i * 3) & 0xff) * 257);
    }
    const struct {
        const char *name;
        char kind;
        tiff_spec spec;
        unsigned (*sample)(int, int, int, int);
        const char *colorspace;
    } cases[] = {
        {"rgb8.tif", 'r', {45, 31, 3, 8, PHOTOMETRIC_RGB, 1, NULL, 2}, rgb_sample, "rgb"},
        {"rgb16.tif", 'r', {45, 31, 3, 16, PHOTOMETRIC_RGB, 1, NULL, 1}, rgb_sample, "rgb"},
        {"grey8.tif", 'g', {45, 31, 1, 8, PHOTOMETRIC_MINISBLACK, 1, NULL, 1}, grey_sample,
         "gray"},
        {"grey16.tif", 'g', {45, 31, 1, 16, PHOTOMETRIC_MINISBLACK, 1, NULL, 1}, grey_sample,
         "gray"},
        {"palette.tif", 'p', {45, 31, 1, 8, PHOTOMETRIC_PALETTE, 1, cmap, 1}, index_sample,
         "palette"},
        {"cmyk.tif", 'c', {45, 31, 4, 8, PHOTOMETRIC_SEPARATED, 1, NULL, 1}, cmyk_sample,
         "cmyk"},
    };
    fs_error e = {0};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *path = tmp(cases[i].name);
        REQUIRE(tiff_write(path, &cases[i].spec, cases[i].sample) == 0);
        fs_image img = {0};
        fs_image_info info;
        CHECK_OK(decode_path(path, 1, &img, &info, &e), &e);
        if (!img.data)
            continue;
        CHECK_INT(info.format, FS_FORMAT_TIFF);
        CHECK_STR(info.colorspace, cases[i].colorspace);
        CHECK_INT(info.bit_depth, cases[i].spec.bps);
        REQUIRE(img.width == 45 && img.height == 31);
        int worst = 0;
        for (int y = 0; y < 31; y++)
            for (int x = 0; x < 45; x++) {
                uint8_t want[3];
                expect_px(cases[i].kind, x, y, want);
                int d = tu_max_diff(want, img.data + ((size_t)y * 45 + x) * 3, 3);
                worst = d > worst ? d : worst;
            }
        /* Exact but for CMYK, where libtiff's rounding may differ by one. */
        CHECK_MSG(worst <= (cases[i].kind == 'c'), "%s: pixel off by %d", cases[i].name,
                  worst);
        fs_image_free(&img);
    }

    /* Each of the eight Orientation tags: stored rows come back as written,
     * then oriented exactly as a JPEG with that EXIF orientation. */
    fs_image stored = {0};
    CHECK_OK(decode_path(tmp("rgb8.tif"), 0, &stored, NULL, &e), &e);
    REQUIRE(stored.data);
    for (int o = 1; o <= 8; o++) {
        char name[32];
        snprintf(name, sizeof name, "orient%d.tif", o);
        tiff_spec sp = {45, 31, 3, 8, PHOTOMETRIC_RGB, (uint16_t)o, NULL, 1};
        REQUIRE(tiff_write(tmp(name), &sp, rgb_sample) == 0);
        fs_image raw = {0}, img = {0}, want = {0};
        fs_image_info info;
        CHECK_OK(decode_path(tmp(name), 0, &raw, &info, &e), &e);
        CHECK_INT(info.orientation, o);
        CHECK(raw.data && tu_max_diff(raw.data, stored.data, 45 * 31 * 3) == 0);
        CHECK_OK(decode_path(tmp(name), 1, &img, NULL, &e), &e);
        CHECK_OK(fs_image_crop(&stored, 0, 0, 45, 31, &want, &e), &e);
        CHECK_OK(fs_image_orient(&want, o, &e), &e);
        CHECK_MSG(img.data && img.width == want.width && img.height == want.height &&
                      tu_max_diff(img.data, want.data, 45 * 31 * 3) == 0,
                  "orientation %d: not oriented as EXIF %d would be", o, o);
        fs_image_free(&raw);
        fs_image_free(&img);
        fs_image_free(&want);
    }
    fs_image_free(&stored);
}

/* Reads a file into memory (NULL on failure). */
static uint8_t *slurp(const char *path, size_t *len)
{
    uint8_t *buf;
    fs_error e = {0};
    return fs_read_file(path, 1u << 28, &buf, len, &e) == FS_OK ? buf : NULL;
}

TEST(formats_truncated_and_oversized_are_clean_errors)
{
    /* Made by the tests above (they run first, in file order). */
    const char *files[] = {"wp-lossy.webp", "hf.heic", "hf.avif", "rgb16.tif"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        size_t len;
        uint8_t *buf = slurp(tmp(files[i]), &len);
        if (!buf) {
            CHECK_MSG(0, "%s missing: did its test skip?", files[i]);
            continue;
        }
        fs_image img = {0};
        fs_error e = {0};
        /* Cut at several points: each is an error, never a crash. */
        for (size_t cut = 16; cut < len; cut += len / 7 + 1) {
            int st = fs_image_decode(buf, cut, NULL, &img, NULL, &e);
            CHECK_MSG(st == FS_ECORRUPT || st == FS_EFORMAT,
                      "%s cut at %zu of %zu: status %d (%s)", files[i], cut, len, st, e.msg);
            CHECK(img.data == NULL);
        }
        /* The pixel limit applies on the header, before any pixels. */
        fs_decode_opts o = {0};
        o.max_pixels = 100;
        CHECK_INT(fs_image_decode(buf, len, &o, &img, NULL, &e), FS_ELIMIT);
        CHECK_MSG(strstr(e.msg, "decode.max_pixels") != NULL, "%s: %s", files[i], e.msg);
        free(buf);
    }
}

TEST(formats_ingest_a_folder_of_every_kind)
{
    if (!tool("cwebp") || !tool("heif-enc"))
        SKIP("cwebp or heif-enc not installed (Debian packages webp, libheif-examples)");
    char dir[512], cmd[6 * PATH_MAX], out[8192];
    snprintf(dir, sizeof dir, "%s/formats", fs_test_tmpdir());
    char m[PATH_MAX];
    REQUIRE(realpath(fs_test_models_dir(), m));
    /* Samples 1-4 as WebP, AVIF, HEIC and a WebP named .jpg; sample 5 as a
     * TIFF; sample 6 as a truncated WebP (recorded, skipped). */
    snprintf(cmd, sizeof cmd,
             "rm -rf %s && mkdir -p %s && cd %s && "
             "cwebp -quiet -q 90 %s/demo/sample1.jpg -o one.webp && "
             "heif-enc -A -q 80 -o two.avif %s/demo/sample2.jpg >/dev/null && "
             "heif-enc -q 80 -o three.heic %s/demo/sample3.jpg >/dev/null && "
             "cwebp -quiet -q 90 %s/demo/sample4.jpg -o four.jpg && "
             "cwebp -quiet -q 90 %s/demo/sample6.jpg -o six.webp && "
             "head -c 9000 six.webp > six-cut.webp && rm six.webp",
             dir, dir, dir, m, m, m, m, m);
    REQUIRE(run(cmd) == 0);
    char src[PATH_MAX + 32], tif[600];
    snprintf(src, sizeof src, "%s/demo/sample5.jpg", m);
    snprintf(tif, sizeof tif, "%s/five.tif", dir);
    fs_image img = {0};
    fs_error e = {0};
    CHECK_OK(fs_image_decode_file(src, NULL, &img, NULL, &e), &e);
    REQUIRE(img.data);
    TIFF *t = TIFFOpen(tif, "w");
    REQUIRE(t);
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, img.width);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, img.height);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 3);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB);
    TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_LZW);
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 16);
    int ok = 1;
    for (int y = 0; y < img.height && ok; y++)
        ok = TIFFWriteScanline(t, img.data + (size_t)y * img.width * 3, (uint32_t)y, 0) == 1;
    TIFFClose(t);
    fs_image_free(&img);
    REQUIRE(ok);

    snprintf(cmd, sizeof cmd, "%s ingest --db %s/db --models %s --quiet %s 2>&1; "
             "%s stats --db %s/db --json --errors", fs_test_bin(), dir, m, dir, fs_test_bin(),
             dir);
    fs_test_sh(cmd, out, sizeof out);
    const char *p = strstr(out, "\"images_ok\":");
    CHECK_MSG(p && atoi(p + 12) == 5, "five photos with faces expected: %s", out);
    p = strstr(out, "\"images_no_face\":");
    CHECK_MSG(p && atoi(p + 17) == 0, "every photo has faces: %s", out);
    CHECK_MSG(strstr(out, "six-cut.webp") && strstr(out, "truncated WebP"),
              "the cut WebP is recorded with its reason: %s", out);
}

/* A 'meta' box holding an 'iref' with the given dimg entries (from, to...),
 * each a version-0 SingleItemTypeReferenceBox. */
static size_t iref_file(uint8_t *b, const uint16_t (*refs)[3], int n)
{
    size_t len = 0;
    memcpy(b, "\0\0\0\x10" "ftypheic\0\0\0\0", 16);
    len = 16;
    size_t meta = len, iref;
    memcpy(b + len, "\0\0\0\0meta\0\0\0\0", 12);
    len += 12;
    iref = len;
    memcpy(b + len, "\0\0\0\0iref\0\0\0\0", 12);
    len += 12;
    for (int i = 0; i < n; i++) {
        int count = refs[i][2] ? 2 : 1;
        size_t sz = 8 + 2 + 2 + 2 * (size_t)count;
        uint8_t e[16] = {0, 0, 0, (uint8_t)sz, 'd', 'i', 'm', 'g', 0, (uint8_t)refs[i][0], 0,
                         (uint8_t)count, 0, (uint8_t)refs[i][1], 0, (uint8_t)refs[i][2]};
        memcpy(b + len, e, sz);
        len += sz;
    }
    b[iref + 3] = (uint8_t)(len - iref);
    b[meta + 3] = (uint8_t)(len - meta);
    return len;
}

TEST(formats_heif_reference_cycles_are_refused_before_libheif)
{
    uint8_t b[256];
    /* A grid of two tiles; a chain; an item that is its own tile; a
     * two-step loop; a loop away from the first entries. */
    const uint16_t grid[][3] = {{1, 2, 3}}, chain[][3] = {{1, 2, 0}, {2, 3, 0}},
                   self[][3] = {{2, 2, 0}}, loop[][3] = {{1, 2, 0}, {2, 1, 0}},
                   far[][3] = {{1, 2, 3}, {3, 4, 0}, {4, 3, 0}};
    CHECK_INT(fs_heif_ref_cycle(b, iref_file(b, grid, 1)), 0);
    CHECK_INT(fs_heif_ref_cycle(b, iref_file(b, chain, 2)), 0);
    CHECK_INT(fs_heif_ref_cycle(b, iref_file(b, self, 1)), 1);
    CHECK_INT(fs_heif_ref_cycle(b, iref_file(b, loop, 2)), 1);
    CHECK_INT(fs_heif_ref_cycle(b, iref_file(b, far, 3)), 1);
    /* Cut anywhere, the walk stays in bounds and calls nothing a cycle. */
    size_t n = iref_file(b, chain, 2);
    for (size_t cut = 0; cut < n; cut++)
        CHECK_INT(fs_heif_ref_cycle(b, cut), 0);
    /* The file the fuzzer found: libheif never sees it. */
    size_t len;
    uint8_t *bad = slurp("tests/fuzz/regress/image_heif/grid-made-of-itself.heic", &len);
    REQUIRE(bad);
    fs_image img = {0};
    fs_error e = {0};
    CHECK_INT(fs_image_decode(bad, len, NULL, &img, NULL, &e), FS_ECORRUPT);
    CHECK_MSG(strstr(e.msg, "form a cycle") != NULL, "%s", e.msg);
    free(bad);
}

/* A HEIF that crashes Debian 12's libheif 1.15 (found by make fuzz): ingest
 * and info decode HEIF in a child process, so the file is recorded with the
 * reason and the run goes on. */
TEST(formats_a_decoder_crash_costs_one_photo_not_the_run)
{
    if (!tool("cwebp"))
        SKIP("cwebp not installed (Debian package webp)");
    char dir[512], out[8192], m[PATH_MAX];
    static char cmd[4 * PATH_MAX];
    REQUIRE(realpath(fs_test_models_dir(), m));
    snprintf(dir, sizeof dir, "%s/hostile", fs_test_tmpdir());
    snprintf(cmd, sizeof cmd, "mkdir -p %s/photos && cp tests/data/hostile/libheif-1.15-segv.heic "
             "%s/photos/bad.heic && cwebp -quiet %s/demo/sample2.jpg -o %s/photos/good.webp",
             dir, dir, m, dir);
    REQUIRE(run(cmd) == 0);
    snprintf(cmd, sizeof cmd, "%s info %s/photos/bad.heic 2>&1", fs_test_bin(), dir);
    CHECK_INT(fs_test_sh(cmd, out, sizeof out), 2);
    /* In the child, with its address space capped, libheif now fails the
     * file's huge allocation instead of crashing; were it to crash or be
     * killed, the message says so.  Either way: that photo only. */
    CHECK_MSG(strstr(out, "bad.heic: ") && strchr(out, '\n') == out + strlen(out) - 1,
              "info: one line about the file: %s", out);
    snprintf(cmd, sizeof cmd, "%s ingest --db %s/db --quiet %s/photos 2>&1; echo \"rc=$?\"; "
             "%s stats --db %s/db --json --errors", fs_test_bin(), dir, dir, fs_test_bin(), dir);
    fs_test_sh(cmd, out, sizeof out);
    CHECK_MSG(strstr(out, "rc=0") != NULL, "the ingest ended: %s", out);
    const char *p = strstr(out, "\"images_ok\":");
    CHECK_MSG(p && atoi(p + 12) == 1, "the good photo is in: %s", out);
    CHECK_MSG(strstr(out, "\"errors\":1,") && strstr(out, "bad.heic"),
              "the bad one is recorded: %s", out);
}

/* The child's fate reaches the caller as an error naming the photo: a
 * decoder that dies of a signal, one that exits without an answer. */
TEST(formats_isolated_decoder_crash_and_silence_are_errors)
{
    char crash[600], quiet[600], photo[600];
    snprintf(crash, sizeof crash, "%s/crashing-decoder", fs_test_tmpdir());
    snprintf(quiet, sizeof quiet, "%s/silent-decoder", fs_test_tmpdir());
    snprintf(photo, sizeof photo, "%s/demo/sample1.jpg", fs_test_models_dir());
    FILE *f = fopen(crash, "w");
    REQUIRE(f);
    fputs("#!/bin/sh\nkill -SEGV $$\n", f);
    fclose(f);
    f = fopen(quiet, "w");
    REQUIRE(f);
    fputs("#!/bin/sh\nexit 0\n", f);
    fclose(f);
    chmod(crash, 0755);
    chmod(quiet, 0755);
    fs_image img = {0};
    fs_error e = {0};
    CHECK_INT(fs_image_decode_isolated(crash, photo, NULL, &img, NULL, &e), FS_ECORRUPT);
    CHECK_MSG(strstr(e.msg, "sample1.jpg: the decoder crashed on this file (signal 11)"), "%s",
              e.msg);
    CHECK(img.data == NULL);
    CHECK_INT(fs_image_decode_isolated(quiet, photo, NULL, &img, NULL, &e), FS_ECORRUPT);
    CHECK_MSG(strstr(e.msg, "sample1.jpg: the decoder gave no answer for this file (exit 0)"),
              "%s", e.msg);
    /* And the real helper gives the in-process decoder's pixels. */
    char bin[PATH_MAX];
    REQUIRE(realpath(fs_test_bin(), bin));
    fs_image mine = {0};
    CHECK_OK(fs_image_decode_isolated(bin, photo, NULL, &img, NULL, &e), &e);
    CHECK_OK(fs_image_decode_file(photo, NULL, &mine, NULL, &e), &e);
    CHECK(img.data && mine.data && img.width == mine.width && img.height == mine.height &&
          tu_max_diff(img.data, mine.data, (size_t)img.width * img.height * 3) == 0);
    fs_image_free(&img);
    fs_image_free(&mine);
}
