/* Orientation, crop, affine warp and its inverse, JPEG encoding. */
#include <math.h>
#include <stdlib.h>

#include "facesearch/image.h"
#include "harness.h"
#include "image_util.h"

/* A w x h image whose pixel i is (i, i, i) — letters in the comments. */
static void labelled(fs_image *img, int w, int h)
{
    fs_error e = {0};
    fs_image_alloc(img, w, h, &e);
    for (int i = 0; i < w * h; i++)
        memset(img->data + 3 * i, 'a' + i, 3);
}

TEST(image_orient_hand_cases)
{
    /* Stored 3x2:  a b c
     *              d e f      upright results, row by row: */
    static const char *want[9] = {
        NULL,     "abcdef", "cbafed", "fedcba", "defabc",
        "adbecf", /* 5 transpose */
        "daebfc", /* 6 rotate 90 cw */
        "fcebda", /* 7 transverse */
        "cfbead", /* 8 rotate 90 ccw */
    };
    for (int o = 1; o <= 8; o++) {
        fs_image img;
        fs_error e = {0};
        labelled(&img, 3, 2);
        REQUIRE(fs_image_orient(&img, o, &e) == FS_OK);
        CHECK_INT(img.width, o >= 5 ? 2 : 3);
        CHECK_INT(img.height, o >= 5 ? 3 : 2);
        char got[7] = {0};
        for (int i = 0; i < 6; i++)
            got[i] = (char)img.data[3 * i];
        CHECK_MSG(strcmp(got, want[o]) == 0, "orientation %d: %s, want %s", o, got, want[o]);
        fs_image_free(&img);
    }
    /* Out-of-range values leave the image alone. */
    fs_image img;
    fs_error e = {0};
    labelled(&img, 3, 2);
    CHECK_INT(fs_image_orient(&img, 0, &e), FS_OK);
    CHECK_INT(fs_image_orient(&img, 9, &e), FS_OK);
    CHECK_INT(img.width, 3);
    CHECK(img.data[3] == 'b');
    fs_image_free(&img);
}

TEST(image_orient_large_crosses_tiles)
{
    /* 131x70 spans several 64-pixel tiles with ragged edges; compare every
     * pixel with the per-pixel definition. */
    const int W = 131, H = 70;
    fs_image src;
    tu_pattern(&src, W, H);
    for (int i = 0; i < W * H; i++)
        src.data[3 * i + 2] = (uint8_t)(i * 13); /* make pixels unique-ish */
    for (int o = 1; o <= 8; o++) {
        fs_image img;
        fs_error e = {0};
        REQUIRE(fs_image_crop(&src, 0, 0, W, H, &img, &e) == FS_OK);
        REQUIRE(fs_image_orient(&img, o, &e) == FS_OK);
        int ow = img.width, bad = 0;
        for (int y = 0; y < img.height; y++)
            for (int x = 0; x < ow; x++) {
                int sx, sy;
                switch (o) {
                case 2: sx = W - 1 - x; sy = y; break;
                case 3: sx = W - 1 - x; sy = H - 1 - y; break;
                case 4: sx = x; sy = H - 1 - y; break;
                case 5: sx = y; sy = x; break;
                case 6: sx = y; sy = H - 1 - x; break;
                case 7: sx = W - 1 - y; sy = H - 1 - x; break;
                case 8: sx = W - 1 - y; sy = x; break;
                default: sx = x; sy = y;
                }
                bad += memcmp(img.data + ((size_t)y * ow + x) * 3, src.data + ((size_t)sy * W + sx) * 3, 3) != 0;
            }
        CHECK_MSG(bad == 0, "orientation %d: %d pixels wrong", o, bad);
        fs_image_free(&img);
    }
    fs_image_free(&src);
}

