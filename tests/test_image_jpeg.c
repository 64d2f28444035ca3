/*
 * JPEG variants the test makes with TurboJPEG (grayscale, CMYK/YCCK,
 * progressive, every chroma subsampling), header quirks, limits and
 * non-image input.
 */
#include <stdlib.h>
#include <turbojpeg.h>

#include "../src/image/internal.h"
#include "facesearch/image.h"
#include "harness.h"
#include "image_util.h"

/* TurboJPEG's own decode of a JPEG to pixel format pf (the reference). */
static uint8_t *tj_decode(const uint8_t *jpg, size_t len, int pf, int *w, int *h)
{
    tjhandle t = tjInitDecompress();
    int ss, cs;
    uint8_t *px = NULL;
    if (t && tjDecompressHeader3(t, jpg, len, w, h, &ss, &cs) == 0 &&
        (px = malloc((size_t)*w * *h * tjPixelSize[pf])) &&
        tjDecompress2(t, jpg, len, px, *w, 0, *h, pf, 0) != 0) {
        free(px);
        px = NULL;
    }
    if (t)
        tjDestroy(t);
    return px;
}

TEST(image_jpeg_grayscale_expands_to_three_equal_channels)
{
    const int w = 45, h = 31;
    uint8_t *g = malloc((size_t)w * h);
    REQUIRE(g);
    for (int i = 0; i < w * h; i++)
        g[i] = (uint8_t)(i % w * 5 + i / w * 3);
    size_t len;
    uint8_t *jpg = tu_jpeg_encode(g, w, h, TJPF_GRAY, TJSAMP_GRAY, 92, 0, &len);
    REQUIRE(jpg);
    fs_image img;
    fs_image_info info;
    fs_error e = {0};
    REQUIRE(fs_image_decode(jpg, len, NULL, &img, &info, &e) == FS_OK);
    CHECK_STR(info.colorspace, "gray");
    CHECK_INT(info.components, 1);
    int rw, rh;
    uint8_t *ref = tj_decode(jpg, len, TJPF_GRAY, &rw, &rh);
    REQUIRE(ref && rw == w && rh == h);
    size_t bad = 0;
    for (int i = 0; i < w * h; i++)
        bad += img.data[3 * i] != ref[i] || img.data[3 * i + 1] != ref[i] ||
               img.data[3 * i + 2] != ref[i];
    CHECK_INT(bad, 0); /* exactly the gray decode, replicated */
    CHECK(tu_mean_diff(ref, g, (size_t)w * h) < 1.5);
    fs_image_free(&img);
    free(ref);
    free(jpg);
    free(g);
}

/* Exact round(c * k / 255), the documented CMYK formula. */
static int cmyk_ref(int c, int k) { return (2 * c * k + 255) / 510; }

TEST(image_jpeg_cmyk_formula_exhaustive)
{
    uint8_t px[256 * 4];
    for (int k = 0; k < 256; k++) {
        for (int c = 0; c < 256; c++) {
            px[4 * c] = (uint8_t)c;
            px[4 * c + 1] = (uint8_t)(255 - c);
            px[4 * c + 2] = (uint8_t)(c ^ 0x55);
            px[4 * c + 3] = (uint8_t)k;
        }
        fs_cmyk_to_rgb_inplace(px, 256);
        int bad = 0;
        for (int c = 0; c < 256; c++)
            bad += px[3 * c] != cmyk_ref(c, k) || px[3 * c + 1] != cmyk_ref(255 - c, k) ||
                   px[3 * c + 2] != cmyk_ref(c ^ 0x55, k);
        CHECK_MSG(bad == 0, "k=%d: %d wrong", k, bad);
    }
}

