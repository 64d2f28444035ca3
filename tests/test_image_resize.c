/*
 * TF-legacy bilinear resize: bit-exact against a direct implementation of the
 * formula on an explicitly zero-padded image, and hand-computed cases.
 * Thumbnail resize (box filter / bilinear): hand-computed cases.
 */
#include <math.h>
#include <stdlib.h>

#include "facesearch/image.h"
#include "harness.h"
#include "image_util.h"

/* The golden README §3 formula, literally, on a materialised pad_w x pad_h
 * float image P (zeros outside the window). */
static void naive_tf(const float *P, int in_w, int in_h, int ch, float *out, int ow, int oh)
{
    float sx_scale = (float)in_w / (float)ow, sy_scale = (float)in_h / (float)oh;
    for (int r = 0; r < oh; r++) {
        float sy = (float)r * sy_scale;
        int y0 = (int)floorf(sy), y1 = (int)ceilf(sy) < in_h - 1 ? (int)ceilf(sy) : in_h - 1;
        float fy = sy - (float)y0;
        for (int c = 0; c < ow; c++) {
            float sx = (float)c * sx_scale;
            int x0 = (int)floorf(sx), x1 = (int)ceilf(sx) < in_w - 1 ? (int)ceilf(sx) : in_w - 1;
            float fx = sx - (float)x0;
            for (int k = 0; k < ch; k++) {
                float p00 = P[((size_t)y0 * in_w + x0) * ch + k], p01 = P[((size_t)y0 * in_w + x1) * ch + k];
                float p10 = P[((size_t)y1 * in_w + x0) * ch + k], p11 = P[((size_t)y1 * in_w + x1) * ch + k];
                float top = p00 + (p01 - p00) * fx;
                float bottom = p10 + (p11 - p10) * fx;
                out[((size_t)r * ow + c) * ch + k] = top + (bottom - top) * fy;
            }
        }
    }
}

typedef struct rcase {
    int sw, sh, pw, ph, ch, ow, oh;
} rcase;

static const rcase cases[] = {
    {1920, 1280, 1920, 1920, 3, 512, 512}, /* the detector input: pad bottom */
    {1280, 1920, 1920, 1920, 3, 512, 512}, /* pad right */
    {97, 61, 97, 61, 3, 150, 150},         /* upscale, no padding */
    {61, 97, 97, 97, 3, 112, 112},         /* upscale with right padding */
    {7, 5, 9, 8, 1, 23, 19},               /* small, both paddings, gray */
    {50, 40, 50, 40, 4, 17, 13},           /* 4 channels, non-integer ratios */
    {33, 33, 33, 33, 3, 33, 33},           /* identity size */
    {1, 1, 1, 1, 3, 5, 4},                 /* single pixel */
    {0, 10, 12, 10, 3, 6, 5},              /* window entirely padding */
    {300, 200, 301, 333, 2, 299, 199},     /* odd everything */
};

/* Runs one case on the window at `off` of a u8 buffer (is_f32 = 0) or a
 * float buffer and compares with the naive formula, bit for bit. */
static void check_case(const rcase *c, size_t k, const void *buf, int is_f32, int stride,
                       size_t off, const char *what)
{
    float *P = calloc((size_t)c->pw * c->ph * c->ch, sizeof(float));
    size_t on = (size_t)c->ow * c->oh * c->ch;
    float *want = malloc(sizeof(float) * on), *got = malloc(sizeof(float) * on);
    REQUIRE(P && want && got);
    const uint8_t *b8 = buf;
    const float *bf = buf;
    for (int y = 0; y < c->sh; y++)
        for (int x = 0; x < c->sw * c->ch; x++) {
            size_t i = off + (size_t)y * stride + x;
            P[(size_t)y * c->pw * c->ch + x] = is_f32 ? bf[i] : (float)b8[i];
        }
    naive_tf(P, c->pw, c->ph, c->ch, want, c->ow, c->oh);
    int st = is_f32 ? fs_resize_tf_f32(bf + off, c->sw, c->sh, stride, c->pw, c->ph, c->ch, got,
                                       c->ow, c->oh)
                    : fs_resize_tf_u8(b8 + off, c->sw, c->sh, stride, c->pw, c->ph, c->ch, got,
                                      c->ow, c->oh);
    CHECK_INT(st, FS_OK);
    CHECK_MSG(memcmp(want, got, sizeof(float) * on) == 0, "case %zu: %s differs", k, what);
    free(P);
    free(want);
    free(got);
}

