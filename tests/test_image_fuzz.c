/*
 * Robustness on damaged photos: each of the six samples truncated at 62
 * offsets and mutated 1,000 times (deterministic seed).  Every outcome must be
 * a clean error (status, non-empty message, no pixels) or a valid image of a
 * sane size; ASan/UBSan (make test-asan) watch for over-reads and leaks.
 *
 * Cost: most mutated files are decoded with DCT scaling 1/8, every eighth at
 * full size.  That keeps the group to seconds and stays meaningful: at 1/8
 * libjpeg still entropy-decodes every coefficient of every block (all the
 * bytes a flip can damage are parsed; only the IDCT is reduced), and the
 * full-size subset covers the full IDCT, upsampling and colour paths.  The
 * variants run in an OpenMP loop; results are checked afterwards, serially.
 */
#include <stdlib.h>

#include "facesearch/image.h"
#include "harness.h"
#include "image_util.h"

#define N_FLIPS 1000
#define N_CUTS 62

typedef struct outcome {
    int status, w, h, has_data, msg_ok;
} outcome;

static void run_one(const uint8_t *buf, size_t len, int full, outcome *o)
{
    fs_decode_opts opts = {0};
    if (!full)
        opts.min_width = opts.min_height = 1; /* smallest DCT scale, 1/8 */
    fs_image img;
    fs_error e = {0};
    o->status = fs_image_decode(buf, len, &opts, &img, NULL, &e);
    o->w = img.width;
    o->h = img.height;
    o->has_data = img.data != NULL;
    o->msg_ok = o->status == FS_OK || (e.msg[0] != '\0' && e.code == o->status);
    fs_image_free(&img);
}

/* A clean error, or a valid image of sane size. */
static int acceptable(const outcome *o)
{
    if (o->status == FS_OK)
        return o->has_data && o->w >= 1 && o->h >= 1 && o->w <= FS_IMAGE_MAX_SIDE &&
               o->h <= FS_IMAGE_MAX_SIDE &&
               (unsigned long long)o->w * (unsigned long long)o->h <= FS_DEFAULT_MAX_PIXELS;
    return !o->has_data && o->msg_ok && o->w == 0 &&
           (o->status == FS_ECORRUPT || o->status == FS_EFORMAT || o->status == FS_ELIMIT);
}

static uint32_t next(uint32_t *s)
{
    /* xorshift32 */
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

TEST(image_fuzz_truncated_samples_are_errors)
{
    for (int i = 1; i <= 6; i++) {
        size_t len;
        uint8_t *buf = tu_read_sample(i, &len);
        REQUIRE(buf);
        size_t cuts[N_CUTS];
        for (int k = 0; k < 6; k++)
            cuts[k] = (size_t)k;
        for (int k = 6; k < N_CUTS - 2; k++)
            cuts[k] = len * (size_t)(k - 5) / (N_CUTS - 7); /* spread, < len */
        cuts[N_CUTS - 2] = len - 2; /* only the EOI marker missing */
        cuts[N_CUTS - 1] = len - 1;
        outcome out[N_CUTS];
#pragma omp parallel for schedule(dynamic)
        for (int k = 0; k < N_CUTS; k++) {
            /* A fresh exact-size copy so ASan sees any read past the cut. */
            uint8_t *c = malloc(cuts[k] ? cuts[k] : 1);
            if (c) {
                memcpy(c, buf, cuts[k]);
                run_one(c, cuts[k], k % 4 == 0, &out[k]);
            } else {
                out[k].status = -1;
            }
            free(c);
        }
        for (int k = 0; k < N_CUTS; k++) {
            /* Truncated data is never an image (no grey-padded result). */
            CHECK_MSG(out[k].status != FS_OK && acceptable(&out[k]),
                      "sample%d cut at %zu of %zu: status %d, %dx%d", i, cuts[k], len,
                      out[k].status, out[k].w, out[k].h);
        }
        free(buf);
    }
}

TEST(image_fuzz_byte_flips_give_error_or_sane_image)
{
    for (int i = 1; i <= 6; i++) {
        size_t len;
        uint8_t *buf = tu_read_sample(i, &len);
        REQUIRE(buf);
        size_t head = tu_jpeg_find(buf, len, 0xDA) + 32; /* markers and tables */
        REQUIRE(head > 32 && head < len);
        outcome *out = calloc(N_FLIPS, sizeof *out);
        REQUIRE(out);
#pragma omp parallel for schedule(dynamic)
        for (int k = 0; k < N_FLIPS; k++) {
            uint32_t s = 0x9E3779B9u ^ (uint32_t)(i * 1000003 + k * 7919);
            uint8_t *c = malloc(len);
            if (!c) {
                out[k].status = -1;
                continue;
            }
            memcpy(c, buf, len);
            /* 1-4 changed bytes; a quarter of them in the header, where a
             * flip changes sizes, tables and sampling factors. */
            int n = 1 + (int)(next(&s) % 4);
            for (int m = 0; m < n; m++) {
                size_t pos = next(&s) % 4 == 0 ? next(&s) % head : next(&s) % len;
                c[pos] ^= (uint8_t)(1 + next(&s) % 255);
            }
            run_one(c, len, k % 8 == 0, &out[k]);
            free(c);
        }
        int decoded = 0, errors = 0;
        for (int k = 0; k < N_FLIPS; k++) {
            CHECK_MSG(acceptable(&out[k]), "sample%d variant %d: status %d, %dx%d, message %s",
                      i, k, out[k].status, out[k].w, out[k].h, out[k].msg_ok ? "ok" : "missing");
            decoded += out[k].status == FS_OK;
            errors += out[k].status != FS_OK;
        }
        printf("    sample%d: %d variants, %d clean errors, %d decoded\n", i, N_FLIPS, errors,
               decoded);
        /* Both outcomes occur, or the mutations are not reaching the data. */
        CHECK(errors > N_FLIPS / 10 && decoded > N_FLIPS / 20);
        free(out);
        free(buf);
    }
}