TEST(image_jpeg_ycck_and_cmyk)
{
    /* Smooth Adobe-style (inverted) CMYK: 255 = no ink. */
    const int w = 48, h = 40;
    uint8_t *cmyk = malloc((size_t)w * h * 4), *want = malloc((size_t)w * h * 3);
    REQUIRE(cmyk && want);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = cmyk + ((size_t)y * w + x) * 4;
            p[0] = (uint8_t)(255 - 3 * x);
            p[1] = (uint8_t)(200 + y);
            p[2] = (uint8_t)(120 + x + y);
            p[3] = (uint8_t)(255 - 2 * y);
            for (int c = 0; c < 3; c++)
                want[((size_t)y * w + x) * 3 + c] = (uint8_t)cmyk_ref(p[c], p[3]);
        }
    size_t len;
    uint8_t *jpg = tu_jpeg_encode(cmyk, w, h, TJPF_CMYK, TJSAMP_444, 100, 0, &len);
    REQUIRE(jpg);
    fs_image img;
    fs_image_info info;
    fs_error e = {0};
    REQUIRE(fs_image_decode(jpg, len, NULL, &img, &info, &e) == FS_OK);
    CHECK_STR(info.colorspace, "ycck");
    CHECK_INT(info.components, 4);
    CHECK_INT(img.width, w);
    size_t n = (size_t)w * h * 3;
    CHECK_MSG(tu_max_diff(img.data, want, n) <= 4, "YCCK max diff %d", tu_max_diff(img.data, want, n));
    /* Bit-exact against TurboJPEG's own CMYK decode plus the formula. */
    int rw, rh;
    uint8_t *ref = tj_decode(jpg, len, TJPF_CMYK, &rw, &rh);
    REQUIRE(ref);
    size_t bad = 0;
    for (int i = 0; i < w * h; i++)
        for (int c = 0; c < 3; c++)
            bad += img.data[3 * i + c] != cmyk_ref(ref[4 * i + c], ref[4 * i + 3]);
    CHECK_INT(bad, 0);
    fs_image_free(&img);
    free(ref);

    /* Plain CMYK: the same file with Adobe transform 0 (components stored
     * as they are, no YCC conversion), and with no Adobe marker at all,
     * which libjpeg also reads as CMYK.  Both must give the same pixels:
     * the planes' values through the same formula. */
    size_t adobe = tu_jpeg_find(jpg, len, 0xEE);
    REQUIRE(adobe);
    uint8_t *cm = malloc(len);
    REQUIRE(cm);
    memcpy(cm, jpg, len);
    cm[adobe + 4 + 11] = 0;
    fs_image a, b;
    REQUIRE(fs_image_decode(cm, len, NULL, &a, &info, &e) == FS_OK);
    CHECK_STR(info.colorspace, "cmyk");
    ref = tj_decode(cm, len, TJPF_CMYK, &rw, &rh);
    REQUIRE(ref);
    bad = 0;
    for (int i = 0; i < w * h; i++)
        for (int c = 0; c < 3; c++)
            bad += a.data[3 * i + c] != cmyk_ref(ref[4 * i + c], ref[4 * i + 3]);
    CHECK_INT(bad, 0);
    size_t seg = 2 + ((size_t)cm[adobe + 2] << 8 | cm[adobe + 3]);
    memmove(cm + adobe, cm + adobe + seg, len - adobe - seg);
    REQUIRE(fs_image_decode(cm, len - seg, NULL, &b, &info, &e) == FS_OK);
    CHECK_STR(info.colorspace, "cmyk");
    CHECK(memcmp(a.data, b.data, n) == 0);
    fs_image_free(&a);
    fs_image_free(&b);

    /* An unknown Adobe transform (5): libjpeg would warn and assume YCCK;
     * we decode it as exactly that, without failing. */
    memcpy(cm, jpg, len);
    cm[adobe + 4 + 11] = 5;
    REQUIRE(fs_image_decode(jpg, len, NULL, &a, NULL, &e) == FS_OK);
    int st = fs_image_decode(cm, len, NULL, &b, &info, &e);
    CHECK_OK(st, &e);
    if (st == FS_OK) {
        CHECK_STR(info.colorspace, "ycck");
        CHECK(memcmp(a.data, b.data, n) == 0);
    }
    fs_image_free(&a);
    fs_image_free(&b);
    free(ref);
    free(cm);
    free(jpg);
    free(cmyk);
    free(want);
}

