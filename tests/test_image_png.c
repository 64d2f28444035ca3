/*
 * PNG variants written with libpng by the test, decoded to exactly the
 * expected RGB8 pixels; damaged PNGs give clean errors.
 */
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <zlib.h>

#include "facesearch/image.h"
#include "harness.h"
#include "image_util.h"

typedef struct membuf {
    uint8_t *p;
    size_t n, cap;
} membuf;

static void mem_write(png_structp png, png_bytep data, size_t n)
{
    membuf *m = png_get_io_ptr(png);
    if (m->n + n > m->cap) {
        size_t cap = (m->n + n) * 2;
        uint8_t *q = realloc(m->p, cap);
        if (!q)
            png_error(png, "out of memory");
        m->p = q;
        m->cap = cap;
    }
    memcpy(m->p + m->n, data, n);
    m->n += n;
}

static void mem_flush(png_structp png) { (void)png; }

typedef struct png_spec {
    int w, h, color_type, depth, interlace;
    const uint8_t *rows;    /* packed rows as libpng wants them */
    size_t rowbytes;
    const png_color *palette;
    int n_palette;
    const uint8_t *trans;   /* palette alpha */
    int n_trans;
    const uint8_t *exif;
    size_t exif_len;
} png_spec;

/* Writes a PNG to memory; NULL on failure. */
static uint8_t *write_png(const png_spec *s, size_t *len)
{
    membuf m = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        return NULL;
    }
    png_bytep *volatile rows = malloc(sizeof(png_bytep) * (size_t)s->h);
    if (!rows || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(m.p);
        free(rows);
        return NULL;
    }
    png_set_write_fn(png, &m, mem_write, mem_flush);
    png_set_IHDR(png, info, (png_uint_32)s->w, (png_uint_32)s->h, s->depth, s->color_type,
                 s->interlace, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (s->palette)
        png_set_PLTE(png, info, s->palette, s->n_palette);
    if (s->trans)
        png_set_tRNS(png, info, s->trans, s->n_trans, NULL);
    if (s->exif)
        png_set_eXIf_1(png, info, (png_uint_32)s->exif_len, (png_bytep)s->exif);
    for (int y = 0; y < s->h; y++)
        rows[y] = (png_bytep)s->rows + (size_t)y * s->rowbytes;
    png_write_info(png, info);
    if (s->depth == 16)
        png_set_swap(png); /* our 16-bit test rows are little-endian */
    png_write_image(png, rows);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    free(rows);
    *len = m.n;
    return m.p;
}

/* Decodes buf and checks every byte against want (w x h x 3). */
static void expect_pixels(const char *what, const uint8_t *buf, size_t len,
                          const uint8_t *want, int w, int h, const char *cs)
{
    fs_image img;
    fs_image_info info;
    fs_error e = {0};
    int st = fs_image_decode(buf, len, NULL, &img, &info, &e);
    CHECK_MSG(st == FS_OK, "%s: %s", what, e.msg);
    if (st != FS_OK)
        return;
    CHECK_INT(info.format, FS_FORMAT_PNG);
    CHECK_MSG(img.width == w && img.height == h, "%s: %dx%d", what, img.width, img.height);
    CHECK_STR(info.colorspace, cs);
    if (img.width == w && img.height == h) {
        size_t n = (size_t)w * h * 3, bad = 0;
        for (size_t i = 0; i < n; i++)
            bad += img.data[i] != want[i];
        CHECK_MSG(bad == 0, "%s: %zu of %zu bytes differ", what, bad, n);
    }
    fs_image_free(&img);
}