TEST(image_resize_tf_bit_exact_against_naive_formula)
{
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const rcase *c = &cases[k];
        /* The window sits at (3, 2) inside a bigger buffer, with row padding. */
        int bw = c->sw + 7, bh = c->sh + 4, stride = bw * c->ch + 5;
        size_t n = (size_t)stride * bh, off = (size_t)2 * stride + 3 * c->ch;
        uint8_t *buf = malloc(n);
        float *fbuf = malloc(sizeof(float) * n);
        REQUIRE(buf && fbuf);
        uint32_t s = 77;
        for (size_t i = 0; i < n; i++) {
            s = s * 1103515245u + 12345u;
            buf[i] = (uint8_t)(s >> 23);
            fbuf[i] = (float)buf[i];
        }
        check_case(c, k, buf, 0, stride, off, "u8");
        check_case(c, k, fbuf, 1, stride, off, "f32 (integers)");
        for (size_t i = 0; i < n; i++)
            fbuf[i] = (float)buf[i] * 0.37f - 11.0f;
        check_case(c, k, fbuf, 1, stride, off, "f32 (fractions)");
        free(buf);
        free(fbuf);
    }
}

static void resize1(const uint8_t *src, int sw, int sh, int pw, int ph, float *out, int ow, int oh)
{
    CHECK_INT(fs_resize_tf_u8(src, sw, sh, sw, pw, ph, 1, out, ow, oh), FS_OK);
}

TEST(image_resize_tf_hand_computed)
{
    float o[16];
    /* 2x2 -> 4x4: scale 0.5; the last row/column clamp to the edge. */
    static const uint8_t q[4] = {0, 10, 20, 30};
    static const float q_want[16] = {0, 5, 10, 10, 10, 15, 20, 20, 20, 25, 30, 30, 20, 25, 30, 30};
    resize1(q, 2, 2, 2, 2, o, 4, 4);
    for (int i = 0; i < 16; i++)
        CHECK_NEAR(o[i], q_want[i], 0);
    /* Downscale 4 -> 2 samples columns 0 and 2: no averaging (legacy TF). */
    static const uint8_t r4[4] = {1, 2, 3, 4};
    resize1(r4, 4, 1, 4, 1, o, 2, 1);
    CHECK_NEAR(o[0], 1, 0);
    CHECK_NEAR(o[1], 3, 0);
    /* 3 -> 2: source positions 0 and 1.5. */
    static const uint8_t r3[3] = {0, 10, 40};
    resize1(r3, 3, 1, 3, 1, o, 2, 1);
    CHECK_NEAR(o[0], 0, 0);
    CHECK_NEAR(o[1], 25, 0);
    /* Padding window: [10, 20] padded to width 4. */
    static const uint8_t r2[2] = {10, 20};
    resize1(r2, 2, 1, 4, 1, o, 2, 1); /* positions 0, 2 (a padded zero) */
    CHECK_NEAR(o[0], 10, 0);
    CHECK_NEAR(o[1], 0, 0);
    resize1(r2, 2, 1, 4, 1, o, 3, 1); /* positions 0, 4/3, 8/3 */
    CHECK_NEAR(o[0], 10, 0);
    CHECK_NEAR(o[1], 20 - 20.0 / 3, 1e-5); /* between 20 and the padded 0 */
    CHECK_NEAR(o[2], 0, 0);
    /* Bottom padding: column [100; 50] padded to height 4, out 4 rows:
     * rows 0, 1 exact, 2 and 3 in the padding. */
    static const uint8_t c2[2] = {100, 50};
    resize1(c2, 1, 2, 1, 4, o, 1, 4);
    CHECK_NEAR(o[0], 100, 0);
    CHECK_NEAR(o[1], 50, 0);
    CHECK_NEAR(o[2], 0, 0);
    CHECK_NEAR(o[3], 0, 0);
    resize1(c2, 1, 2, 1, 4, o, 1, 8); /* rows at 0, .5, 1, 1.5, ...: 75 and 25 */
    CHECK_NEAR(o[1], 75, 0);
    CHECK_NEAR(o[3], 25, 0);
    /* A single pixel spreads everywhere. */
    static const uint8_t one[3] = {7, 8, 9};
    float big[5 * 4 * 3];
    CHECK_INT(fs_resize_tf_u8(one, 1, 1, 3, 1, 1, 3, big, 5, 4), FS_OK);
    for (int i = 0; i < 20; i++)
        CHECK(big[3 * i] == 7 && big[3 * i + 1] == 8 && big[3 * i + 2] == 9);
    /* Inconsistent sizes are refused. */
    CHECK_INT(fs_resize_tf_u8(q, 2, 2, 1, 2, 2, 1, o, 2, 2), FS_EUSAGE);  /* stride < w */
    CHECK_INT(fs_resize_tf_u8(q, 2, 2, 2, 1, 2, 1, o, 2, 2), FS_EUSAGE);  /* pad < window */
    CHECK_INT(fs_resize_tf_u8(q, 2, 2, 2, 2, 2, 1, o, 0, 2), FS_EUSAGE);
    CHECK_INT(fs_resize_tf_u8(q, 2, 2, 2, 2, 2, 0, o, 2, 2), FS_EUSAGE);
}