TEST(image_jpeg_progressive_equals_baseline)
{
    fs_image src;
    tu_pattern(&src, 123, 77);
    static const int ss[] = {TJSAMP_444, TJSAMP_420, TJSAMP_GRAY};
    for (int k = 0; k < 3; k++) {
        size_t lb, lp;
        uint8_t *base = tu_jpeg_encode(src.data, 123, 77, TJPF_RGB, ss[k], 85, 0, &lb);
        uint8_t *prog = tu_jpeg_encode(src.data, 123, 77, TJPF_RGB, ss[k], 85,
                                       TJFLAG_PROGRESSIVE, &lp);
        REQUIRE(base && prog);
        CHECK(memcmp(base, prog, lb < lp ? lb : lp) != 0);
        fs_image a, b;
        fs_image_info ia, ib;
        fs_error e = {0};
        REQUIRE(fs_image_decode(base, lb, NULL, &a, &ia, &e) == FS_OK);
        REQUIRE(fs_image_decode(prog, lp, NULL, &b, &ib, &e) == FS_OK);
        CHECK_INT(ia.progressive, 0);
        CHECK_INT(ib.progressive, 1);
        /* Same quantised coefficients, coded in several scans: once every
         * scan is in, a correct progressive decode equals the baseline one. */
        size_t n = (size_t)123 * 77 * 3;
        CHECK_MSG(tu_max_diff(a.data, b.data, n) == 0, "subsampling %d: max diff %d", ss[k],
                  tu_max_diff(a.data, b.data, n));
        if (ss[k] != TJSAMP_GRAY)
            CHECK(tu_mean_diff(a.data, src.data, n) < 3.0);
        /* Progressive files take the DCT-scaling path too. */
        fs_decode_opts o = {.min_width = 30, .min_height = 19};
        fs_image q;
        REQUIRE(fs_image_decode(prog, lp, &o, &q, &ib, &e) == FS_OK);
        CHECK_INT(q.width, 31); /* ceil(123 / 4) */
        CHECK_INT(q.height, 20);
        fs_image_free(&q);
        fs_image_free(&a);
        fs_image_free(&b);
        free(base);
        free(prog);
    }
    fs_image_free(&src);
}

TEST(image_jpeg_every_subsampling)
{
    fs_image src;
    tu_pattern(&src, 67, 45);
    static const int ss[] = {TJSAMP_444, TJSAMP_422, TJSAMP_420, TJSAMP_440, TJSAMP_411};
    for (int k = 0; k < 5; k++) {
        size_t len;
        uint8_t *jpg = tu_jpeg_encode(src.data, 67, 45, TJPF_RGB, ss[k], 95, 0, &len);
        REQUIRE(jpg);
        fs_image img;
        fs_error e = {0};
        REQUIRE(fs_image_decode(jpg, len, NULL, &img, NULL, &e) == FS_OK);
        int rw, rh;
        uint8_t *ref = tj_decode(jpg, len, TJPF_RGB, &rw, &rh);
        REQUIRE(ref);
        CHECK(memcmp(ref, img.data, (size_t)67 * 45 * 3) == 0);
        CHECK(tu_mean_diff(img.data, src.data, (size_t)67 * 45 * 3) < 4.0);
        fs_image_free(&img);
        free(ref);
        free(jpg);
    }
    fs_image_free(&src);
}

/* A small real JPEG with its SOF dimensions rewritten. */
static uint8_t *with_sof_size(int w, int h, size_t *len)
{
    fs_image src;
    tu_pattern(&src, 16, 16);
    uint8_t *jpg = tu_jpeg_encode(src.data, 16, 16, TJPF_RGB, TJSAMP_420, 90, 0, len);
    fs_image_free(&src);
    size_t sof = jpg ? tu_jpeg_find(jpg, *len, 0xC0) : 0;
    if (!sof) {
        free(jpg);
        return NULL;
    }
    jpg[sof + 5] = (uint8_t)(h >> 8);
    jpg[sof + 6] = (uint8_t)h;
    jpg[sof + 7] = (uint8_t)(w >> 8);
    jpg[sof + 8] = (uint8_t)w;
    return jpg;
}