TEST(image_png_8bit_rgb_rgba_gray_grayalpha)
{
    const int w = 37, h = 23; /* odd sizes: no accidental alignment */
    fs_image ref;
    tu_pattern(&ref, w, h);
    REQUIRE(ref.data);
    uint8_t *rgba = malloc((size_t)w * h * 4), *ga = malloc((size_t)w * h * 2);
    uint8_t *g = malloc((size_t)w * h), *g3 = malloc((size_t)w * h * 3);
    REQUIRE(rgba && ga && g && g3);
    for (int i = 0; i < w * h; i++) {
        memcpy(rgba + 4 * i, ref.data + 3 * i, 3);
        rgba[4 * i + 3] = (uint8_t)(i * 7); /* alpha varies, must not matter */
        g[i] = (uint8_t)(ref.data[3 * i] ^ ref.data[3 * i + 1]);
        ga[2 * i] = g[i];
        ga[2 * i + 1] = (uint8_t)(255 - i);
        memset(g3 + 3 * i, g[i], 3);
    }
    struct { const char *name, *cs; int ct; const uint8_t *rows; size_t rb; const uint8_t *want; } v[] = {
        {"rgb8", "rgb", PNG_COLOR_TYPE_RGB, ref.data, (size_t)w * 3, ref.data},
        {"rgba8", "rgba", PNG_COLOR_TYPE_RGBA, rgba, (size_t)w * 4, ref.data},
        {"gray8", "gray", PNG_COLOR_TYPE_GRAY, g, (size_t)w, g3},
        {"gray+alpha8", "gray+alpha", PNG_COLOR_TYPE_GRAY_ALPHA, ga, (size_t)w * 2, g3},
    };
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++)
        for (int il = 0; il <= 1; il++) {
            png_spec s = {w, h, v[k].ct, 8, il ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                          v[k].rows, v[k].rb, NULL, 0, NULL, 0, NULL, 0};
            size_t len;
            uint8_t *png = write_png(&s, &len);
            REQUIRE(png);
            char what[64];
            snprintf(what, sizeof what, "%s%s", v[k].name, il ? " interlaced" : "");
            expect_pixels(what, png, len, v[k].want, w, h, v[k].cs);
            fs_image_info info;
            fs_error e = {0};
            CHECK_OK(fs_image_probe(png, len, &info, &e), &e);
            CHECK_INT(info.progressive, il);
            CHECK_INT(info.bit_depth, 8);
            free(png);
        }
    free(rgba);
    free(ga);
    free(g);
    free(g3);
    fs_image_free(&ref);
}

TEST(image_png_palette_and_low_bit_depths)
{
    const int w = 29, h = 17;
    png_color pal[256];
    uint8_t trans[256];
    for (int i = 0; i < 256; i++) {
        pal[i].red = (png_byte)(i * 3);
        pal[i].green = (png_byte)(255 - i);
        pal[i].blue = (png_byte)(i * i);
        trans[i] = (uint8_t)(i * 5); /* tRNS: must be dropped, not composited */
    }
    static const int depths[] = {1, 2, 4, 8};
    uint8_t *rows = calloc((size_t)w * h, 1), *want = malloc((size_t)w * h * 3);
    REQUIRE(rows && want);
    for (size_t d = 0; d < 4; d++) {
        int bd = depths[d], per = 8 / bd, maxv = (1 << bd) - 1;
        size_t rb = ((size_t)w * bd + 7) / 8;
        for (int pass = 0; pass < 2; pass++) { /* 0: palette, 1: gray */
            memset(rows, 0, rb * h);
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    int v = (x * 3 + y * 5 + x * y) % (maxv + 1);
                    int shift = (per - 1 - x % per) * bd; /* MSB first */
                    rows[y * rb + x / per] |= (uint8_t)(v << shift);
                    uint8_t *p = want + ((size_t)y * w + x) * 3;
                    if (pass == 0) {
                        p[0] = pal[v].red;
                        p[1] = pal[v].green;
                        p[2] = pal[v].blue;
                    } else {
                        memset(p, v * 255 / maxv, 3); /* 1->255, 2-bit *85, 4-bit *17 */
                    }
                }
            for (int il = 0; il <= 1; il++) {
                png_spec s = {w, h, pass ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_PALETTE, bd,
                              il ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, rows, rb,
                              pass ? NULL : pal, 1 << bd, pass ? NULL : trans,
                              pass ? 0 : 1 << bd, NULL, 0};
                size_t len;
                uint8_t *png = write_png(&s, &len);
                REQUIRE(png);
                char what[64];
                snprintf(what, sizeof what, "%s %d-bit%s", pass ? "gray" : "palette", bd,
                         il ? " interlaced" : "");
                expect_pixels(what, png, len, want, w, h, pass ? "gray" : "palette");
                free(png);
            }
        }
    }
    free(rows);
    free(want);
}