TEST(image_crop_clips)
{
    fs_image img, c;
    fs_error e = {0};
    labelled(&img, 5, 4); /* pixel (x, y) = 'a' + 5y + x */
    REQUIRE(fs_image_crop(&img, 1, 1, 2, 2, &c, &e) == FS_OK);
    CHECK(c.width == 2 && c.height == 2);
    CHECK(c.data[0] == 'a' + 6 && c.data[3] == 'a' + 7 && c.data[6] == 'a' + 11);
    fs_image_free(&c);
    REQUIRE(fs_image_crop(&img, -2, -1, 4, 3, &c, &e) == FS_OK); /* clipped top-left */
    CHECK(c.width == 2 && c.height == 2 && c.data[0] == 'a');
    fs_image_free(&c);
    REQUIRE(fs_image_crop(&img, 3, 2, 10, 10, &c, &e) == FS_OK); /* clipped bottom-right */
    CHECK(c.width == 2 && c.height == 2 && c.data[0] == 'a' + 13 && c.data[9] == 'a' + 19);
    fs_image_free(&c);
    REQUIRE(fs_image_crop(&img, -100, -100, 1000, 1000, &c, &e) == FS_OK);
    CHECK(c.width == 5 && c.height == 4 && memcmp(c.data, img.data, 60) == 0);
    fs_image_free(&c);
    CHECK_INT(fs_image_crop(&img, 5, 0, 2, 2, &c, &e), FS_EUSAGE);   /* right of it */
    CHECK_INT(fs_image_crop(&img, -3, 0, 3, 2, &c, &e), FS_EUSAGE);  /* left of it */
    CHECK_INT(fs_image_crop(&img, 0, 0, 0, 2, &c, &e), FS_EUSAGE);
    CHECK_INT(fs_image_crop(&img, 2147483000, 0, 2147483000, 2, &c, &e), FS_EUSAGE);
    CHECK(c.data == NULL && e.msg[0]);
    fs_image_free(&img);
}

TEST(image_warp_identity_translation_rotation)
{
    fs_image src;
    tu_pattern(&src, 40, 40);
    const int n = 40 * 40 * 3;
    float *o = malloc(sizeof(float) * n);
    REQUIRE(o);
    /* Identity: the pixels, as floats. */
    static const double id[6] = {1, 0, 0, 0, 1, 0};
    fs_warp_affine_u8(&src, id, o, 40, 40, NULL);
    int bad = 0;
    for (int i = 0; i < n; i++)
        bad += o[i] != (float)src.data[i];
    CHECK_INT(bad, 0);
    /* Integer translation: dst(x, y) = src(x + 3, y - 2); outside -> border. */
    static const double tr[6] = {1, 0, 3, 0, 1, -2};
    static const float border[3] = {1.5f, -2, 300};
    fs_warp_affine_u8(&src, tr, o, 40, 40, border);
    bad = 0;
    for (int y = 0; y < 40; y++)
        for (int x = 0; x < 40; x++)
            for (int c = 0; c < 3; c++) {
                int sx = x + 3, sy = y - 2;
                float want = sx < 40 && sy >= 0 ? (float)src.data[(sy * 40 + sx) * 3 + c] : border[c];
                bad += o[(y * 40 + x) * 3 + c] != want;
            }
    CHECK_INT(bad, 0);
    /* Half-pixel shift: the mean of horizontal neighbours. */
    static const double half[6] = {1, 0, 0.5, 0, 1, 0};
    fs_warp_affine_u8(&src, half, o, 39, 40, NULL);
    for (int y = 0; y < 40; y += 7)
        for (int x = 0; x < 39; x += 5)
            CHECK_NEAR(o[(y * 39 + x) * 3], (src.data[(y * 40 + x) * 3] + src.data[(y * 40 + x + 1) * 3]) / 2.0, 1e-4);
    /* 90-degree rotation about the centre equals orientation 6 exactly:
     * upright (x, y) = stored (y, H-1-x)  ->  sx = y, sy = 39 - x. */
    static const double rot[6] = {0, 1, 0, -1, 0, 39};
    fs_warp_affine_u8(&src, rot, o, 40, 40, NULL);
    fs_image r;
    fs_error e = {0};
    REQUIRE(fs_image_crop(&src, 0, 0, 40, 40, &r, &e) == FS_OK);
    REQUIRE(fs_image_orient(&r, 6, &e) == FS_OK);
    bad = 0;
    for (int i = 0; i < n; i++)
        bad += o[i] != (float)r.data[i];
    CHECK_INT(bad, 0);
    fs_image_free(&r);
    /* A 30-degree rotation: the centre pixel maps to itself; far corners
     * fall outside and read the border. */
    double a = 30 * M_PI / 180, cx = 20, cy = 20;
    double m[6] = {cos(a), -sin(a), 0, sin(a), cos(a), 0};
    m[2] = cx - m[0] * cx - m[1] * cy;
    m[5] = cy - m[3] * cx - m[4] * cy;
    fs_warp_affine_u8(&src, m, o, 40, 40, border);
    CHECK_NEAR(o[(20 * 40 + 20) * 3 + 1], src.data[(20 * 40 + 20) * 3 + 1], 1e-3);
    CHECK_NEAR(o[0], border[0], 0);
    /* A 2x zoom out samples every other pixel. */
    static const double zoom[6] = {2, 0, 0, 0, 2, 0};
    fs_warp_affine_u8(&src, zoom, o, 20, 20, NULL);
    CHECK_NEAR(o[(5 * 20 + 7) * 3 + 2], src.data[(10 * 40 + 14) * 3 + 2], 0);
    /* A NaN matrix: border everywhere, no undefined behaviour. */
    double bad_m[6] = {NAN, 0, 0, 0, 1, 0};
    fs_warp_affine_u8(&src, bad_m, o, 4, 4, border);
    CHECK_NEAR(o[5], border[2], 0);
    free(o);
    fs_image_free(&src);
}