TEST(image_jpeg_pixel_limit_checked_from_header)
{
    size_t len;
    fs_error e = {0};
    fs_image img;
    /* 60000x60000 claimed, 16x16 of data: a decoder that allocated and
     * decoded first would report truncation; the limit must come first. */
    uint8_t *jpg = with_sof_size(60000, 60000, &len);
    REQUIRE(jpg);
    double t0 = fs_now();
    CHECK_INT(fs_image_decode(jpg, len, NULL, &img, NULL, &e), FS_ELIMIT);
    CHECK(fs_now() - t0 < 0.5);
    CHECK(strstr(e.msg, "60000x60000") && strstr(e.msg, "decode.max_pixels"));
    CHECK(img.data == NULL);
    fs_image_info info;
    CHECK_OK(fs_image_probe(jpg, len, &info, &e), &e); /* probing is fine */
    CHECK_INT(info.width, 60000);
    free(jpg);
    /* The limit is inclusive and configurable. */
    fs_image src;
    tu_pattern(&src, 64, 64);
    jpg = tu_jpeg_encode(src.data, 64, 64, TJPF_RGB, TJSAMP_420, 90, 0, &len);
    REQUIRE(jpg);
    fs_decode_opts o = {.max_pixels = 4095};
    CHECK_INT(fs_image_decode(jpg, len, &o, &img, NULL, &e), FS_ELIMIT);
    o.max_pixels = 4096;
    CHECK_INT(fs_image_decode(jpg, len, &o, &img, NULL, &e), FS_OK);
    fs_image_free(&img);
    free(jpg);
    fs_image_free(&src);
    /* Zero height (DNL-style) and a zero width are damaged headers. */
    jpg = with_sof_size(16, 0, &len);
    REQUIRE(jpg);
    CHECK_INT(fs_image_decode(jpg, len, NULL, &img, NULL, &e), FS_ECORRUPT);
    CHECK(e.msg[0]);
    free(jpg);
    jpg = with_sof_size(0, 16, &len);
    REQUIRE(jpg);
    CHECK_INT(fs_image_decode(jpg, len, NULL, &img, NULL, &e), FS_ECORRUPT);
    free(jpg);
}

