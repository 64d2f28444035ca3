/* The six demo photos: golden pixels, sizes, DCT scaling and timing sanity. */
#include <stdlib.h>

#include "facesearch/image.h"
#include "harness.h"
#include "image_util.h"

typedef struct golden {
    char name[32], sha[65];
    int w, h;
} golden;

/* tests/data/samples_rgb_sha256.txt: "name sha256 width height" lines. */
static int load_golden(golden g[6])
{
    FILE *f = fopen("tests/data/samples_rgb_sha256.txt", "r");
    if (!f)
        return 0;
    char line[256];
    int n = 0;
    while (n < 6 && fgets(line, sizeof line, f))
        if (line[0] != '#' &&
            sscanf(line, "%31s %64s %d %d", g[n].name, g[n].sha, &g[n].w, &g[n].h) == 4)
            n++;
    fclose(f);
    return n;
}

TEST(image_samples_match_golden_rgb_sha256)
{
    golden g[6];
    REQUIRE(load_golden(g) == 6);
    for (int i = 0; i < 6; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/demo/%s", fs_test_models_dir(), g[i].name);
        fs_image img;
        fs_image_info info;
        fs_error e = {0};
        /* NULL options: full size, EXIF ignored — the reference decode. */
        int st = fs_image_decode_file(path, NULL, &img, &info, &e);
        CHECK_OK(st, &e);
        if (st != FS_OK)
            continue;
        CHECK_INT(img.width, 1920);
        CHECK_INT(img.width, g[i].w);
        CHECK_INT(img.height, g[i].h);
        CHECK_INT(info.format, FS_FORMAT_JPEG);
        CHECK_STR(info.colorspace, "ycbcr");
        CHECK_INT(info.scale_num, 1);
        CHECK_INT(info.scale_denom, 1);
        char hex[65];
        tu_image_sha256(&img, hex);
        CHECK_MSG(strcmp(hex, g[i].sha) == 0, "%s: rgb_sha256 %s, golden %s", g[i].name, hex,
                  g[i].sha);
        fs_image_free(&img);
    }
}

TEST(image_samples_probe_agrees_with_decode)
{
    for (int i = 1; i <= 6; i++) {
        size_t len;
        uint8_t *buf = tu_read_sample(i, &len);
        REQUIRE(buf);
        fs_image_info pi, di;
        fs_image img;
        fs_error e = {0};
        CHECK_OK(fs_image_probe(buf, len, &pi, &e), &e);
        CHECK_OK(fs_image_decode(buf, len, NULL, &img, &di, &e), &e);
        CHECK_INT(pi.width, di.width);
        CHECK_INT(pi.height, di.height);
        CHECK_INT(pi.components, 3);
        CHECK_INT(pi.orientation, di.orientation);
        CHECK_INT(fs_image_sniff(buf, len), FS_FORMAT_JPEG);
        fs_image_free(&img);
        free(buf);
    }
}

TEST(image_samples_dct_scaling_picks_smallest_sufficient_factor)
{
    size_t len;
    uint8_t *buf = tu_read_sample(1, &len); /* 1920 x 1280 */
    REQUIRE(buf);
    static const struct {
        int mw, mh, num, den, w, h;
    } cases[] = {
        {0, 0, 1, 1, 1920, 1280},    /* default: full size */
        {480, 320, 1, 4, 480, 320},  /* exactly 1/4 */
        {481, 320, 3, 8, 720, 480},  /* one pixel more: next factor up */
        {480, 321, 3, 8, 720, 480},
        {240, 160, 1, 8, 240, 160},
        {100, 100, 1, 8, 240, 160},
        {512, 0, 3, 8, 720, 480},    /* width only */
        {0, 641, 5, 8, 1200, 800},   /* height only */
        {1680, 0, 7, 8, 1680, 1120},
        {1681, 0, 1, 1, 1920, 1280},
        {4000, 4000, 1, 1, 1920, 1280}, /* larger than the photo: full size */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        fs_decode_opts o = {.min_width = cases[k].mw, .min_height = cases[k].mh};
        fs_image img;
        fs_image_info info;
        fs_error e = {0};
        int st = fs_image_decode(buf, len, &o, &img, &info, &e);
        CHECK_OK(st, &e);
        if (st != FS_OK)
            continue;
        CHECK_MSG(info.scale_num == cases[k].num && info.scale_denom == cases[k].den &&
                      img.width == cases[k].w && img.height == cases[k].h,
                  "min %dx%d: got %d/%d %dx%d, want %d/%d %dx%d", cases[k].mw, cases[k].mh,
                  info.scale_num, info.scale_denom, img.width, img.height, cases[k].num,
                  cases[k].den, cases[k].w, cases[k].h);
        fs_image_free(&img);
    }
    /* A 1/4 DCT decode looks like the full decode box-shrunk by 4. */
    fs_image full, quarter, boxed;
    fs_error e = {0};
    fs_decode_opts o = {.min_width = 480, .min_height = 320};
    REQUIRE(fs_image_decode(buf, len, NULL, &full, NULL, &e) == FS_OK);
    REQUIRE(fs_image_decode(buf, len, &o, &quarter, NULL, &e) == FS_OK);
    REQUIRE(fs_image_resize(&full, 480, 320, &boxed, &e) == FS_OK);
    double md = tu_mean_diff(quarter.data, boxed.data, (size_t)480 * 320 * 3);
    CHECK_MSG(md < 2.0, "1/4 DCT vs box filter: mean |diff| %.3f", md);
    fs_image_free(&full);
    fs_image_free(&quarter);
    fs_image_free(&boxed);
    free(buf);
}

TEST(image_decode_file_errors_name_the_file)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/demo/sample1.jpg", fs_test_models_dir());
    fs_image img;
    fs_error e = {0};
    fs_decode_opts o = {.max_file_bytes = 1000};
    CHECK_INT(fs_image_decode_file(path, &o, &img, NULL, &e), FS_ELIMIT);
    CHECK(strncmp(e.msg, path, strlen(path)) == 0);
    CHECK(img.data == NULL);
    snprintf(path, sizeof path, "%s/no-such-photo.jpg", fs_test_tmpdir());
    CHECK_INT(fs_image_decode_file(path, NULL, &img, NULL, &e), FS_EIO);
    CHECK(strncmp(e.msg, path, strlen(path)) == 0);
    /* A decoding error gets the path prepended exactly once. */
    size_t len;
    uint8_t *buf = tu_read_sample(2, &len);
    REQUIRE(buf);
    const char *t = tu_write_tmp("cut.jpg", buf, len / 2);
    REQUIRE(t);
    snprintf(path, sizeof path, "%s", t);
    CHECK_INT(fs_image_decode_file(path, NULL, &img, NULL, &e), FS_ECORRUPT);
    char want[1100];
    snprintf(want, sizeof want, "%s: truncated JPEG data: Premature end of JPEG file", path);
    CHECK_STR(e.msg, want);
    free(buf);
}
