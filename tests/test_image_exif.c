/*
 * EXIF orientation: every value 1..8 in both byte orders on JPEGs the test
 * builds, and malformed EXIF that must mean "orientation 1", never a crash.
 */
#include <stdlib.h>
#include <turbojpeg.h>

#include "../src/image/internal.h"
#include "facesearch/image.h"
#include "harness.h"
#include "image_util.h"

/* Where upright pixel (x, y) lives in the stored image of size W x H, for
 * each orientation, written out from the EXIF definition ("row 0 is the
 * visual right side, column 0 the visual top" for 6, etc.). */
static void stored_pos(int o, int W, int H, int x, int y, int *sx, int *sy)
{
    switch (o) {
    case 2: *sx = W - 1 - x; *sy = y; break;
    case 3: *sx = W - 1 - x; *sy = H - 1 - y; break;
    case 4: *sx = x; *sy = H - 1 - y; break;
    case 5: *sx = y; *sy = x; break;
    case 6: *sx = y; *sy = H - 1 - x; break;
    case 7: *sx = W - 1 - y; *sy = H - 1 - x; break;
    case 8: *sx = W - 1 - y; *sy = x; break;
    default: *sx = x; *sy = y; break;
    }
}

/* The stored image that orientation o turns into `up`. */
static void make_stored(const fs_image *up, int o, fs_image *st)
{
    int W = o >= 5 ? up->height : up->width, H = o >= 5 ? up->width : up->height;
    fs_error e = {0};
    if (fs_image_alloc(st, W, H, &e) != FS_OK)
        return;
    for (int y = 0; y < up->height; y++)
        for (int x = 0; x < up->width; x++) {
            int sx, sy;
            stored_pos(o, W, H, x, y, &sx, &sy);
            memcpy(st->data + ((size_t)sy * W + sx) * 3, up->data + ((size_t)y * up->width + x) * 3, 3);
        }
}

static uint8_t *jpeg_with_orientation(const fs_image *stored, int o, int big, size_t *len)
{
    size_t jl, el;
    uint8_t *j = tu_jpeg_encode(stored->data, stored->width, stored->height, TJPF_RGB,
                                TJSAMP_444, 98, 0, &jl);
    uint8_t *ex = tu_exif_block(o, big, 1, &el);
    uint8_t *r = j && ex ? tu_jpeg_insert(j, jl, 0xE1, ex, el, len) : NULL;
    free(j);
    free(ex);
    return r;
}

TEST(image_exif_all_orientations_both_byte_orders)
{
    fs_image up;
    tu_pattern(&up, 48, 32);
    REQUIRE(up.data);
    /* Every orientation of `up`, to show the decode matches only the right one. */
    fs_image cand[9] = {{0}};
    for (int o = 1; o <= 8; o++) {
        fs_image st;
        make_stored(&up, o, &st);
        REQUIRE(st.data);
        /* cand[o]: what a decoder applying orientation o would see if the
         * stored image were `up` itself. */
        fs_error e = {0};
        REQUIRE(fs_image_crop(&up, 0, 0, up.width, up.height, &cand[o], &e) == FS_OK);
        REQUIRE(fs_image_orient(&cand[o], o, &e) == FS_OK);
        for (int big = 0; big <= 1; big++) {
            size_t len;
            uint8_t *jpg = jpeg_with_orientation(&st, o, big, &len);
            REQUIRE(jpg);
            fs_image img, raw;
            fs_image_info info;
            fs_decode_opts on = {.apply_orientation = 1}, off = {0};
            CHECK_OK(fs_image_decode(jpg, len, &on, &img, &info, &e), &e);
            CHECK_OK(fs_image_decode(jpg, len, &off, &raw, NULL, &e), &e);
            CHECK_INT(info.orientation, o);
            CHECK_INT(info.width, st.width);
            CHECK_INT(info.height, st.height);
            CHECK_INT(raw.width, st.width);
            CHECK_INT(raw.height, st.height);
            CHECK_INT(img.width, up.width);
            CHECK_INT(img.height, up.height);
            if (img.data && img.width == up.width && img.height == up.height) {
                size_t n = (size_t)up.width * up.height * 3;
                double md = tu_mean_diff(img.data, up.data, n);
                int mx = tu_max_diff(img.data, up.data, n);
                CHECK_MSG(md < 1.5 && mx <= 24, "orientation %d %s: mean %.2f max %d", o,
                          big ? "MM" : "II", md, mx);
            }
            if (raw.data && raw.width == st.width)
                CHECK(tu_mean_diff(raw.data, st.data, (size_t)st.width * st.height * 3) < 1.5);
            fs_image_free(&img);
            fs_image_free(&raw);
            free(jpg);
        }
        fs_image_free(&st);
    }
    /* The eight orientations of the pattern really are distinct. */
    for (int a = 1; a <= 8; a++)
        for (int b = a + 1; b <= 8; b++)
            if (cand[a].width == cand[b].width)
                CHECK(tu_mean_diff(cand[a].data, cand[b].data,
                                   (size_t)cand[a].width * cand[a].height * 3) > 20);
    for (int o = 1; o <= 8; o++)
        fs_image_free(&cand[o]);
    fs_image_free(&up);
}