TEST(image_jpeg_unsupported_and_non_images)
{
    fs_error e = {0};
    fs_image img;
    static const struct { const char *data; size_t n; int st; const char *word; } cases[] = {
        {"", 0, FS_EFORMAT, "empty"},
        {"hello, world\n", 13, FS_EFORMAT, "not an image format facesearch reads"},
        {"GIF89a\1\0\1\0", 10, FS_EFORMAT, "GIF"},
        {"BM\0\0\0\0\0\0", 8, FS_EFORMAT, "BMP"},
        {"\0\0\0\30ftypisom\0\0\0\0", 16, FS_EFORMAT, "ISO media"},
        /* Formats read now, but these are only their first bytes. */
        {"RIFF\0\0\0\0WEBPVP8 ", 16, FS_ECORRUPT, "WebP"},
        {"\0\0\0\30ftypheic\0\0\0\0", 16, FS_ECORRUPT, "HEIF"},
        {"II*\0\10\0\0\0", 8, FS_ECORRUPT, "TIFF"},
        {"\xff\xd8", 2, FS_ECORRUPT, "JPEG"},
        {"\xff\xd8\xff", 3, FS_ECORRUPT, "JPEG"},
        {"\xff\xd8\xff\xd9", 4, FS_ECORRUPT, "JPEG"},
        {"\x89PNG\r\n\x1a\n", 8, FS_ECORRUPT, "PNG"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        e.msg[0] = '\0';
        int st = fs_image_decode((const uint8_t *)cases[i].data, cases[i].n, NULL, &img, NULL, &e);
        CHECK_MSG(st == cases[i].st && strstr(e.msg, cases[i].word),
                  "case %zu: status %d, message \"%s\"", i, st, e.msg);
        fs_image_info info;
        CHECK(fs_image_probe((const uint8_t *)cases[i].data, cases[i].n, &info, &e) != FS_OK);
    }
    /* 12-bit precision and the lossless process: valid JPEG, not supported. */
    size_t len;
    uint8_t *jpg = with_sof_size(16, 16, &len);
    REQUIRE(jpg);
    size_t sof = tu_jpeg_find(jpg, len, 0xC0);
    jpg[sof + 4] = 12;
    CHECK_INT(fs_image_decode(jpg, len, NULL, &img, NULL, &e), FS_EFORMAT);
    jpg[sof + 4] = 8;
    jpg[sof + 1] = 0xC3;
    CHECK_INT(fs_image_decode(jpg, len, NULL, &img, NULL, &e), FS_EFORMAT);
    /* Headers and tables but no scan (an abbreviated stream). */
    jpg[sof + 1] = 0xC0;
    size_t sos = tu_jpeg_find(jpg, len, 0xDA);
    REQUIRE(sos);
    jpg[sos + 1] = 0xD9;
    CHECK_INT(fs_image_decode(jpg, sos + 2, NULL, &img, NULL, &e), FS_ECORRUPT);
    free(jpg);
}

TEST(image_jpeg_benign_quirks_decode_corruption_does_not)
{
    fs_image src;
    tu_pattern(&src, 50, 40);
    size_t len;
    uint8_t *jpg = tu_jpeg_encode(src.data, 50, 40, TJPF_RGB, TJSAMP_420, 90, 0, &len);
    REQUIRE(jpg);
    fs_image ref, img;
    fs_error e = {0};
    REQUIRE(fs_image_decode(jpg, len, NULL, &ref, NULL, &e) == FS_OK);
    size_t n = (size_t)50 * 40 * 3;
    uint8_t *b = malloc(len + 64);
    REQUIRE(b);

    /* JFIF 2.01: libjpeg warns "unknown JFIF revision"; pixels identical. */
    size_t app0 = tu_jpeg_find(jpg, len, 0xE0);
    REQUIRE(app0);
    memcpy(b, jpg, len);
    b[app0 + 4 + 5] = 2;
    int st = fs_image_decode(b, len, NULL, &img, NULL, &e);
    CHECK_OK(st, &e);
    if (st == FS_OK)
        CHECK(memcmp(img.data, ref.data, n) == 0);
    fs_image_free(&img);

    /* Junk after the last scan, before EOI: every pixel is intact. */
    memcpy(b, jpg, len - 2);
    memcpy(b + len - 2, "\x12\x34\x56\xff\xd9", 5);
    st = fs_image_decode(b, len + 3, NULL, &img, NULL, &e);
    CHECK_OK(st, &e);
    if (st == FS_OK)
        CHECK(memcmp(img.data, ref.data, n) == 0);
    fs_image_free(&img);

    /* The same junk in the middle of the scan is corruption. */
    size_t mid = len * 2 / 3;
    memcpy(b, jpg, mid);
    memcpy(b + mid, "\xff\xd9", 2);
    st = fs_image_decode(b, mid + 2, NULL, &img, NULL, &e);
    CHECK_INT(st, FS_ECORRUPT);
    CHECK(img.data == NULL);
    /* A restart-less stream cut and glued: "premature end of data segment"
     * or "bad Huffman code" — either way not an image. */
    memcpy(b, jpg, len);
    for (size_t i = mid; i < mid + 8; i++)
        b[i] = 0xFF;
    b[mid + 8] = 0xD0;
    st = fs_image_decode(b, len, NULL, &img, NULL, &e);
    CHECK_INT(st, FS_ECORRUPT);
    CHECK(strstr(e.msg, "JPEG") != NULL);
    free(b);
    fs_image_free(&ref);
    free(jpg);
    fs_image_free(&src);
}