TEST(image_affine_invert)
{
    uint32_t s = 5;
    for (int k = 0; k < 200; k++) {
        double m[6], inv[6];
        for (int i = 0; i < 6; i++) {
            s = s * 1664525u + 1013904223u;
            m[i] = ((double)(s >> 8) / (1 << 24) - 0.5) * (i % 3 == 2 ? 400 : 4);
        }
        if (fabs(m[0] * m[4] - m[1] * m[3]) < 1e-3)
            continue;
        REQUIRE(fs_affine_invert(m, inv) == FS_OK);
        /* inv(m(p)) = p for a few points. */
        for (int p = 0; p < 3; p++) {
            double x = p * 17.0 - 3, y = 11.0 - p * 5;
            double u = m[0] * x + m[1] * y + m[2], v = m[3] * x + m[4] * y + m[5];
            CHECK_NEAR(inv[0] * u + inv[1] * v + inv[2], x, 1e-6);
            CHECK_NEAR(inv[3] * u + inv[4] * v + inv[5], y, 1e-6);
        }
    }
    static const double sing[6] = {1, 2, 3, 2, 4, 5};
    double inv[6] = {0};
    CHECK_INT(fs_affine_invert(sing, inv), FS_EUSAGE);
    static const double inf[6] = {INFINITY, 0, 0, 0, 1, 0};
    CHECK_INT(fs_affine_invert(inf, inv), FS_EUSAGE);
}

TEST(image_encode_jpeg_round_trip)
{
    fs_image src, back;
    tu_pattern(&src, 160, 120);
    uint8_t *jpg;
    size_t len;
    fs_error e = {0};
    REQUIRE(fs_image_encode_jpeg(&src, 90, &jpg, &len, &e) == FS_OK);
    CHECK(len > 100 && len < (size_t)160 * 120 * 3);
    CHECK_INT(fs_image_sniff(jpg, len), FS_FORMAT_JPEG);
    fs_image_info info;
    REQUIRE(fs_image_decode(jpg, len, NULL, &back, &info, &e) == FS_OK);
    CHECK(back.width == 160 && back.height == 120);
    CHECK_STR(info.colorspace, "ycbcr");
    double md = tu_mean_diff(src.data, back.data, (size_t)160 * 120 * 3);
    CHECK_MSG(md < 2.0, "q90 round trip mean |diff| %.2f", md);
    fs_image_free(&back);
    free(jpg);
    /* Lower quality: smaller file, still close. */
    uint8_t *j2;
    size_t l2;
    REQUIRE(fs_image_encode_jpeg(&src, 30, &j2, &l2, &e) == FS_OK);
    CHECK(l2 < len);
    REQUIRE(fs_image_decode(j2, l2, NULL, &back, NULL, &e) == FS_OK);
    CHECK(tu_mean_diff(src.data, back.data, (size_t)160 * 120 * 3) < 5.0);
    fs_image_free(&back);
    free(j2);
    /* Odd sizes go through 4:2:0 too. */
    fs_image odd;
    tu_pattern(&odd, 1, 3);
    REQUIRE(fs_image_encode_jpeg(&odd, 75, &j2, &l2, &e) == FS_OK);
    REQUIRE(fs_image_decode(j2, l2, NULL, &back, NULL, &e) == FS_OK);
    CHECK(back.width == 1 && back.height == 3);
    fs_image_free(&back);
    free(j2);
    fs_image_free(&odd);
    CHECK_INT(fs_image_encode_jpeg(&src, 0, &j2, &l2, &e), FS_EUSAGE);
    CHECK_INT(fs_image_encode_jpeg(&src, 101, &j2, &l2, &e), FS_EUSAGE);
    fs_image empty = {0};
    CHECK_INT(fs_image_encode_jpeg(&empty, 90, &j2, &l2, &e), FS_EUSAGE);
    CHECK(j2 == NULL && l2 == 0);
    fs_image_free(&src);
}