TEST(image_exif_dct_scaling_respects_orientation)
{
    /* Stored 64x32 with orientation 6: upright it is 32x64. */
    fs_image st;
    tu_pattern(&st, 64, 32);
    size_t len;
    uint8_t *jpg = jpeg_with_orientation(&st, 6, 0, &len);
    REQUIRE(jpg);
    fs_error e = {0};
    fs_image img;
    fs_image_info info;
    fs_decode_opts o = {.min_width = 16, .min_height = 32, .apply_orientation = 1};
    REQUIRE(fs_image_decode(jpg, len, &o, &img, &info, &e) == FS_OK);
    CHECK_INT(img.width, 16); /* stored 1/2 = 32x16, upright 16x32 */
    CHECK_INT(img.height, 32);
    CHECK_INT(info.scale_denom, 2);
    fs_image_free(&img);
    /* Not applied: the constraint is on the stored shape, 64x32 >= 16x32 only at 1/1. */
    o.apply_orientation = 0;
    REQUIRE(fs_image_decode(jpg, len, &o, &img, &info, &e) == FS_OK);
    CHECK_INT(img.width, 64);
    CHECK_INT(img.height, 32);
    fs_image_free(&img);
    free(jpg);
    fs_image_free(&st);
}

TEST(image_exif_parser_malformed_blocks)
{
    size_t n;
    for (int big = 0; big <= 1; big++) {
        for (int o = 1; o <= 8; o++) {
            uint8_t *t = tu_exif_block(o, big, 0, &n);
            REQUIRE(t);
            CHECK_INT(fs_exif_orientation(t, n), o);
            /* Every truncation: no over-read (ASan), and 1 until the entry is whole. */
            for (size_t k = 0; k < n; k++) {
                int v = fs_exif_orientation(t, k);
                CHECK(v == 1 || (v == o && k >= 8 + 2 + 24));
            }
            free(t);
        }
        static const int bad[] = {0, 9, 255, 0x106, 0xFFFF};
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            uint8_t *t = tu_exif_block(bad[i], big, 0, &n);
            CHECK_INT(fs_exif_orientation(t, n), 1);
            free(t);
        }
        uint8_t *t = tu_exif_block(6, big, 0, &n);
        uint8_t *c = malloc(n);
        REQUIRE(c);
        /* Byte-order mark, magic, IFD offset, entry count, type, count. */
        static const struct { size_t off; uint8_t val; } pokes[] = {
            {0, 'X'}, {1, 'X'}, {2, 0x2B}, {3, 0x2B}, {4, 0xFF}, {7, 0xFF}, {4, 0},
            {5, 0}, {8, 0xFF}, {9, 0xFF}, {24, 2}, {25, 7}, {28, 9}, {31, 9},
        };
        for (size_t i = 0; i < sizeof pokes / sizeof pokes[0]; i++) {
            memcpy(c, t, n);
            c[pokes[i].off] = pokes[i].val;
            int v = fs_exif_orientation(c, n);
            CHECK(v == 1 || v == 6);
        }
        /* A LONG orientation is accepted; an ASCII one is not. */
        memcpy(c, t, n);
        size_t type_off = 8 + 2 + 12 + 2 + (big ? 1 : 0);
        c[type_off] = 4;
        uint8_t v6[4] = {0, 0, 0, 6};
        for (int i = 0; i < 4; i++)
            c[8 + 2 + 12 + 8 + i] = big ? v6[i] : v6[3 - i];
        CHECK_INT(fs_exif_orientation(c, n), 6);
        c[type_off] = 2;
        CHECK_INT(fs_exif_orientation(c, n), 1);
        free(c);
        free(t);
    }
    CHECK_INT(fs_exif_orientation(NULL, 0), 1);
    /* Random bodies behind a valid header: any answer in 1..8, no crash. */
    uint8_t blk[96];
    uint32_t s = 12345;
    for (int it = 0; it < 20000; it++) {
        for (size_t i = 0; i < sizeof blk; i++) {
            s = s * 1664525u + 1013904223u;
            blk[i] = (uint8_t)(s >> 24);
        }
        memcpy(blk, it & 1 ? "MM\0*" : "II*\0", 4);
        if (it % 3 == 0) /* plausible IFD offset so entries get parsed */
            blk[4] = blk[7] = 0, blk[it & 1 ? 7 : 4] = 8, blk[5] = blk[6] = 0;
        int v = fs_exif_orientation(blk, 8 + (size_t)(s >> 8) % (sizeof blk - 8));
        CHECK(v >= 1 && v <= 8);
    }
}

