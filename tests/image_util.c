/* Helpers for the image tests (see image_util.h). */
#include "image_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "facesearch/hash.h"
#include "harness.h"

void tu_pattern(fs_image *img, int w, int h)
{
    fs_error e = {0};
    if (fs_image_alloc(img, w, h, &e) != FS_OK)
        return;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = img->data + ((size_t)y * w + x) * 3;
            /* Horizontal ramp, vertical ramp, and a blob near the top-left. */
            int dx = x - w / 4, dy = y - h / 5;
            p[0] = (uint8_t)(30 + 190 * x / (w > 1 ? w - 1 : 1));
            p[1] = (uint8_t)(20 + 200 * y / (h > 1 ? h - 1 : 1));
            p[2] = (uint8_t)(dx * dx + dy * dy < (w * w + h * h) / 64 ? 230 : 40);
        }
}

uint8_t *tu_jpeg_encode(const uint8_t *px, int w, int h, int pf, int subsamp,
                        int quality, int flags, size_t *len)
{
    tjhandle t = tjInitCompress();
    unsigned char *out = NULL;
    unsigned long n = 0;
    uint8_t *res = NULL;
    if (t && tjCompress2(t, px, w, w * tjPixelSize[pf], h, pf, &out, &n, subsamp, quality,
                         flags) == 0 && (res = malloc(n))) {
        memcpy(res, out, n);
        *len = n;
    } else if (t) {
        printf("    tjCompress2: %s\n", tjGetErrorStr2(t));
    }
    tjFree(out);
    if (t)
        tjDestroy(t);
    return res;
}

uint8_t *tu_jpeg_insert(const uint8_t *jpeg, size_t len, int marker,
                        const uint8_t *payload, size_t n, size_t *out_len)
{
    uint8_t *r = malloc(len + n + 4);
    if (!r)
        return NULL;
    memcpy(r, jpeg, 2);
    r[2] = 0xFF;
    r[3] = (uint8_t)marker;
    r[4] = (uint8_t)((n + 2) >> 8);
    r[5] = (uint8_t)(n + 2);
    memcpy(r + 6, payload, n);
    memcpy(r + 6 + n, jpeg + 2, len - 2);
    *out_len = len + n + 4;
    return r;
}

size_t tu_jpeg_find(const uint8_t *jpeg, size_t len, int marker)
{
    size_t pos = 2;
    while (pos + 4 <= len && jpeg[pos] == 0xFF) {
        if (jpeg[pos + 1] == marker)
            return pos;
        if (jpeg[pos + 1] == 0xDA)
            break;
        pos += 2 + ((size_t)jpeg[pos + 2] << 8 | jpeg[pos + 3]);
    }
    return 0;
}

static void put16(uint8_t *p, unsigned v, int be)
{
    p[be ? 0 : 1] = (uint8_t)(v >> 8);
    p[be ? 1 : 0] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v, int be)
{
    for (int i = 0; i < 4; i++)
        p[be ? i : 3 - i] = (uint8_t)(v >> (24 - 8 * i));
}

uint8_t *tu_exif_block(int orientation, int big_endian, int with_header, size_t *len)
{
    /* Header(8) + IFD0: count(2), 2 entries(24), next-IFD offset(4). */
    size_t hdr = with_header ? 6 : 0, n = hdr + 8 + 2 + 24 + 4;
    uint8_t *b = calloc(1, n);
    if (!b)
        return NULL;
    if (with_header)
        memcpy(b, "Exif\0\0", 6);
    uint8_t *t = b + hdr;
    memcpy(t, big_endian ? "MM" : "II", 2);
    put16(t + 2, 42, big_endian);
    put32(t + 4, 8, big_endian);
    put16(t + 8, 2, big_endian);
    /* A harmless entry first (ImageWidth, LONG) so the parser must walk. */
    uint8_t *e = t + 10;
    put16(e, 0x0100, big_endian);
    put16(e + 2, 4, big_endian);
    put32(e + 4, 1, big_endian);
    put32(e + 8, 640, big_endian);
    e += 12;
    put16(e, 0x0112, big_endian);
    put16(e + 2, 3, big_endian);
    put32(e + 4, 1, big_endian);
    put16(e + 8, (unsigned)orientation, big_endian);
    *len = n;
    return b;
}

int tu_max_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
    int m = 0;
    for (size_t i = 0; i < n; i++) {
        int d = abs((int)a[i] - (int)b[i]);
        if (d > m)
            m = d;
    }
    return m;
}

double tu_mean_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += abs((int)a[i] - (int)b[i]);
    return n ? s / (double)n : 0;
}

void tu_image_sha256(const fs_image *img, char hex[65])
{
    uint8_t d[32];
    fs_sha256(img->data, (size_t)img->width * img->height * 3, d);
    fs_sha256_hex(d, hex);
}

uint8_t *tu_read_sample(int i, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/demo/sample%d.jpg", fs_test_models_dir(), i);
    uint8_t *buf;
    fs_error e = {0};
    if (fs_read_file(path, 0, &buf, len, &e) != FS_OK)
        return NULL;
    return buf;
}

const char *tu_write_tmp(const char *name, const void *buf, size_t len)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", fs_test_tmpdir(), name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return NULL;
    size_t w = fwrite(buf, 1, len, f);
    fclose(f);
    return w == len ? path : NULL;
}