TEST(image_png_16bit_scaled_with_rounding)
{
    /* All 65536 sample values as a 256x256 gray image, then RGB/RGBA/GA. */
    const int w = 256, h = 256;
    uint16_t *g = malloc(sizeof(uint16_t) * w * h);
    uint16_t *rgba = malloc(sizeof(uint16_t) * w * h * 4);
    uint8_t *want = malloc((size_t)w * h * 3), *want_rgb = malloc((size_t)w * h * 3);
    REQUIRE(g && rgba && want && want_rgb);
    for (int i = 0; i < w * h; i++) {
        g[i] = (uint16_t)i;
        /* round(v * 255 / 65535) = round(v / 257) */
        memset(want + 3 * i, (i + 128) / 257, 3);
        uint16_t c[4] = {(uint16_t)i, (uint16_t)(65535 - i), (uint16_t)(i * 31), (uint16_t)(i ^ 0x5A5A)};
        memcpy(rgba + 4 * i, c, sizeof c);
        for (int k = 0; k < 3; k++)
            want_rgb[3 * i + k] = (uint8_t)((c[k] + 128) / 257);
    }
    uint16_t *ga = malloc(sizeof(uint16_t) * w * h * 2), *rgb = malloc(sizeof(uint16_t) * w * h * 3);
    REQUIRE(ga && rgb);
    for (int i = 0; i < w * h; i++) {
        ga[2 * i] = g[i];
        ga[2 * i + 1] = (uint16_t)(i * 3);
        memcpy(rgb + 3 * i, rgba + 4 * i, 6);
    }
    struct { const char *name, *cs; int ct; const void *rows; size_t rb; const uint8_t *want; } v[] = {
        {"gray16", "gray", PNG_COLOR_TYPE_GRAY, g, (size_t)w * 2, want},
        {"gray+alpha16", "gray+alpha", PNG_COLOR_TYPE_GRAY_ALPHA, ga, (size_t)w * 4, want},
        {"rgb16", "rgb", PNG_COLOR_TYPE_RGB, rgb, (size_t)w * 6, want_rgb},
        {"rgba16", "rgba", PNG_COLOR_TYPE_RGBA, rgba, (size_t)w * 8, want_rgb},
    };
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) {
        png_spec s = {w, h, v[k].ct, 16, k == 2 ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                      v[k].rows, v[k].rb, NULL, 0, NULL, 0, NULL, 0};
        size_t len;
        uint8_t *png = write_png(&s, &len);
        REQUIRE(png);
        expect_pixels(v[k].name, png, len, v[k].want, w, h, v[k].cs);
        free(png);
    }
    free(g);
    free(ga);
    free(rgb);
    free(rgba);
    free(want);
    free(want_rgb);
}

TEST(image_png_exif_orientation)
{
    fs_image ref;
    tu_pattern(&ref, 20, 10);
    size_t el;
    uint8_t *ex = tu_exif_block(6, 1, 0, &el);
    png_spec s = {20, 10, PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_NONE, ref.data, 60,
                  NULL, 0, NULL, 0, ex, el};
    size_t len;
    uint8_t *png = write_png(&s, &len);
    REQUIRE(png);
    fs_image img;
    fs_image_info info;
    fs_error e = {0};
    fs_decode_opts on = {.apply_orientation = 1};
    REQUIRE(fs_image_decode(png, len, &on, &img, &info, &e) == FS_OK);
    CHECK_INT(info.orientation, 6);
    CHECK_INT(img.width, 10);
    CHECK_INT(img.height, 20);
    /* Orientation 6: upright (x, y) = stored (y, H-1-x). */
    int ok = 1;
    for (int y = 0; y < 20; y++)
        for (int x = 0; x < 10; x++)
            ok &= memcmp(img.data + (y * 10 + x) * 3, ref.data + ((9 - x) * 20 + y) * 3, 3) == 0;
    CHECK(ok);
    fs_image_free(&img);
    free(png);
    free(ex);
    fs_image_free(&ref);
}