TEST(image_exif_malformed_segments_in_jpeg)
{
    fs_image st;
    tu_pattern(&st, 24, 16);
    size_t jl;
    uint8_t *j = tu_jpeg_encode(st.data, 24, 16, TJPF_RGB, TJSAMP_420, 90, 0, &jl);
    REQUIRE(j);
    fs_decode_opts on = {.apply_orientation = 1};
    fs_error e = {0};
    /* Payloads are string literals; LIT gives pointer and exact length. */
#define LIT(s) (const uint8_t *)(s), sizeof(s) - 1
    struct { const char *name; const uint8_t *p; size_t n; int want; } cases[] = {
        {"header only", LIT("Exif\0\0"), 1},
        {"no TIFF", LIT("Exif\0\0II"), 1},
        {"bad order", LIT("Exif\0\0XX*\0\10\0\0\0"), 1},
        {"offset past end", LIT("Exif\0\0II*\0\377\377\0\0"), 1},
        {"huge count", LIT("Exif\0\0II*\0\10\0\0\0\377\377\22\1\3\0"), 1},
        {"XMP, not EXIF", LIT("http://ns.adobe.com/xap/1.0/\0<x/>"), 1},
        {"FF variant", LIT("Exif\0\377MM\0*\0\0\0\10\0\1\1\22\0\3\0\0\0\1\0\10\0\0"), 8},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len;
        uint8_t *jpg = tu_jpeg_insert(j, jl, 0xE1, cases[i].p, cases[i].n, &len);
        REQUIRE(jpg);
        fs_image img;
        fs_image_info info;
        int rc = fs_image_decode(jpg, len, &on, &img, &info, &e);
        CHECK_MSG(rc == FS_OK, "%s: %s", cases[i].name, e.msg);
        CHECK_MSG(info.orientation == cases[i].want, "%s: orientation %d", cases[i].name,
                  info.orientation);
        fs_image_free(&img);
        free(jpg);
    }
    /* The first EXIF block wins; an XMP APP1 before it is skipped. */
    size_t el, l1, l2, l3;
    uint8_t *ex3 = tu_exif_block(3, 0, 1, &el), *ex6 = tu_exif_block(6, 1, 1, &el);
    uint8_t *a = tu_jpeg_insert(j, jl, 0xE1, ex6, el, &l1);            /* later: 6 */
    uint8_t *b = tu_jpeg_insert(a, l1, 0xE1, ex3, el, &l2);            /* first: 3 */
    uint8_t *c = tu_jpeg_insert(b, l2, 0xE1, LIT("http://ns.adobe.com/xap/1.0/\0"), &l3);
    fs_image_info info;
    CHECK_OK(fs_image_probe(c, l3, &info, &e), &e);
    CHECK_INT(info.orientation, 3);
    free(a);
    free(b);
    free(c);
    free(ex3);
    free(ex6);
    /* An APP1 whose length runs past the end of the file: an error, no crash. */
    uint8_t *bad = tu_jpeg_insert(j, jl, 0xE1, LIT("Exif\0\0"), &l1);
    bad[4] = 0xFF;
    bad[5] = 0xF0;
    fs_image img;
    CHECK(fs_image_decode(bad, l1, &on, &img, NULL, &e) != FS_OK);
    CHECK(e.msg[0] != '\0');
    CHECK(img.data == NULL);
    free(bad);
    free(j);
    fs_image_free(&st);
}