TEST(image_resize_thumbnail_box_and_bilinear)
{
    fs_error e = {0};
    fs_image a, b;
    /* 4x4 -> 2x2 is the mean of each 2x2 block (rounded). */
    REQUIRE(fs_image_alloc(&a, 4, 4, &e) == FS_OK);
    for (int i = 0; i < 16 * 3; i++)
        a.data[i] = (uint8_t)(i * 5 + (i / 12) * 9);
    REQUIRE(fs_image_resize(&a, 2, 2, &b, &e) == FS_OK);
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 2; x++)
            for (int c = 0; c < 3; c++) {
                int s = 0;
                for (int dy = 0; dy < 2; dy++)
                    for (int dx = 0; dx < 2; dx++)
                        s += a.data[((2 * y + dy) * 4 + 2 * x + dx) * 3 + c];
                CHECK_INT(b.data[(y * 2 + x) * 3 + c], (s + 2) / 4);
            }
    fs_image_free(&b);
    fs_image_free(&a);
    /* 5 -> 2: output 0 covers source [0, 2.5): (p0 + p1 + p2/2) / 2.5. */
    REQUIRE(fs_image_alloc(&a, 5, 1, &e) == FS_OK);
    static const uint8_t row[5] = {10, 20, 30, 40, 250};
    for (int x = 0; x < 5; x++)
        memset(a.data + 3 * x, row[x], 3);
    REQUIRE(fs_image_resize(&a, 2, 1, &b, &e) == FS_OK);
    CHECK_INT(b.data[0], 18);  /* (10 + 20 + 15) / 2.5 = 18 */
    CHECK_INT(b.data[3], 122); /* (15 + 40 + 250) / 2.5 = 122 */
    fs_image_free(&b);
    fs_image_free(&a);
    /* Upscale 2 -> 4, pixel-centre bilinear: 0, 25, 75, 100. */
    REQUIRE(fs_image_alloc(&a, 2, 1, &e) == FS_OK);
    memset(a.data, 0, 3);
    memset(a.data + 3, 100, 3);
    REQUIRE(fs_image_resize(&a, 4, 3, &b, &e) == FS_OK);
    static const int up[4] = {0, 25, 75, 100};
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 4; x++)
            CHECK_INT(b.data[(y * 4 + x) * 3 + 1], up[x]);
    fs_image_free(&b);
    fs_image_free(&a);
    /* A flat photo stays flat at any size; bad sizes are refused. */
    REQUIRE(fs_image_alloc(&a, 97, 61, &e) == FS_OK);
    memset(a.data, 173, (size_t)97 * 61 * 3);
    static const int sz[][2] = {{13, 7}, {97, 61}, {200, 150}, {1, 1}, {500, 3}};
    for (int k = 0; k < 5; k++) {
        REQUIRE(fs_image_resize(&a, sz[k][0], sz[k][1], &b, &e) == FS_OK);
        int flat = 1;
        for (size_t i = 0; i < (size_t)sz[k][0] * sz[k][1] * 3; i++)
            flat &= b.data[i] == 173;
        CHECK_MSG(flat, "%dx%d not flat", sz[k][0], sz[k][1]);
        fs_image_free(&b);
    }
    CHECK_INT(fs_image_resize(&a, 0, 5, &b, &e), FS_EUSAGE);
    CHECK(b.data == NULL);
    fs_image_free(&a);
}