/* A PNG of signature + IHDR (with a correct CRC) + an empty IDAT (when
 * idat) + IEND: a header with no pixel data. */
static size_t ihdr_only(uint8_t *b, uint32_t w, uint32_t h, int depth, int ct, int idat)
{
    memcpy(b, "\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", 16);
    uint8_t *d = b + 16;
    for (int i = 0; i < 4; i++) {
        d[i] = (uint8_t)(w >> (24 - 8 * i));
        d[4 + i] = (uint8_t)(h >> (24 - 8 * i));
    }
    d[8] = (uint8_t)depth;
    d[9] = (uint8_t)ct;
    d[10] = d[11] = d[12] = 0;
    uint32_t crc = (uint32_t)crc32(0, b + 12, 17);
    for (int i = 0; i < 4; i++)
        b[29 + i] = (uint8_t)(crc >> (24 - 8 * i));
    size_t n = 33;
    if (idat) {
        memcpy(b + n, "\0\0\0\0IDAT\x35\xaf\x06\x1e", 12);
        n += 12;
    }
    memcpy(b + n, "\0\0\0\0IEND\xae\x42\x60\x82", 12);
    return n + 12;
}

TEST(image_png_damaged_and_oversized)
{
    fs_error e = {0};
    fs_image img;
    uint8_t b[64];
    /* Claims 60000x60000: refused by the pixel limit from IHDR alone (the
     * data is missing, so a decoder that read first would say "corrupt"). */
    size_t n = ihdr_only(b, 60000, 60000, 8, PNG_COLOR_TYPE_RGB, 1);
    CHECK_INT(fs_image_decode(b, n, NULL, &img, NULL, &e), FS_ELIMIT);
    CHECK(strstr(e.msg, "60000x60000") != NULL);
    n = ihdr_only(b, 100000, 10, 8, PNG_COLOR_TYPE_RGB, 1); /* side over the maximum */
    CHECK_INT(fs_image_decode(b, n, NULL, &img, NULL, &e), FS_ELIMIT);
    n = ihdr_only(b, 0, 10, 8, PNG_COLOR_TYPE_RGB, 1);
    CHECK_INT(fs_image_decode(b, n, NULL, &img, NULL, &e), FS_ECORRUPT);
    n = ihdr_only(b, 10, 10, 8, PNG_COLOR_TYPE_RGB, 0); /* no IDAT at all */
    CHECK_INT(fs_image_decode(b, n, NULL, &img, NULL, &e), FS_ECORRUPT);
    n = ihdr_only(b, 10, 10, 8, PNG_COLOR_TYPE_RGB, 1); /* IDAT without data */
    CHECK_INT(fs_image_decode(b, n, NULL, &img, NULL, &e), FS_ECORRUPT);
    fs_decode_opts small = {.max_pixels = 99};
    CHECK_INT(fs_image_decode(b, n, &small, &img, NULL, &e), FS_ELIMIT);

    fs_image ref;
    tu_pattern(&ref, 40, 30);
    png_spec s = {40, 30, PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_NONE, ref.data, 120,
                  NULL, 0, NULL, 0, NULL, 0};
    size_t len;
    uint8_t *png = write_png(&s, &len);
    REQUIRE(png);
    /* Every truncation is an error with a message. */
    for (size_t cut = 0; cut < len; cut++) {
        e.msg[0] = '\0';
        int st = fs_image_decode(png, cut, NULL, &img, NULL, &e);
        CHECK_MSG(st == FS_ECORRUPT || (cut < 8 && st == FS_EFORMAT),
                  "cut at %zu: status %d (%s)", cut, st, e.msg);
        CHECK(e.msg[0] != '\0');
        CHECK(img.data == NULL);
    }
    /* A flipped bit in IHDR (CRC mismatch) or in the compressed data. */
    uint8_t *c = malloc(len);
    REQUIRE(c);
    memcpy(c, png, len);
    c[20] ^= 1;
    CHECK_INT(fs_image_decode(c, len, NULL, &img, NULL, &e), FS_ECORRUPT);
    CHECK(strstr(e.msg, "CRC") != NULL);
    size_t idat = 0;
    for (size_t i = 8; i + 4 < len; i++)
        if (memcmp(c + i, "IDAT", 4) == 0) {
            idat = i;
            break;
        }
    REQUIRE(idat);
    for (size_t k = 0; k < 20; k++) {
        memcpy(c, png, len);
        c[idat + 6 + k * 7 % (len - idat - 20)] ^= 0x5A;
        int st = fs_image_decode(c, len, NULL, &img, NULL, &e);
        CHECK(st == FS_ECORRUPT); /* the chunk CRC catches it */
        fs_image_free(&img);
    }
    free(c);
    free(png);
    fs_image_free(&ref);
}

/* Recomputes the CRC of every chunk, so mutated chunk data gets past the
 * CRC check and into libpng's parsers and zlib (the longjmp paths). */
static void fix_crcs(uint8_t *p, size_t len)
{
    size_t pos = 8;
    while (pos + 12 <= len) {
        size_t n = (size_t)p[pos] << 24 | (size_t)p[pos + 1] << 16 | (size_t)p[pos + 2] << 8 | p[pos + 3];
        if (n > len - pos - 12)
            return;
        uint32_t crc = (uint32_t)crc32(0, p + pos + 4, (uInt)(n + 4));
        for (int i = 0; i < 4; i++)
            p[pos + 8 + n + i] = (uint8_t)(crc >> (24 - 8 * i));
        pos += n + 12;
    }
}

TEST(image_png_mutations_with_valid_crcs)
{
    fs_image ref;
    tu_pattern(&ref, 40, 30);
    png_color pal[16];
    uint8_t idx[40 * 30], trans[16];
    for (int i = 0; i < 16; i++) {
        pal[i].red = pal[i].green = pal[i].blue = (png_byte)(i * 17);
        trans[i] = (uint8_t)(255 - i);
    }
    for (int i = 0; i < 40 * 30; i++)
        idx[i] = (uint8_t)(i % 16);
    png_spec specs[2] = {
        {40, 30, PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_ADAM7, ref.data, 120, NULL, 0, NULL, 0, NULL, 0},
        {40, 30, PNG_COLOR_TYPE_PALETTE, 8, PNG_INTERLACE_NONE, idx, 40, pal, 16, trans, 16, NULL, 0},
    };
    for (int sp = 0; sp < 2; sp++) {
        size_t len;
        uint8_t *png = write_png(&specs[sp], &len);
        REQUIRE(png);
        uint8_t *c = malloc(len);
        REQUIRE(c);
        int decoded = 0, failed = 0;
        uint32_t s = 2024u + (uint32_t)sp;
        for (int k = 0; k < 2000; k++) {
            memcpy(c, png, len);
            int n = 1 + k % 3;
            for (int m = 0; m < n; m++) {
                s = s * 1664525u + 1013904223u;
                size_t pos = 8 + (s >> 8) % (len - 8);
                s = s * 1664525u + 1013904223u;
                c[pos] ^= (uint8_t)(1 + (s >> 24) % 255);
            }
            fix_crcs(c, len);
            fs_image img;
            fs_error e = {0};
            int st = fs_image_decode(c, len, NULL, &img, NULL, &e);
            if (st == FS_OK) {
                CHECK(img.data && img.width > 0 && img.height > 0 &&
                      (long long)img.width * img.height <= (long long)FS_DEFAULT_MAX_PIXELS);
                decoded++;
            } else {
                CHECK_MSG((st == FS_ECORRUPT || st == FS_EFORMAT || st == FS_ELIMIT) && e.msg[0] &&
                              img.data == NULL, "variant %d: status %d (%s)", k, st, e.msg);
                failed++;
            }
            fs_image_free(&img);
        }
        CHECK(decoded > 50 && failed > 50);
        free(c);
        free(png);
    }
    fs_image_free(&ref);
}
